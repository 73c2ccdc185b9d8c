"""The dossier schema: fields and their header spellings, value words, limits, the output table."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from analysis.ingest import personal
from analysis.ingest.reading import level_words


@dataclass(frozen=True)
class Field:
    """One column of the dossier schema.

    Attributes
    ----------
    name : str
        Canonical English name.
    label : str
        Vietnamese name, for messages.
    aliases : tuple of str
        Header spellings accepted besides ``name`` (matched after :func:`personal.fold`, so case,
        diacritics, spaces and punctuation do not matter).
    required : bool
        The column must be in the file.
    """

    name: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False


def _field(name: str, label: str, aliases: str, required: bool = False) -> Field:
    return Field(name, label, tuple(a.strip() for a in aliases.split(";")), required)


# The schema, with the header spellings of real exports (data/raw/README.md lists them; a test
# keeps the two in step). Spellings are matched folded: "NGAY_TIEP_NHAN" is "Ngày tiếp nhận".
FIELDS: tuple[Field, ...] = (
    _field("dossier_id", "mã hồ sơ",
           "id; dossier; dossier code; mã hồ sơ; số hồ sơ; mã số hồ sơ; mã hs; số biên nhận; "
           "mã biên nhận", required=True),
    _field("province", "tỉnh/thành phố",
           "province name; tỉnh; tỉnh/thành phố; tỉnh, thành phố; tỉnh/tp; tỉnh thành",
           required=True),
    _field("unit", "đơn vị (huyện/xã)",
           "unit name; district; commune; ward; district or commune; đơn vị; tên đơn vị; "
           "đơn vị hành chính; huyện; quận/huyện; xã; phường/xã; xã/phường; xã/phường/thị trấn; "
           "phường/xã/thị trấn; huyện/xã"),
    _field("agency", "cơ quan",
           "handling agency; cơ quan; cơ quan giải quyết; cơ quan tiếp nhận; cơ quan thực hiện; "
           "cơ quan xử lý; đơn vị giải quyết; đơn vị tiếp nhận"),
    _field("level", "cấp",
           "administrative level; cấp; cấp thực hiện; cấp giải quyết; cấp hành chính",
           required=True),
    _field("procedure_code", "mã thủ tục",
           "procedure id; mã thủ tục; mã tthc; mã thủ tục hành chính; mã dvc"),
    _field("procedure_name", "tên thủ tục",
           "procedure; thủ tục; tên thủ tục; thủ tục hành chính; tên thủ tục hành chính; tthc; "
           "tên tthc; dịch vụ công; tên dịch vụ công"),
    _field("received_date", "ngày tiếp nhận",
           "received; date received; ngày tiếp nhận; ngày nhận; ngày nộp; ngày nhận hồ sơ; "
           "ngày tiếp nhận hồ sơ; ngày nộp hồ sơ; thời gian tiếp nhận", required=True),
    _field("channel", "kênh nộp",
           "submission channel; kênh; kênh nộp; kênh tiếp nhận; hình thức; hình thức nộp; "
           "hình thức tiếp nhận; hình thức nộp hồ sơ; phương thức nộp; phương thức tiếp nhận",
           required=True),
    _field("fully_online", "toàn trình",
           "fully online flag; toàn trình; trực tuyến toàn trình; dịch vụ công toàn trình; "
           "dvc toàn trình; hồ sơ toàn trình"),
    _field("due_date", "hạn xử lý",
           "due; deadline; hạn xử lý; hạn giải quyết; hạn trả; hạn trả kết quả; ngày hẹn trả; "
           "ngày hẹn trả kết quả; ngày hết hạn", required=True),
    _field("finished_date", "ngày hoàn thành",
           "finished; date finished; completed; completion date; ngày hoàn thành; "
           "ngày trả kết quả; ngày có kết quả; ngày kết thúc; ngày giải quyết xong; "
           "ngày xử lý xong"),
    _field("supplement_requests", "số lần yêu cầu bổ sung",
           "supplements; number of supplement requests; số lần yêu cầu bổ sung; số lần bổ sung; "
           "yêu cầu bổ sung; số lần yêu cầu bổ sung hồ sơ"),
    _field("fee_vnd", "phí, lệ phí (VNĐ)",
           "fee; fees; phí; lệ phí; phí, lệ phí; phí lệ phí; số tiền phí; số tiền"),
    _field("paid_online", "thanh toán trực tuyến",
           "online payment; thanh toán trực tuyến; đã thanh toán trực tuyến; thanh toán online"),
    _field("e_result", "trả kết quả điện tử",
           "electronic result; result electronic; result issued electronically; "
           "kết quả điện tử; trả kết quả điện tử; có kết quả điện tử; cấp kết quả điện tử; "
           "kết quả bản điện tử"),
    _field("issues_result", "thủ tục có kết quả",
           "procedure issues result; procedure issues a result; has result; thủ tục có kết quả; "
           "có kết quả; tthc có kết quả; thủ tục có cấp kết quả"),
    _field("components_digitised", "số hóa thành phần",
           "components digitized; digitised components; số hóa thành phần; "
           "số hóa thành phần hồ sơ; thành phần đã số hóa; đã số hóa thành phần"),
    _field("result_digitised", "số hóa kết quả",
           "result digitized; digitised result; số hóa kết quả; kết quả đã số hóa; "
           "đã số hóa kết quả"),
    _field("data_reused", "tái sử dụng dữ liệu",
           "reused data; tái sử dụng; tái sử dụng dữ liệu; tái sử dụng dữ liệu số hóa; "
           "sử dụng lại dữ liệu"),
    _field("synced", "đồng bộ DVCQG",
           "synchronised; synchronized; synced to portal; synchronised to national portal; "
           "đồng bộ; đã đồng bộ; đồng bộ dvcqg; đồng bộ cổng dvcqg; "
           "đồng bộ cổng dịch vụ công quốc gia"),
    _field("rating", "đánh giá",
           "satisfaction; đánh giá; mức độ hài lòng; kết quả đánh giá; đánh giá hài lòng; "
           "hài lòng"),
)  # fmt: skip
FIELD = {f.name: f for f in FIELDS}
BOOLEAN_FIELDS = (
    "fully_online",
    "paid_online",
    "e_result",
    "issues_result",
    "components_digitised",
    "result_digitised",
    "data_reused",
    "synced",
)
DATE_FIELDS = ("received_date", "due_date", "finished_date")
FREE_TEXT_FIELDS = ("unit", "agency", "procedure_code", "procedure_name")
# Text a clerk may have typed anything into, and that no index component needs (the procedure
# is identified by its code): dropped unless the analyst keeps it on purpose (``keep_text``).
# Units and agencies are the index's units and stay, redacted.
DROPPED_TEXT_FIELDS = ("procedure_name",)
# A fee or a count this large is a phone or an ID number typed into the wrong column.
MAX_PLAUSIBLE_NUMBER = 100_000_000
# A row needs at least one of the two to say which procedure it is.
PROCEDURE_FIELDS = ("procedure_code", "procedure_name")

LEVELS = ("province", "district", "commune")
CHANNELS = ("direct", "online", "postal")  # channel codes 1, 2, 3 of the portal
RATINGS = ("satisfied", "neutral", "not_satisfied")

# Category words, folded (personal.fold). Channel codes 1/2/3 are the portal's. The level words
# are data/ingest_headers.yaml's `levels`, the one list the monthly tables read too.
LEVEL_WORDS = level_words()
CHANNEL_WORDS = {
    "direct": ("1", "direct", "counter", "inperson", "offline", "tructiep", "noptructiep"),
    "online": ("2", "online", "tructuyen", "noptructuyen", "dvctt", "quamang"),
    "postal": ("3", "postal", "post", "buuchinh", "buuchinhcongich", "quabuuchinh", "bcci"),
}
RATING_WORDS = {
    "satisfied": ("satisfied", "verysatisfied", "hailong", "rathailong"),
    "neutral": ("neutral", "acceptable", "binhthuong", "chapnhanduoc"),
    "not_satisfied": (
        "notsatisfied",
        "dissatisfied",
        "unsatisfied",
        "khonghailong",
        "chuahailong",
        "rathonghailong",
    ),
}
TRUE_WORDS = ("1", "true", "t", "yes", "y", "x", "co", "dung", "da")
FALSE_WORDS = ("", "0", "false", "f", "no", "n", "khong", "k", "chua", "sai")
# "Đã đồng bộ", "Có KQ điện tử" are yes; "Chưa số hóa", "Không" are no. "đang" (in progress) and
# "công" start like "đã"/"có" and are excluded by the [^n].
TRUE_PATTERN = "(co|da)([^n].*)?"
FALSE_PATTERN = "(khong|chua).*"

# Dates: day first, as Vietnamese write them, or ISO; a time of day is read and dropped.
DATE_FORMATS = (
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%H:%M:%S %d/%m/%Y",
    "%H:%M %d/%m/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
# Earlier or later years are typing mistakes (the portal started in 2018, the index in 2022).
YEAR_RANGE = (2000, 2100)
DATE_HINT = "write dates as dd/mm/yyyy (05/06/2024) or yyyy-mm-dd (2024-06-05)"

DUCKDB_MEMORY = "512MB"  # DuckDB spills to disk beyond this: peak RSS stays well under 2 GB
BLOCK_BYTES = 1 << 20  # pyarrow reads 1 MiB of CSV at a time (and reads ahead ~32 of them)
CHUNK_ROWS = 65_536  # rows typed at a time
ROW_GROUP_ROWS = 250_000  # rows held before a row group is written (memory ~ 100 MB)
EXAMPLES_PER_CHECK = 100  # problems kept in full per check; all are counted
# More distinct unknown province names than this, and the column is not a province column
# (each unknown name costs the registry a search for close names).
MAX_UNKNOWN_PROVINCES = 1_000
PARQUET_SCHEMA_VERSION = "dossiers/1"


def _alias_index() -> dict[str, str]:
    """Folded header spelling -> field name. Fails on a spelling given to two fields (a bug)."""
    index: dict[str, str] = {}
    for f in FIELDS:
        for alias in (f.name, f.name.replace("_", " "), *f.aliases):
            key = personal.fold(alias)
            if index.setdefault(key, f.name) != f.name:
                raise ValueError(f"header {alias!r} given to {index[key]} and {f.name}")
            if key in personal.PERSONAL_KEYS:
                raise ValueError(f"header {alias!r} is both {f.name} and personal data")
    return index


_ALIASES = _alias_index()


def field_of(header: str) -> str | None:
    """The schema field a header names, or None.

    A trailing currency unit ("(VNĐ)", "vnd", "đồng") is ignored, so "Phí, lệ phí (VNĐ)" is
    ``fee_vnd``.

    Examples
    --------
    >>> field_of("Ngày tiếp nhận"), field_of("NGAY_TIEP_NHAN"), field_of("Phí, lệ phí (VNĐ)")
    ('received_date', 'received_date', 'fee_vnd')
    """
    key = personal.fold(header)
    if key in _ALIASES:
        return _ALIASES[key]
    for unit in ("vnd", "dong"):
        if key.endswith(unit) and key[: -len(unit)] in _ALIASES:
            return _ALIASES[key[: -len(unit)]]
    return None


# The output: one row per accepted dossier. Column order is the file's.
OUTPUT_SCHEMA = pa.schema(
    [
        ("dossier_id", pa.string()),
        ("boundary", pa.string()),  # old63 / new34: the map of the received date
        ("province_code", pa.string()),
        ("province", pa.string()),  # the registry's official name
        ("unit", pa.string()),
        ("agency", pa.string()),
        ("level", pa.string()),
        ("procedure_code", pa.string()),
        ("procedure_name", pa.string()),
        ("received_date", pa.date32()),
        ("received_month", pa.date32()),  # first day of the month
        ("channel", pa.string()),
        ("fully_online", pa.bool_()),
        ("due_date", pa.date32()),
        ("finished_date", pa.date32()),  # null: in progress
        ("supplement_requests", pa.int64()),
        ("fee_vnd", pa.int64()),
        *((f, pa.bool_()) for f in BOOLEAN_FIELDS if f != "fully_online"),
        ("rating", pa.string()),
        ("applicant_key", pa.string()),
        ("source_row", pa.int64()),  # the row in the raw file, header = 1
    ]
)
OUTPUT_COLUMNS = tuple(OUTPUT_SCHEMA.names)
# Columns with few distinct values: dictionary-encoded in Parquet (ids and keys are unique).
DICTIONARY_COLUMNS = [
    "boundary",
    "province_code",
    "province",
    "unit",
    "agency",
    "level",
    "procedure_code",
    "procedure_name",
    "channel",
    "rating",
]
FLAGS_SCHEMA = pa.schema([("row", pa.int64()), ("mask", pa.int64())])
