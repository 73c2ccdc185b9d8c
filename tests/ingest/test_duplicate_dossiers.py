"""The same dossiers in two files are found, reported and counted once.

The issue-15 probe: a dossier export saved again with Windows line endings (or in Windows-1258)
has other bytes, so another SHA-256, and was imported beside the first; `score` then counted
every dossier twice. Here each export is written by the test, and the expected counts are the
rows written: 6 dossiers in the export, so 6 received, whatever copies are imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.errors import WorkbenchError
from analysis.index766 import score
from analysis.ingest import ingest
from analysis.ingest.dossiers import ingest_dossiers
from analysis.ingest.problems import IngestError, ProblemReport

TODAY = dt.date(2026, 1, 15)
HEADER = ["Mã hồ sơ", "Tỉnh", "Cơ quan giải quyết", "Cấp", "Mã thủ tục", "Ngày tiếp nhận",
          "Kênh nộp", "Hạn xử lý", "Ngày hoàn thành"]  # fmt: skip


def rows(first: int, n: int) -> list[list[str]]:
    """n dossiers of Thái Nguyên in June 2024, ids …-0001 on, finished on time."""
    return [
        [f"000.00.19.H55-2406{i:02d}-{i:04d}", "Thái Nguyên", "UBND xã Phúc Xuân", "Cấp xã",
         "1.001234", f"{i:02d}/06/2024", "Trực tuyến", f"{i + 5:02d}/06/2024",
         f"{i + 2:02d}/06/2024"]
        for i in range(first, first + n)
    ]  # fmt: skip


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: the letters it has, tone marks apart."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            for mark in list(marks):  # circumflex, breve, horn: folded in where cp1258 can
                composed = unicodedata.normalize("NFC", base + mark)
                if len(composed) == 1 and composed.encode("cp1258", errors="ignore"):
                    base = composed
                    marks.remove(mark)
            out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


def export(path, body, encoding="utf-8", newline="\n"):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows([HEADER, *body])
    text = buffer.getvalue()
    path.write_bytes(cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


def received(folder) -> int:
    result = score(folder, period="2024-06", by="province")
    return int(result.units["dossiers_received"].sum())


@pytest.mark.parametrize(
    ("encoding", "newline"), [("utf-8", "\r\n"), ("cp1258", "\n"), ("utf-8-sig", "\r\n")]
)
def test_export_saved_again_is_not_imported_twice(tmp_path, encoding, newline):
    out = tmp_path / "out"
    first = export(tmp_path / "ho_so_T6.csv", rows(1, 6))
    again = export(tmp_path / "ho_so_T6 (1).csv", rows(1, 6), encoding, newline)
    assert first.read_bytes() != again.read_bytes()  # another SHA-256: not "already imported"
    ingest([first], kind="dossiers", out_dir=out, today=TODAY)
    result = ingest([again], kind="dossiers", out_dir=out, today=TODAY)

    assert (result.read, result.accepted, result.rejected) == (6, 6, 0)
    assert [p.kind for p in result.report.problems].count("same_dossiers") == 1
    note = next(p for p in result.report.problems if p.kind == "same_dossiers")
    assert "the same 6 dossiers as ho_so_T6.parquet" in note.message
    assert sorted(p.name for p in (out / "dossiers").iterdir()) == ["ho_so_T6.parquet"]
    assert received(out / "dossiers") == 6  # not 12
    # Imported a third time: the manifest knows the file.
    third = ingest([again], kind="dossiers", out_dir=out, today=TODAY)
    assert [p.kind for p in third.report.problems] == ["already_imported"]


def test_overlapping_export_is_refused_in_strict_mode(tmp_path):
    out = tmp_path / "out"
    ingest([export(tmp_path / "T6a.csv", rows(1, 6))], kind="dossiers", out_dir=out, today=TODAY)
    overlap = export(tmp_path / "T6b.csv", rows(5, 4))  # dossiers 5 and 6 again, 7 and 8 new
    with pytest.raises(IngestError) as caught:
        ingest([overlap], kind="dossiers", out_dir=out, today=TODAY)
    problems = caught.value.report.problems
    assert [(p.kind, p.row) for p in problems] == [("duplicate_across_files", 2),
                                                   ("duplicate_across_files", 3)]  # fmt: skip
    assert "already imported from T6a.parquet (row 6 there)" in problems[0].message
    assert "row 7 there" in problems[1].message
    assert sorted(p.name for p in (out / "dossiers").iterdir()) == ["T6a.parquet"]


def test_overlapping_rows_are_quarantined_and_counted_once(tmp_path):
    out = tmp_path / "out"
    ingest([export(tmp_path / "T6a.csv", rows(1, 6))], kind="dossiers", out_dir=out, today=TODAY)
    overlap = export(tmp_path / "T6b.csv", rows(5, 4))
    result = ingest_dossiers(overlap, out, True, ProblemReport(), today=TODAY)
    assert (result.read, result.accepted, result.rejected) == (4, 2, 2)
    assert result.problems == {"duplicate_across_files": 2}
    kept = pq.read_table(out / "dossiers" / "T6b.parquet").column("dossier_id").to_pylist()
    assert kept == ["000.00.19.H55-240607-0007", "000.00.19.H55-240608-0008"]
    assert received(out / "dossiers") == 8  # dossiers 1..8, each once


def test_a_corrected_export_of_the_same_name_replaces_the_old_one(tmp_path):
    out = tmp_path / "out"
    ingest([export(tmp_path / "T6.csv", rows(1, 6))], kind="dossiers", out_dir=out, today=TODAY)
    corrected = export(tmp_path / "T6.csv", rows(1, 7))  # same name: the same dossiers and one
    result = ingest([corrected], kind="dossiers", out_dir=out, today=TODAY)
    assert (result.accepted, result.rejected) == (7, 0)
    assert received(out / "dossiers") == 7


def test_score_refuses_a_folder_with_the_same_dossiers_twice(tmp_path):
    """A folder filled by hand (or by an older version): the copy is named, nothing is scored."""
    out = tmp_path / "out"
    ingest([export(tmp_path / "T6.csv", rows(1, 6))], kind="dossiers", out_dir=out, today=TODAY)
    assert received(out / "dossiers") == 6
    shutil.copy(out / "dossiers" / "T6.parquet", out / "dossiers" / "T6_copy.parquet")
    with pytest.raises(WorkbenchError, match="6 dossier id.s. are in more than one file") as e:
        score(out / "dossiers", period="2024-06", by="province")
    assert "T6_copy.parquet" in str(e.value) + e.value.hint


def test_a_foreign_parquet_file_in_the_folder_is_named(tmp_path):
    out = tmp_path / "out"
    (out / "dossiers").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), out / "dossiers" / "notes.parquet")
    with pytest.raises(WorkbenchError, match="notes.parquet is not dossier records"):
        ingest([export(tmp_path / "T6.csv", rows(1, 2))], kind="dossiers", out_dir=out,
               today=TODAY)  # fmt: skip
