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
    """A throw-away installation whose data/processed/.salt is apart from the outputs."""
    home = tmp_path / "installation" / "processed"
    monkeypatch.setattr(config, "PROCESSED_DIR", home)
    return home


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


def test_quarantine_import_leaves_no_personal_data(tmp_path, installation):
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
    # The salt lives apart from the outputs and is written nowhere.
    salt = (installation / ".salt").read_text().strip()
    assert salt not in text and not list(out.rglob(".salt"))


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


def test_salt_is_created_once_private_and_checked(tmp_path):
    path = tmp_path / "p" / ".salt"
    first = personal.load_salt(path)
    assert len(first) == 32 and personal.load_salt(path) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert personal.load_salt() != first  # the default place, another installation
    path.write_text("not hex\n")
    with pytest.raises(WorkbenchError, match="damaged"):
        personal.load_salt(path)


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
