"""No personal data leaves a dossier import: not in Parquet, not in CSVs, not in messages.

The exports here are full of fake personal data of the kinds real ones carry: names with
diacritics, 12-digit CCCD and 9-digit CMND numbers, phones written 09xxxxxxxx and +849xxxxxxxx,
addresses and e-mails, some of them typed into columns that are kept (an agency's name, a
procedure's name) or shifted into the wrong column. After importing, every file under the
output folder is read back as text and searched for each of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import re
import stat
import unicodedata
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from analysis import config
from analysis.errors import WorkbenchError
from analysis.ingest import personal
from analysis.ingest.dossiers import ingest_dossiers
from analysis.ingest.problems import IngestError, ProblemReport

TODAY = dt.date(2026, 1, 15)

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Ngọc", "Thanh"]
GIVEN = ["Ánh", "Bích", "Cường", "Dũng", "Hương", "Khoa", "Lộc", "Nhung", "Phượng", "Quỳnh"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt"]

HEADER = [
    "Mã hồ sơ",
    "Tỉnh",
    "Cơ quan giải quyết",
    "Cấp",
    "Tên thủ tục",
    "Họ và tên",
    "Số CCCD",
    "Số CMND",
    "Số điện thoại",
    "Địa chỉ thường trú",
    "Email",
    "Ngày tiếp nhận",
    "Kênh nộp",
    "Hạn xử lý",
    "Ngày hoàn thành",
    "Ngày sinh",  # not in the schema, personal too: dropped as an unknown column
]

# What must never be found: a 9+ digit run (CMND, CCCD, a phone without its 0), a phone with
# +84 or a leading 0 and separators, an e-mail address.
DIGITS = re.compile(r"\d{9,}")
PHONE = re.compile(r"(?:\+84|\b0)(?:[ .\-]?\d){9,10}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture(autouse=True)
def installation(tmp_path, monkeypatch):
    """A throw-away installation (data/processed) and user (~/.config) for each test."""
    home = tmp_path / "installation" / "processed"
    monkeypatch.setattr(config, "PROCESSED_DIR", home)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user" / ".config"))
    monkeypatch.delenv("WORKBENCH_SECRET", raising=False)
    return home


@pytest.fixture
def secret_file(tmp_path):
    return tmp_path / "user" / ".config" / "workbench" / "secret"


def people(n: int, seed: int = 7) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        given = GIVEN[rng.integers(len(GIVEN))]
        family = FAMILY[rng.integers(len(FAMILY))]
        name = f"{family} {MIDDLE[rng.integers(len(MIDDLE))]} {given}"
        phone = f"09{rng.integers(10**8):08d}" if i % 2 else f"+849{rng.integers(10**8):08d}"
        out.append(
            {
                "name": name,
                "cccd": f"0{rng.integers(10**11):011d}",
                "cmnd": f"{rng.integers(10**8, 10**9):09d}",
                "phone": phone,
                "address": f"Số {i + 1}, đường {STREETS[i % len(STREETS)]}, phường Bến Nghé",
                "email": f"nguoidan{i}.{rng.integers(1000)}@gmail.com",
                "birth": f"{rng.integers(1, 28):02d}/{rng.integers(1, 12):02d}/19{i % 90 + 10}",
            }
        )
    return out


def export(path: Path, persons: list[dict[str, str]], bad_every: int = 0) -> Path:
    """One dossier per person; every ``bad_every``-th row has problems, and some rows carry
    personal data in columns that are kept."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for i, p in enumerate(persons):
        agency = "UBND phường Bến Nghé"
        procedure = "Chứng thực bản sao"
        received, due, channel = "05/06/2024", "10/06/2024", "Trực tuyến"
        if i % 5 == 1:  # typed into kept free text by a clerk
            agency = f"UBND phường (liên hệ {p['phone']})"
            procedure = f"Đăng ký hộ tịch cho CCCD {p['cccd']}, email {p['email']}"
        if bad_every and i % bad_every == 0:
            # Personal data shifted into checked columns: shown in messages, so redacted there.
            channel = p["cmnd"]
            due = p["email"]
            received = p["phone"]
        writer.writerow(
            [
                f"000.00.12.H26-240605-{i:05d}",
                "Hồ Chí Minh",
                agency,
                "Cấp xã",
                procedure,
                p["name"],
                p["cccd"] if i % 3 else "",
                p["cmnd"],
                p["phone"],
                p["address"],
                p["email"],
                received,
                channel,
                due,
                "",
                p["birth"],
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def everything_written(folder: Path) -> str:
    """Every file under ``folder`` as text: Parquet values and metadata, CSV and JSON as read."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        parts.append(path.name)
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            parts.append(str(table.schema.metadata))
            for column in table.columns:
                parts.extend(str(v) for v in column.to_pylist())
        else:
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def assert_no_personal_data(text: str, persons: list[dict[str, str]]) -> None:
    for p in persons:
        for kind in ("name", "cccd", "cmnd", "phone", "address", "email", "birth"):
            assert p[kind] not in text, kind
    assert not DIGITS.search(text), DIGITS.search(text)
    assert not PHONE.search(text), PHONE.search(text)
    assert not EMAIL.search(text), EMAIL.search(text)
    # Surnames and given names with diacritics are not in any kept column of these exports.
    for word in (*FAMILY, *GIVEN):
        assert word not in text, word


def test_quarantine_import_leaves_no_personal_data(tmp_path, installation, secret_file):
    persons = people(60)
    src = export(tmp_path / "raw" / "ho_so.csv", persons, bad_every=7)
    out = tmp_path / "processed" / "hcm"
    report = ProblemReport()
    result = ingest_dossiers(src, out, quarantine=True, report=report, today=TODAY)
    assert result.rejected == 9 and result.accepted == 51  # rows 0, 7, ..., 56
    (out / "manifest.json").write_text(json.dumps(result.manifest_entry(), ensure_ascii=False))

    text = everything_written(out)
    assert "<redacted>" in text  # the free text was there, and redacted
    assert_no_personal_data(text, persons)
    assert_no_personal_data("\n".join(str(p) for p in report.problems), persons)
    # The secret lives in the user's configuration, outside the data tree, and is written nowhere.
    salt = secret_file.read_text().strip()
    assert len(salt) == 64 and salt not in text
    assert not [p for p in (tmp_path / "processed").rglob("*") if "salt" in p.name]
    assert not installation.exists()  # nothing in data/processed either


def test_strict_failure_message_holds_no_personal_data(tmp_path):
    persons = people(20, seed=11)
    src = export(tmp_path / "ho_so.csv", persons, bad_every=4)
    with pytest.raises(IngestError) as caught:
        ingest_dossiers(src, tmp_path / "out", quarantine=False, report=ProblemReport(),
                        today=TODAY)  # fmt: skip
    message = str(caught.value)
    assert "<redacted>" in message  # the shifted phone, CMND and e-mail are shown redacted
    assert_no_personal_data(message, persons)
    assert not (tmp_path / "out").exists()


def test_headerless_export_message_repeats_no_cell(tmp_path):
    persons = people(3, seed=5)
    src = export(tmp_path / "ho_so.csv", persons)
    lines = src.read_text(encoding="utf-8").splitlines()[1:]  # the header row is gone
    src.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        ingest_dossiers(src, tmp_path / "out", quarantine=True, report=ProblemReport())
    message = str(caught.value)
    assert "is the header row missing" in message
    assert_no_personal_data(message, persons)


def test_applicant_key_counts_repeat_applicants(tmp_path):
    persons = people(3)
    twice = [persons[0], persons[1], persons[0], persons[2], persons[0]]
    # Rows 0 and 3 have no CCCD (i % 3 == 0): their CMND is used, so every row has a key.
    src = export(tmp_path / "ho_so.csv", twice)
    result = ingest_dossiers(src, tmp_path / "out", False, ProblemReport(), today=TODAY)
    keys = [r["applicant_key"] for r in pq.read_table(result.outputs["dossiers"]).to_pylist()]
    # Rows 2 and 4: person 0 by CCCD, the same key. Row 0: person 0 by CMND, another document.
    assert keys[2] == keys[4]
    assert len(set(keys)) == 4
    assert keys[1] == personal.applicant_key(twice[1]["cccd"], personal.load_salt())
    assert all(re.fullmatch("[a-p]{32}", k) for k in keys)


def test_applicant_key_is_the_hmac_of_the_id_number():
    salt = bytes(range(32))
    digest = hmac.new(salt, b"001090012345", hashlib.sha256).hexdigest()[:32]
    reference = digest.translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))
    assert personal.applicant_key(" 001 090-012.345 ", salt) == reference
    assert personal.applicant_key("", salt) is None
    assert personal.applicant_key("b1234567", salt) == personal.applicant_key("B1234567", salt)
    assert personal.applicant_key("001090012345", bytes(32)) != reference  # salted


def test_duckdb_key_equals_the_python_key():
    salt = bytes(range(32))
    sql, params = personal.applicant_key_sql("x", salt)
    values = ["001090012345", " 001 090-012.345 ", "b1234567", "", None, "Nguyễn"]
    con = duckdb.connect()
    for value in values:
        got = con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS x)", [*params, value])
        assert got.fetchall()[0][0] == personal.applicant_key(value, salt), value


def test_secret_is_created_once_private_and_outside_the_data(secret_file, installation):
    first = personal.load_salt()
    assert len(first) == 32 and personal.load_salt() == first
    assert personal.salt_path() == secret_file
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert not installation.exists()  # nothing written beside the data
    secret_file.write_text("not hex\n")
    with pytest.raises(WorkbenchError, match="64 hexadecimal"):
        personal.load_salt()


def test_secret_readable_by_others_is_refused(secret_file):
    personal.load_salt()
    os.chmod(secret_file, 0o644)
    with pytest.raises(WorkbenchError, match="chmod 600"):
        personal.load_salt()


def test_secret_from_the_environment_is_shared_by_colleagues(monkeypatch, secret_file):
    monkeypatch.setenv("WORKBENCH_SECRET", "ab" * 32)
    assert personal.load_salt() == bytes([0xAB]) * 32
    assert not secret_file.exists()  # the environment's secret is not copied to disk
    # Two colleagues with the same secret give one applicant the same key.
    assert personal.applicant_key("001090012345", personal.load_salt()) == (
        personal.applicant_key("001090012345", bytes([0xAB]) * 32)
    )
    monkeypatch.setenv("WORKBENCH_SECRET", "short")
    with pytest.raises(WorkbenchError, match="WORKBENCH_SECRET"):
        personal.load_salt()


def test_salt_left_in_the_data_tree_is_moved_out(installation, secret_file):
    """An earlier version kept the salt in data/processed/.salt: keys stay, the file goes."""
    installation.mkdir(parents=True)
    (installation / ".salt").write_text("0f" * 32 + "\n")
    assert personal.load_salt() == bytes([0x0F]) * 32
    assert not (installation / ".salt").exists()
    assert secret_file.read_text().strip() == "0f" * 32
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600


def test_explicit_salt_file(tmp_path):
    path = tmp_path / "p" / "secret"
    first = personal.load_salt(path)
    assert personal.load_salt(path) == first != personal.load_salt()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gọi 0912345678", "gọi <redacted>"),
        ("gọi 0912 345 678 ngay", "gọi <redacted> ngay"),
        ("ĐT: +84912345678", "ĐT: <redacted>"),
        ("ĐT +84 912.345.678", "ĐT <redacted>"),
        ("CCCD 001090012345", "CCCD <redacted>"),
        ("CMND 123456789", "CMND <redacted>"),
        ("CCCD 001 090 012 345", "CCCD <redacted>"),
        ("gửi an.nguyen@gmail.com", "gửi <redacted>"),
        ("Lệ phí 50.000 đồng, thời hạn 15 ngày", "Lệ phí 50.000 đồng, thời hạn 15 ngày"),
        ("Quyết định 1234/QĐ-UBND năm 2024", "Quyết định 1234/QĐ-UBND năm 2024"),
        ("Thủ tục 1.001234.000.00.00.H26", "Thủ tục 1.001234.000.00.00.H26"),
        # How the hostile probe (issue 15) wrote them, and other common groupings.
        ("ĐT (091) 234 5678.", "ĐT <redacted>."),
        ("ĐT (024) 3825 1234", "ĐT <redacted>"),
        ("gọi 0912 34 56 78", "gọi <redacted>"),
        ("gọi 024 3825 1234", "gọi <redacted>"),
        ("gọi 0912 345678", "gọi <redacted>"),
        ("(+84) 91 234 5678", "<redacted>"),
        ("+84 (0) 912 345 678", "<redacted>"),
        ("CCCD 001-090-012345", "CCCD <redacted>"),
        ("CCCD 001.0.90.012345", "CCCD <redacted>"),
        ("CCCD 0010 9001 2345", "CCCD <redacted>"),
        ("CMND 123-456-789", "CMND <redacted>"),
        ("liên hệ trần.thị@công-ty.vn", "liên hệ <redacted>"),
        ("(e-mail: lê.văn-an+tthc@sở-tư-pháp.gov.vn)", "(e-mail: <redacted>)"),
        # Numbers that are not personal stay.
        ("Vốn 10 000 000 đồng", "Vốn 10 000 000 đồng"),
        ("Ngày 05.06.2024 lúc 08:15", "Ngày 05.06.2024 lúc 08:15"),
        ("Hồ sơ 000.00.12.H26-240605-0001", "Hồ sơ 000.00.12.H26-240605-0001"),
    ],
)
def test_redaction(text, expected):
    assert personal.redact_text(text) == expected
    # DuckDB (RE2) redacts the same way.
    got = duckdb.execute(f"SELECT {personal.redact_sql('?')}", [text]).fetchall()[0][0]
    assert got == expected


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Họ và tên", "applicant_name"),
        ("Tên người nộp", "applicant_name"),
        ("HO_TEN", "applicant_name"),
        ("Số CCCD/CMND", "id_number"),
        ("CMND", "id_number"),
        ("so dinh danh ca nhan", "id_number"),
        ("Số điện thoại", "phone"),
        ("SĐT", "phone"),
        ("Địa chỉ thường trú", "address"),
        ("E-mail", "email"),
        ("Ngày tiếp nhận", None),
        ("Tỉnh", None),
    ],
)
def test_personal_headers(header, kind):
    assert personal.personal_kind(header) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cấp bản sao cho ông Nguyễn Văn An", "Cấp bản sao cho ông <redacted>"),
        ("Khai sinh con chị Trần Thị Bích, ở phường 1", "Khai sinh con chị <redacted>, ở phường 1"),
        ("Người nộp: Lê Văn Cường", "Người nộp: <redacted>"),
        # Places named after people, or starting with a form of address, stay.
        ("UBND phường Nguyễn Thái Bình", "UBND phường Nguyễn Thái Bình"),
        ("UBND huyện Cô Tô", "UBND huyện Cô Tô"),
        ("Sở Tư pháp Bà Rịa - Vũng Tàu", "Sở Tư pháp Bà Rịa - Vũng Tàu"),
        ("Trường THCS Nguyễn Du", "Trường THCS Nguyễn Du"),
    ],
)
def test_names_introduced_as_a_person_are_redacted(text, expected):
    assert personal.redact_text(text) == expected


# --- the hostile export of issue 15 ------------------------------------------------------------

HOSTILE_HEADER = ["Mã hồ sơ", "Tỉnh", "Cơ quan giải quyết", "Cấp", "Mã thủ tục", "Tên thủ tục",
                  "Họ và tên", "Số CCCD", "SĐT", "Email", "Ngày tiếp nhận", "Kênh nộp",
                  "Hạn xử lý", "Phí, lệ phí"]  # fmt: skip
HOSTILE_ROWS = [
    # A CCCD used as the dossier id; a phone, a name and an e-mail in free text.
    ["001090012345", "Hồ Chí Minh", "UBND phường Bến Nghé (gọi (091) 234 5678)", "Cấp xã",
     "1.001234", "Khai sinh cho chị Trần Thị Bích, email trần.thị@công-ty.vn", "Trần Thị Bích",
     "001190054321", "0912345678", "trần.thị@công-ty.vn", "05/06/2024", "Trực tuyến",
     "10/06/2024", "0"],
    # A phone used as the dossier id; an ID number typed with dashes into the agency.
    ["0912 345 678", "Hồ Chí Minh", "UBND phường Bến Nghé, CCCD 001-090-012345", "Cấp xã",
     "1.001234", "Chứng thực bản sao", "Lê Văn Cường", "001090012345", "(091) 234 5678", "",
     "05/06/2024", "Trực tiếp", "10/06/2024", "0"],
    # A phone typed into the fee: a number that must not be stored.
    ["000.00.12.H26-240605-0003", "Hồ Chí Minh", "UBND phường Bến Nghé", "Cấp xã", "1.001234",
     "Chứng thực bản sao", "Phạm Ngọc Ánh", "", "0987654321", "", "05/06/2024", "Trực tiếp",
     "10/06/2024", "0987654321"],
    ["000.00.12.H26-240605-0004", "Hồ Chí Minh", "UBND phường Bến Nghé", "Cấp xã", "1.001234",
     "Chứng thực bản sao", "Đỗ Hữu Khoa", "", "", "", "05/06/2024", "Trực tiếp", "10/06/2024",
     "50.000"],
]  # fmt: skip
# Written by hand from the rows above: what may never appear, in any grouping.
HOSTILE_DIGITS = ["001090012345", "001190054321", "0912345678", "912345678", "0987654321",
                  "987654321"]  # fmt: skip
HOSTILE_WORDS = ["trần.thị", "công-ty", "Trần Thị Bích", "Lê Văn Cường", "Phạm Ngọc Ánh",
                 "Đỗ Hữu Khoa", "Bích", "Cường"]  # fmt: skip


def hostile_export(path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HOSTILE_HEADER)
    writer.writerows(HOSTILE_ROWS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def reference_dossier_key(dossier_id: str, salt: bytes) -> str:
    """``hs-`` and HMAC-SHA256(salt, "dossier_id:" + id): written here from the definition."""
    digest = hmac.new(salt, b"dossier_id:" + dossier_id.encode(), hashlib.sha256).hexdigest()
    return "hs-" + digest[:32].translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))


def assert_nothing_hostile(text: str) -> None:
    for cell in re.split(r"[\n,;|\t\"]", text):
        digits = re.sub(r"[ .\-()+]", "", cell)
        for number in HOSTILE_DIGITS:
            assert number not in digits, (number, cell)
    for word in HOSTILE_WORDS:
        assert word not in text, word


def test_hostile_export_keeps_no_personal_data(tmp_path):
    from analysis.ingest import ingest

    src = hostile_export(tmp_path / "raw" / "ho_so.csv")
    out = tmp_path / "processed"
    result = ingest([src], kind="dossiers", quarantine=True, out_dir=out, today="2026-01-15")
    assert (result.read, result.accepted, result.rejected) == (4, 3, 1)
    table = pq.read_table(out / "dossiers" / "ho_so.parquet").to_pylist()
    salt = personal.load_salt()
    assert [r["dossier_id"] for r in table] == [
        reference_dossier_key("001090012345", salt),
        reference_dossier_key("0912 345 678", salt),
        "000.00.12.H26-240605-0004",
    ]
    assert [r["agency"] for r in table] == [
        "UBND phường Bến Nghé (gọi <redacted>)",
        "UBND phường Bến Nghé, CCCD <redacted>",
        "UBND phường Bến Nghé",
    ]
    assert [r["procedure_name"] for r in table] == [None, None, None]  # free text dropped
    assert [r["fee_vnd"] for r in table] == [0, 0, 50_000]
    rejected = (out / "dossiers" / "rejected_ho_so.csv").read_text(encoding="utf-8-sig")
    assert "personal_number" in rejected and "<redacted>" in rejected
    assert_nothing_hostile(everything_written(out))

    # The summary names what was hashed and dropped, first among the notes.
    summary = result.report.problems[0]
    assert summary.kind == "personal_data"
    assert "hashed 'Số CCCD' (applicant_key)" in summary.message
    assert "dropped 'Họ và tên' (applicant_name), 'SĐT' (phone), 'Email' (email)" in (
        summary.message
    )
    assert "2 dossier ids holding personal numbers hashed" in summary.message
    assert "free text dropped: 'Tên thủ tục'" in summary.message
    entry = json.loads((out / "manifest.json").read_text())["imports"][0]
    assert entry["dossier_ids_hashed"] == 2 and entry["free_text_dropped"] == ["Tên thủ tục"]
    assert {"column": "Số CCCD", "kind": "id_number"} in entry["personal_columns"]
    assert_nothing_hostile(summary.message)


def test_kept_free_text_is_redacted(tmp_path):
    src = hostile_export(tmp_path / "ho_so.csv")
    result = ingest_dossiers(src, tmp_path / "out", True, ProblemReport(), today=TODAY,
                             keep_text=True)  # fmt: skip
    names = [r["procedure_name"] for r in pq.read_table(result.outputs["dossiers"]).to_pylist()]
    assert names == [
        "Khai sinh cho chị <redacted>, email <redacted>",
        "Chứng thực bản sao",
        "Chứng thực bản sao",
    ]
    assert result.text_dropped == ()
    assert_nothing_hostile(everything_written(tmp_path / "out"))


def test_same_personal_dossier_id_twice_is_still_a_duplicate(tmp_path):
    """Hashing keeps equal ids equal: a CCCD used as the id twice is one duplicate, not two."""
    rows = [HOSTILE_ROWS[0], [*HOSTILE_ROWS[0][:4], "9.999999", *HOSTILE_ROWS[0][5:]]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HOSTILE_HEADER, *rows])
    src = tmp_path / "twice.csv"
    src.write_text(buffer.getvalue(), encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        ingest_dossiers(src, tmp_path / "out", False, ProblemReport(), today=TODAY)
    kinds = caught.value.report.counts()
    assert kinds["duplicate_id"] == 2  # both rows of the conflicting id
    assert_nothing_hostile(str(caught.value))


@pytest.mark.parametrize(
    ("dossier_id", "personal_"),
    [
        ("000.00.12.H26-240605-0001", False),  # the national code format
        ("H26.22-240605-000123", False),
        ("2406050001234", False),  # 13 digits: no CCCD, CMND or phone is that long
        ("HS-2024-0001", False),
        ("001090012345", True),  # a CCCD
        ("123456789", True),  # a CMND
        ("0912 345 678", True),
        ("(091) 234 5678", True),
        ("HS-0912345678", True),
        ("001-090-012345", True),
        ("trần.thị@công-ty.vn", True),
    ],
)
def test_personal_dossier_ids_in_python_and_in_pyarrow(dossier_id, personal_):
    """pyarrow (RE2, used on every block) and Python agree on which ids are hashed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    assert personal.holds_personal_data(dossier_id) is personal_
    found = pc.match_substring_regex(pa.array([dossier_id]), personal.PERSONAL_ID_PATTERN)
    assert found.to_pylist() == [personal_]


def test_the_applicants_own_name_is_redacted_wherever_the_row_repeats_it(tmp_path):
    """A bare name cannot be recognised in free text, but the row's name column says whose it is."""
    base = HOSTILE_ROWS[3]  # a clean row; its applicant: Đỗ Hữu Khoa
    rows = [
        [*base[:2], "UBND phường Bến Nghé - Đỗ Hữu Khoa", *base[3:]],
        # Another applicant; the name typed in lower case and decomposed (as from Windows-1258).
        [base[0][:-1] + "5", base[1], "UBND phường Bến Nghé", base[3], base[4],
         unicodedata.normalize("NFD", "Chứng thực cho lê văn cường"), "Lê Văn Cường",
         *base[7:]],
        # The name shifted into the channel: rejected, and shown redacted.
        [base[0][:-1] + "6", *base[1:11], "Phạm Ngọc Ánh", *base[12:]],
        # An applicant called like a province: the province (a checked field) is kept.
        [base[0][:-1] + "7", "Hà Nam", "UBND tỉnh Hà Nam", "Cấp tỉnh", base[4], base[5],
         "Hà Nam", *base[7:]],
    ]  # fmt: skip
    rows[2][6] = "Phạm Ngọc Ánh"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HOSTILE_HEADER, *rows])
    src = tmp_path / "names.csv"
    src.write_text(buffer.getvalue(), encoding="utf-8")
    report = ProblemReport()
    result = ingest_dossiers(src, tmp_path / "out", True, report, today=TODAY, keep_text=True)
    assert (result.accepted, result.rejected) == (3, 1)
    table = pq.read_table(result.outputs["dossiers"]).to_pylist()
    assert [r["agency"] for r in table] == [
        "UBND phường Bến Nghé - <redacted>",
        "UBND phường Bến Nghé",
        # The price of it: in a text this rare the name is redacted even where it is a place.
        "UBND tỉnh <redacted>",
    ]
    assert table[1]["procedure_name"] == "Chứng thực cho <redacted>"
    assert table[2]["province"] == "Hà Nam"
    shown = next(p for p in report.problems if p.kind == "unknown_channel")
    assert shown.value == "<redacted>"
    written = everything_written(tmp_path / "out") + "\n".join(map(str, report.problems))
    for name in ("Đỗ Hữu Khoa", "Lê Văn Cường", "Phạm Ngọc Ánh", "Cường", "Ánh"):
        assert name not in unicodedata.normalize("NFC", written), name


def test_scores_from_the_hostile_export_hold_no_personal_data(tmp_path):
    """Downstream of the import: the index per agency, as CSV and XLSX, shows only redacted text."""
    import openpyxl

    from analysis.index766 import score

    src = hostile_export(tmp_path / "ho_so.csv")
    out = tmp_path / "processed"
    ingest_dossiers(src, out, True, ProblemReport(), today=TODAY)
    result = score(out / "dossiers", period="2024-06", by="agency")
    assert sorted(result.units["unit"]) == [
        "UBND phường Bến Nghé",
        "UBND phường Bến Nghé (gọi <redacted>)",
        "UBND phường Bến Nghé, CCCD <redacted>",
    ]
    assert int(result.units["dossiers_received"].sum()) == 3  # the 3 accepted rows
    book = openpyxl.load_workbook(result.to_file(tmp_path / "scores.xlsx"))
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]
    csv_text = result.to_file(tmp_path / "scores.csv").read_text(encoding="utf-8")
    assert_nothing_hostile("\n".join(cells) + "\n" + csv_text)
