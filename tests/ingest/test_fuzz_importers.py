"""Property-based fuzz of every importer and configuration reader with hostile input.

What may happen, whatever the file: a result whose counts add up (read = accepted + rejected),
or a :class:`WorkbenchError` (``IngestError`` is one), which the command prints as one line.
Any other exception is a bug: a traceback for a user's mistake. The files are put together from
the fragments the issue-15 probe used (formulas, 10²⁰, NaN, NUL bytes, a BOM half-way, Windows-
1258 after UTF-8, duplicate JSON keys, deep nesting, script tags, paths, personal numbers in
every way Vietnamese write them) in every format and kind the importers read.

For dossier exports a second property: a personal number put in any cell, written any common
way, never reaches a file the import writes or a message, not even as its digits alone; nor
does the applicant's name typed into another column.

Examples are few (the machine is shared) and derandomised, so a failure repeats;
``WORKBENCH_FUZZ_EXAMPLES=500`` runs a longer hunt.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import config, measures
from analysis.documents import quarterly
from analysis.errors import WorkbenchError
from analysis.index766.rules import load_rules
from analysis.ingest import ingest

TODAY = "2026-01-15"
# 30 examples a test in the suite; WORKBENCH_FUZZ_EXAMPLES=500 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "30")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Personal numbers, and the ways they are written (the probe's and the common ones).
PHONE, CCCD, CMND = "0912345678", "001090012345", "123456789"
WRITTEN = {
    PHONE: ["0912345678", "0912 345 678", "091 234 5678", "(091) 234 5678", "+84 912 345 678",
            "0912.345.678", "0912-345-678", "+84912345678", "0912 34 56 78"],
    CCCD: ["001090012345", "001 090 012 345", "001-090-012345", "001.090.012.345",
           "0010 9001 2345"],
    CMND: ["123456789", "123 456 789", "123.456.789", "123-456-789"],
}  # fmt: skip
EMAILS = ["trần.thị@công-ty.vn", "an.nguyen@gmail.com"]
PERSONAL = [w for ws in WRITTEN.values() for w in ws] + EMAILS
HOSTILE = [
    '=HYPERLINK("http://x/"&A1,"a")', "+1+1", "-2", "@SUM(A1)", "</style><script>alert(1)</script>",
    "../../../../outside/pwned", "{slug.__class__.__mro__}", "1" + "0" * 20, "1e400", "NaN",
    "-0", "nan", "\x00", "a\x00b", "\ufeffTỉnh", "Thu\u0300a Thie\u0302n Hue\u0301", "\r", "\n",
    '"', "'", ";", ",", "\t", "x" * 300, "Tổng cộng", "—", "79,4 %", "1.234.567", "31/02/2024",
    "2024-13-01", "99/99/9999",
]  # fmt: skip
CELL = st.one_of(st.sampled_from(HOSTILE + PERSONAL), st.text(max_size=12))

MONTHLY = ["Tỉnh", "Cấp", "Tháng", "Hồ sơ tiếp nhận", "Hồ sơ trực tuyến", "Tỷ lệ đúng hạn (%)"]
MONTHLY_ROW = ["Thái Nguyên", "Cấp tỉnh", "06/2024", "1000", "500", "79,4"]
PORTAL = ["ID", "TEN", "CKMB", "TDGQ", "TTTT", "CLGQ", "MDHL", "MDSH", "TONG_SCORE"]
PORTAL_ROW = ["19", "Thái Nguyên", "15.5", "18.2", "8.4", "10.1", "17.6", "19.3", "89.1"]
DOSSIER = ["Mã hồ sơ", "Tỉnh", "Cơ quan giải quyết", "Cấp", "Mã thủ tục", "Tên thủ tục",
           "Họ và tên", "Số CCCD", "SĐT", "Ngày tiếp nhận", "Kênh nộp", "Hạn xử lý",
           "Ngày hoàn thành", "Phí, lệ phí", "Số lần yêu cầu bổ sung"]  # fmt: skip
DOSSIER_ROW = ["000.00.12.H26-240605-{n:04d}", "Hồ Chí Minh", "UBND phường Bến Nghé", "Cấp xã",
               "1.001234", "Chứng thực bản sao", "Trần Thị Bích", CCCD, PHONE, "05/06/2024",
               "Trực tuyến", "10/06/2024", "07/06/2024", "0", "0"]  # fmt: skip
TABLES = {"monthly": (MONTHLY, MONTHLY_ROW), "scores": (PORTAL, PORTAL_ROW),
          "dossiers": (DOSSIER, DOSSIER_ROW)}  # fmt: skip


@st.composite
def tables(draw, kind: str) -> list[list[str]]:
    """A valid header and rows of ``kind``, with hostile cells dropped in anywhere."""
    header, good = TABLES[kind]
    rows = []
    for n in range(draw(st.integers(1, 5))):
        row = [c.format(n=n + 1) for c in good]
        for _ in range(draw(st.integers(0, 3))):
            row[draw(st.integers(0, len(row) - 1))] = draw(CELL)
        rows.append(row)
    header = list(header)
    if draw(st.booleans()):  # a hostile header cell too
        header[draw(st.integers(0, len(header) - 1))] = draw(CELL)
    return [header, *rows]


def encode(table: list[list[str]], how: str, delimiter: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(table)
    text = buffer.getvalue()
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "cp1258":
        return text.encode("cp1258", errors="replace")
    if how == "mixed":  # the probe's file: Windows-1258 half-way, then UTF-8
        half = len(text) // 2
        return text[:half].encode("cp1258", errors="replace") + text[half:].encode("utf-8")
    if how == "bom-twice":
        return b"\xef\xbb\xbf" + text.encode("utf-8") + b"\xef\xbb\xbf"
    return text.encode("utf-8")


def imported(paths: list[Path], out: Path, kind: str | None, quarantine: bool):
    """Run the import; None when it ended with a WorkbenchError, else the result (checked)."""
    try:
        result = ingest(paths, kind=kind, quarantine=quarantine, out_dir=out, today=TODAY)
    except WorkbenchError:
        return None
    assert result.read == result.accepted + result.rejected
    return result


@FUZZ
@given(
    kind=st.sampled_from(sorted(TABLES)),
    data=st.data(),
    how=st.sampled_from(["utf-8", "utf-16", "cp1258", "mixed", "bom-twice"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    tell=st.booleans(),
    quarantine=st.booleans(),
)
def test_hostile_csv_of_every_kind(kind, data, how, delimiter, tell, quarantine):
    table = data.draw(tables(kind))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.csv"
        path.write_bytes(encode(table, how, delimiter))
        imported([path], Path(folder) / "out", kind if tell else None, quarantine)


@FUZZ
@given(kind=st.sampled_from(["monthly", "scores"]), data=st.data(), quarantine=st.booleans())
def test_hostile_xlsx(kind, data, quarantine):
    table = data.draw(tables(kind))
    with tempfile.TemporaryDirectory() as folder:
        book = openpyxl.Workbook()
        for row in table:
            cells = []
            for cell in row:
                cell = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", cell)  # Excel cannot hold them
                # A formula stays a formula in the workbook: the reader must not evaluate it.
                cells.append(cell)
            book.active.append(cells)
        path = Path(folder) / "hostile.xlsx"
        book.save(path)
        imported([path], Path(folder) / "out", kind, quarantine)


JSON_VALUE = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(10**25), max_value=10**25),
        st.floats(allow_nan=True, allow_infinity=True), CELL,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(PORTAL + ["data", "period"]), inner,
                                            max_size=4)),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(
    records=st.lists(st.dictionaries(st.sampled_from(PORTAL), JSON_VALUE, max_size=9), max_size=4),
    duplicate=st.sampled_from([None, "ID", "TEN", "TONG_SCORE"]),
    depth=st.sampled_from([0, 3, 70, 5000]),
    quarantine=st.booleans(),
)
def test_hostile_portal_json(records, duplicate, depth, quarantine):
    text = json.dumps({"period": "2024-05", "data": records}, ensure_ascii=False, allow_nan=True)
    if duplicate and records:
        # The probe's silent change: the same key twice in one object.
        text = text.replace("{", '{"' + duplicate + '": "19", ', 1)
    if depth:
        text = '{"data": ' + "[" * depth + text + "]" * depth + "}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chi-so-2024-05.json"
        path.write_text(text, encoding="utf-8")
        imported([path], Path(folder) / "out", None, quarantine)


# --- personal numbers in any cell of a dossier export ---------------------------------------


def digits_only(text: str) -> str:
    return re.sub(r"[ .\-()+]", "", text)


def written_text(folder: Path) -> list[str]:
    """Every cell or line the import wrote under ``folder``, as text."""
    cells = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            cells.append(str(table.schema.metadata))
            for column in table.columns:
                cells.extend(str(v) for v in column.to_pylist())
        elif path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            cells.extend(re.split(r"[\r\n,;\t\"]", text))
    return cells


@FUZZ
@given(
    placed=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, len(DOSSIER) - 1), st.sampled_from(PERSONAL)),
        min_size=1,
        max_size=6,
    ),
    # Not into the id (a name as a dossier code is not a thing exports do).
    names_placed=st.lists(st.tuples(st.integers(0, 4), st.integers(1, len(DOSSIER) - 1)),
                          max_size=3),
    quarantine=st.booleans(),
    keep_text=st.booleans(),
)  # fmt: skip
def test_personal_numbers_in_any_cell_never_leave_the_import(
    placed, names_placed, quarantine, keep_text
):
    rows = [[c.format(n=n + 1) for c in DOSSIER_ROW] for n in range(5)]
    for row, column, value in placed:
        rows[row][column] = value
    for row, column in names_placed:  # the row's own applicant name, typed in another column
        rows[row][column] = rows[row][DOSSIER.index("Họ và tên")]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([DOSSIER, *rows])
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "ho_so.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        out = folder / "out"
        try:
            result = ingest([path], kind="dossiers", quarantine=quarantine, out_dir=out,
                            today=TODAY, keep_text=keep_text)  # fmt: skip
            cells = written_text(out) + [str(p) for p in result.report.problems]
        except WorkbenchError as err:
            assert not out.exists() or not any(out.rglob("*.parquet")) or quarantine
            cells = [str(err), err.hint]
        for cell in cells:
            bare = digits_only(cell)
            for number in (PHONE, CCCD, CMND, PHONE[1:]):
                assert number not in bare, (number, cell)
            for email in EMAILS:
                assert email not in cell and email.split("@")[0] not in cell, (email, cell)
            assert "Bích" not in unicodedata.normalize("NFC", cell), cell  # Trần Thị Bích


# --- configuration files --------------------------------------------------------------------

CONFIG_FILES = {
    "measures": config.CONFIG_DIR / "measures.csv",
    "targets": config.CONFIG_DIR / "targets.yaml",
    "recommendations": config.CONFIG_DIR / "recommendations.yaml",
    "rules": config.CONFIG_DIR / "index766" / "rules-2026.1.yaml",
}
LOADERS = {
    "measures": measures.load,
    "targets": quarterly.load_targets,
    "recommendations": quarterly.load_recommendations,
    "rules": load_rules,
}


@FUZZ
@given(
    which=st.sampled_from(sorted(CONFIG_FILES)),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.sampled_from(["cut", "insert", "delete", "replace"]),
            st.one_of(st.sampled_from(HOSTILE + [": [", "- ", "  ", "\t", "{", "}", "#", "&a",
                                                 "*a", "!!python/object:os.system"]),
                      st.binary(max_size=6).map(lambda b: b.decode("latin-1"))),
        ),
        min_size=1,
        max_size=4,
    ),
    cp1258=st.booleans(),
)  # fmt: skip
def test_edited_configuration_fails_only_with_workbench_errors(which, edits, cp1258):
    """An analyst's careless edit of a configuration file: a clear error or a valid load."""
    text = CONFIG_FILES[which].read_text(encoding="utf-8")
    for where, action, junk in edits:
        at = int(where * len(text))
        if action == "cut":
            text = text[:at]
        elif action == "insert":
            text = text[:at] + junk + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + len(junk) :]
        else:
            text = text[:at] + junk + text[at + len(junk) :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / CONFIG_FILES[which].name
        data = text.encode("cp1258", errors="replace") if cp1258 else text.encode("utf-8")
        path.write_bytes(data)
        with contextlib.suppress(WorkbenchError):  # a clear error is a right answer
            LOADERS[which](path)


@pytest.mark.parametrize("which", sorted(CONFIG_FILES))
def test_the_shipped_configuration_loads(which):
    """The fuzz above starts from files that are valid as shipped."""
    assert LOADERS[which](CONFIG_FILES[which])
