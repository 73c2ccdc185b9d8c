"""Monthly indicator tables -> the count panel: formats, validation, quarantine, re-import.

Expected counts are the figures written into the test files (worked out by hand where a count
is derived from a rate); none is pasted from the program's output. "Today" is pinned to
15/10/2025 so that "in the future" does not move.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
import types
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_corpus.make_corpus import HERE as CORPUS
from ingest_corpus.make_corpus import corpus, encode_cp1258
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from analysis import config, panel
from analysis.errors import WorkbenchError
from analysis.files import sha256
from analysis.ingest import IngestError, IngestResult, ingest, templates
from analysis.ingest.problems import ProblemReport

TODAY = "2025-10-15"
HEADER = "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận,Hồ sơ trực tuyến"


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def run(paths, out: Path, **kw) -> IngestResult:
    return ingest(paths, kind=kw.pop("kind", "monthly"), out_dir=out, today=TODAY, **kw)


def row_of(frame: pd.DataFrame, name: str, month: str, level: str = "province") -> pd.Series:
    hit = frame[
        (frame["province"] == name)
        & (frame["month"] == pd.Timestamp(month))
        & (frame["level"] == level)
    ]
    assert len(hit) == 1, hit
    return hit.iloc[0]


# --- the corpus of malformed files ------------------------------------------------------------

# file -> (problem kind, row, column as written in the file, words the message must hold)
CASES = {
    "m01_unknown_province.csv": ("unknown_province", 3, "Tỉnh", "Tỉnh Xyz"),
    "m02_unknown_level.csv": ("unknown_level", 3, "Cấp", "Cấp bộ"),
    "m03_duplicate_conflict.csv": ("duplicate_conflict", 4, "Hồ sơ tiếp nhận", "row 2"),
    "m04_numerator_gt_denominator.csv": (
        "numerator_gt_denominator",
        3,
        "Hồ sơ trực tuyến",
        "Hồ sơ tiếp nhận",
    ),
    "m05_negative_count.csv": ("negative_count", 3, "Hồ sơ tiếp nhận", "-5"),
    "m06_rate_out_of_range.csv": ("rate_out_of_range", 3, "Tỷ lệ đúng hạn (%)", "-3"),
    "m07_month_in_future.csv": ("month_in_future", 2, "Tháng", "12/2099"),
    "m08_month_before_range.csv": ("month_out_of_range", 3, "Tháng", "06/2012"),
    # No "Cấp" column is the whole province (level "all"); the month has no default.
    "m09_missing_columns.csv": ("missing_columns", 1, "Tháng", "--period"),
    "m10_empty.csv": ("empty_file", None, None, "empty"),
    "m11_no_matching_sheet.xlsx": ("no_matching_sheet", None, None, "'Ghi chú', 'Biểu đồ'"),
    "m12_truncated.csv": ("truncated_file", 3, "Tháng", "cut short"),
    "m13_png_as_csv.csv": ("binary_file", None, None, "PNG image"),
    "m14_zip_as_csv.csv": ("binary_file", None, None, "ZIP archive"),
    "m15_bad_encoding.csv": ("bad_encoding", 3, "Tỉnh", "UTF-8"),
    "m16_missing_subheader.xlsx": ("missing_subheader", 2, "Hồ sơ tiếp nhận", "sub-header"),
    "m17_percent_over_100.csv": ("rate_out_of_range", 3, "Tỷ lệ trực tuyến", "112,5%"),
    "m18_text_in_number.csv": ("not_a_number", 3, "Hồ sơ trực tuyến", "khoảng 300"),
    "m19_district_after_reform.csv": ("district_after_reform", 2, "Cấp", "01/07/2025"),
    "m20_merged_province_after_reform.csv": ("province_not_on_map", 3, "Tỉnh", "Tuyên Quang"),
    "m21_bad_month.csv": ("bad_month", 3, "Tháng", "Tháng 13/2024"),
    "m22_old_excel.xls": ("old_excel", None, None, ".xlsx"),
    "m23_unterminated_quote.csv": ("truncated_file", 3, "Tỉnh", "quoted field"),
    "m24_province_code_mismatch.csv": ("province_code_mismatch", 3, "Mã tỉnh", "27"),
    "m25_not_whole.csv": ("not_whole", 3, "Hồ sơ tiếp nhận", "900,5"),
    "m26_rate_without_total.csv": ("rate_without_total", 1, "Tỷ lệ trực tuyến", "Hồ sơ tiếp nhận"),
    "m27_header_only.csv": ("empty_file", None, None, "no data rows"),
    "m28_missing_value.csv": ("missing_value", 3, "Hồ sơ tiếp nhận", "empty"),
}


def test_corpus_files_are_what_the_script_makes():
    made = corpus()
    assert len(made) >= 25
    for name, data in made.items():
        assert (CORPUS / name).read_bytes() == data, (
            f"run tests/ingest_corpus/make_corpus.py ({name})"
        )
    assert set(CASES) == {n for n in made if n.startswith("m")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_malformed_file_names_its_row_and_column(name, tmp_path):
    kind, row, column, words = CASES[name]
    out = tmp_path / "out"
    with pytest.raises(IngestError) as caught:
        run([CORPUS / name], out)
    error = caught.value
    assert error.exit_code == 1
    found = [p for p in error.report.problems if p.kind == kind]
    assert found, error.report.render()
    problem = next((p for p in found if p.row == row), found[0])
    assert (problem.row, problem.column) == (row, column), str(problem)
    text = str(error)
    assert words in text
    assert name in text
    if row is not None:
        assert f"row {row}" in str(problem)
    if column is not None:
        assert f"column {column!r}" in str(problem)
    assert "nothing was written" in text
    assert not out.exists() or not any(out.iterdir())


def test_a_traceback_free_message_for_a_missing_file(tmp_path):
    with pytest.raises(IngestError) as caught:
        run([tmp_path / "nowhere.csv"], tmp_path / "out")
    assert caught.value.report.problems[0].kind == "file_not_found"


# --- round trip -------------------------------------------------------------------------------


def test_committed_templates_are_up_to_date(tmp_path):
    for path in templates.write(tmp_path):
        committed = config.DATA_DIR / "templates" / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            "run `python -m analysis.ingest.templates`"
        )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_round_trip_gives_back_the_counts(suffix, tmp_path):
    template = config.DATA_DIR / "templates" / f"{templates.MONTHLY_STEM}{suffix}"
    result = ingest([template], out_dir=tmp_path, today=TODAY)  # kind recognised from the header
    assert (result.read, result.accepted, result.rejected) == (1, 1, 0)
    frame = panel.load(tmp_path / "panel.parquet")
    got = row_of(frame, "Thái Nguyên", "2024-06-01")
    assert got["boundary"] == "old63" and got["province_code"] == "19"
    for column in panel.COUNT_COLUMNS:
        assert got[column] == templates.MONTHLY_EXAMPLE[column], column
    assert result.summary() == "read 1 = accepted 1 + rejected 0"


# --- formats ----------------------------------------------------------------------------------

TABLE = [
    ["Tỉnh", "Cấp", "Tháng", "Hồ sơ tiếp nhận", "Hồ sơ trực tuyến"],
    ["Thừa Thiên Huế", "Cấp xã", "Tháng 6/2024", "1.250", "980"],
    ["Đắk Lắk", "huyện", "T6/2024", "12.345", "10.000"],
]


def _text(rows, delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("utf-16", "\t"),  # Excel's "Unicode text": UTF-16 with BOM, tab-separated
        ("utf-16-le", "\t"),  # the same without a BOM
        ("cp1258", ","),
    ],
)
def test_encodings_and_delimiters(encoding, delimiter, tmp_path):
    text = _text(TABLE, delimiter)
    data = encode_cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    path = write(tmp_path, "t.csv", data)
    result = run([path], tmp_path / "out")
    assert result.accepted == 2
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    hue = row_of(frame, "Thừa Thiên Huế", "2024-06-01", "commune")
    assert (hue["dossiers_received"], hue["dossiers_online"]) == (1250, 980)
    dak = row_of(frame, "Đắk Lắk", "2024-06-01", "district")
    assert (dak["dossiers_received"], dak["dossiers_online"]) == (12345, 10000)


def test_headers_without_diacritics_and_in_english(tmp_path):
    text = "tinh,cap,thang,ho so tiep nhan,ho so truc tuyen\nThai Nguyen,cap tinh,2024-06,100,40\n"
    english = (
        "Province,Level,Month,Dossiers received,Dossiers online\nHCM,province,6/2024,200,150\n"
    )
    run([write(tmp_path, "a.csv", text), write(tmp_path, "b.csv", english)], tmp_path / "out")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert row_of(frame, "Thái Nguyên", "2024-06-01")["dossiers_online"] == 40
    assert row_of(frame, "Hồ Chí Minh", "2024-06-01")["dossiers_received"] == 200


def _report_workbook(path: Path, second_online: int) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "T6"
    sheet.append(["BÁO CÁO TÌNH HÌNH GIẢI QUYẾT TTHC THÁNG 6/2024"])
    sheet.append([])
    sheet.append(["STT", "Tỉnh", "Cấp", "Tháng", "Tiếp nhận", None, None, "Giải quyết", None])
    sheet.append(
        [
            None,
            None,
            None,
            None,
            "Tổng số",
            "Trực tuyến",
            "Trực tuyến toàn trình",
            "Tổng số",
            "Đúng hạn",
        ]
    )
    sheet.append([1, "Thái Nguyên", "Cấp tỉnh", "06/2024", 1250, 980, 610, 1200, 1176])
    sheet.append([2, "Bắc Ninh", "Cấp tỉnh", "06/2024", 900, second_online, 300, 880, 850])
    sheet.append([None, "Tổng cộng", None, None, 2150, 980 + second_online, 910, 2080, 2026])
    sheet.append(["Người lập biểu"])
    for span in ("E3:G3", "H3:I3", "A3:A4", "B3:B4", "C3:C4", "D3:D4"):
        sheet.merge_cells(span)
    book.save(path)


def test_two_row_header_under_a_title_with_merged_cells(tmp_path):
    path = tmp_path / "bao_cao.xlsx"
    _report_workbook(path, second_online=500)
    result = run([path], tmp_path / "out")
    assert (result.read, result.accepted) == (2, 2)
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    tn = row_of(frame, "Thái Nguyên", "2024-06-01")
    assert tn[["dossiers_received", "dossiers_online", "dossiers_fully_online"]].tolist() == [
        1250,
        980,
        610,
    ]
    assert tn[["dossiers_handled", "dossiers_on_time"]].tolist() == [1200, 1176]
    kinds = result.report.counts()
    assert kinds["totals_row"] == 1 and kinds["note_row"] == 1
    totals = next(p for p in result.report.problems if p.kind == "totals_row")
    assert (totals.row, totals.value) == (7, "Tổng cộng")


def test_two_row_header_rows_are_numbered_as_excel_shows_them(tmp_path):
    path = tmp_path / "bao_cao.xlsx"
    _report_workbook(path, second_online=950)  # 950 online of 900 received, on row 6
    with pytest.raises(IngestError) as caught:
        run([path], tmp_path / "out")
    problem = caught.value.report.problems[0]
    assert (problem.kind, problem.row, problem.column) == (
        "numerator_gt_denominator",
        6,
        "Tiếp nhận / Trực tuyến",
    )


def test_percent_formatted_excel_cells_and_derived_counts(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["Tỉnh", "Cấp", "Tháng", "Hồ sơ tiếp nhận", "Tỷ lệ trực tuyến", "Hồ sơ giải quyết"]
    )
    sheet.append(["Thái Nguyên", "Cấp tỉnh", "06/2024", 1250, 0.784, 5])
    sheet["E2"].number_format = "0.0%"
    sheet.append(["Bắc Ninh", "Cấp tỉnh", "06/2024", 5, 0.5, 0])
    sheet["E3"].number_format = "0%"
    book.save(tmp_path / "rates.xlsx")
    run([tmp_path / "rates.xlsx"], tmp_path / "out")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    # 78.4 % of 1250 = 980; 50 % of 5 = 2.5, rounded half up to 3.
    assert row_of(frame, "Thái Nguyên", "2024-06-01")["dossiers_online"] == 980
    assert row_of(frame, "Bắc Ninh", "2024-06-01")["dossiers_online"] == 3
    entry = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))["imports"][
        0
    ]
    derived = {
        (d["province"], d["month"], d["column"], d["row"], d["value"]) for d in entry["derived"]
    }
    assert derived == {
        ("Thái Nguyên", "2024-06", "dossiers_online", 2, 980),
        ("Bắc Ninh", "2024-06", "dossiers_online", 3, 3),
    }


def test_rates_and_totals_only_file_derives_counts(tmp_path):
    text = (
        "Tỉnh;Cấp;Tháng;Hồ sơ tiếp nhận;Tỷ lệ trực tuyến (%);Hồ sơ giải quyết;Tỷ lệ đúng hạn (%)\n"
        "Thái Nguyên;Cấp tỉnh;06/2024;1.250;78,4;1.200;98,0%\n"
        "Tổng cộng;;;1.250;78,4;1.200;98,0\n"
    )
    result = run([write(tmp_path, "rates.csv", text)], tmp_path / "out")
    got = row_of(panel.load(tmp_path / "out" / "panel.parquet"), "Thái Nguyên", "2024-06-01")
    assert (got["dossiers_online"], got["dossiers_on_time"]) == (980, 1176)  # 1250x.784, 1200x.98
    assert result.report.counts()["derived_count"] == 2


def test_rates_written_as_shares(tmp_path):
    text = (
        "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận,Tỷ lệ trực tuyến\nThái Nguyên,Cấp tỉnh,06/2024,1250,0.784\n"
    )
    result = run([write(tmp_path, "s.csv", text)], tmp_path / "out")
    got = row_of(panel.load(tmp_path / "out" / "panel.parquet"), "Thái Nguyên", "2024-06-01")
    assert got["dossiers_online"] == 980
    assert result.report.counts()["rates_as_shares"] == 1


def test_ambiguous_thousands_follow_the_file_convention(tmp_path):
    # "1.250" alone could be 1.25 or 1250; the file writes "78,4" (decimal comma), so it is 1250.
    vi = (
        "Tỉnh;Cấp;Tháng;Hồ sơ tiếp nhận;Tỷ lệ trực tuyến\nThái Nguyên;Cấp tỉnh;06/2024;1.250;78,4\n"
    )
    run([write(tmp_path, "vi.csv", vi)], tmp_path / "vi")
    assert (
        row_of(panel.load(tmp_path / "vi" / "panel.parquet"), "Thái Nguyên", "2024-06-01")[
            "dossiers_received"
        ]
        == 1250
    )
    # The English way: "1,250" and "78.4".
    en = 'Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận,Tỷ lệ trực tuyến\nThái Nguyên,Cấp tỉnh,06/2024,"1,250",78.4\n'
    run([write(tmp_path, "en.csv", en)], tmp_path / "en")
    got = row_of(panel.load(tmp_path / "en" / "panel.parquet"), "Thái Nguyên", "2024-06-01")
    assert (got["dossiers_received"], got["dossiers_online"]) == (1250, 980)


def test_separate_year_and_month_columns(tmp_path):
    text = "Năm,Tháng,Tỉnh,Cấp,Hồ sơ tiếp nhận\n2024,6,Thái Nguyên,Cấp tỉnh,10\n"
    run([write(tmp_path, "y.csv", text)], tmp_path / "out")
    assert (
        row_of(panel.load(tmp_path / "out" / "panel.parquet"), "Thái Nguyên", "2024-06-01")[
            "dossiers_received"
        ]
        == 10
    )


def test_names_follow_the_map_of_the_month(tmp_path):
    text = (
        f"{HEADER}\n"
        "Hà Giang,Cấp tỉnh,06/2025,300,200\n"  # old province, before the merger
        "Tuyên Quang,Cấp tỉnh,08/2025,900,700\n"  # new province (Hà Giang joined it)
        "Bắc Ninh,Cấp xã,08/2025,50,40\n"  # new Bắc Ninh, code 24
    )
    run([write(tmp_path, "b.csv", text)], tmp_path / "out")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    keys = set(zip(frame["boundary"], frame["province_code"], frame["province"], strict=True))
    assert keys == {
        ("old63", "02", "Hà Giang"),
        ("new34", "08", "Tuyên Quang"),
        ("new34", "24", "Bắc Ninh"),
    }


# --- strict, quarantine, re-import ------------------------------------------------------------

MIXED = (
    f"{HEADER}\n"
    "Thái Nguyên,Cấp tỉnh,06/2024,1250,980\n"
    "Tỉnh Xyz,Cấp tỉnh,06/2024,100,50\n"
    "Bắc Ninh,Cấp tỉnh,06/2024,-5,0\n"
    "Bắc Ninh,Cấp xã,06/2024,300,200\n"
)


def test_strict_writes_nothing_and_keeps_what_was_there(tmp_path):
    out = tmp_path / "out"
    good = write(tmp_path, "good.csv", f"{HEADER}\nThái Nguyên,Cấp tỉnh,05/2024,1000,700\n")
    run([good], out)
    before = {p.name: sha256(p) for p in out.iterdir()}
    with pytest.raises(IngestError) as caught:
        run([write(tmp_path, "mixed.csv", MIXED)], out)
    assert {p.name: sha256(p) for p in out.iterdir()} == before
    rendered = str(caught.value)
    assert "2 problem(s) found; nothing was written" in rendered
    assert "problems by kind:" in rendered
    assert "--quarantine" in caught.value.hint


def test_quarantine_writes_valid_rows_and_the_rejected_ones_beside(tmp_path):
    out = tmp_path / "out"
    result = run([write(tmp_path, "mixed.csv", MIXED)], out, quarantine=True)
    assert result.summary() == "read 4 = accepted 2 + rejected 2"
    assert (result.read, result.accepted, result.rejected) == (4, 2, 2)
    frame = panel.load(out / "panel.parquet")
    assert len(frame) == 2
    with open(out / "rejected_mixed.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["row"] for r in rows] == ["3", "4"]
    assert rows[0]["Tỉnh"] == "Tỉnh Xyz"
    assert "unknown province" in rows[0]["reason"]
    assert "Hồ sơ tiếp nhận" in rows[1]["reason"] and "negative" in rows[1]["reason"]
    assert result.outputs["rejected_mixed"] == out / "rejected_mixed.csv"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["imports"][0]
    assert (entry["read"], entry["accepted"], entry["rejected"]) == (4, 2, 2)
    assert entry["rejected_file"] == "rejected_mixed.csv" and entry["mode"] == "quarantine"


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    out = tmp_path / "out"
    path = write(tmp_path, "t6.csv", f"{HEADER}\nThái Nguyên,Cấp tỉnh,06/2024,1250,980\n")
    first = run([path], out)
    assert set(first.outputs) == {"panel", "manifest"}
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run([path], out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert again.outputs == {} and again.skipped == (str(path),)
    assert again.report.problems[0].kind == "already_imported"
    assert "nothing changed" in again.report.render()


def test_a_corrected_month_replaces_the_old_rows_and_is_logged(tmp_path):
    out = tmp_path / "out"
    v1 = write(
        tmp_path,
        "t6_v1.csv",
        f"{HEADER}\nThái Nguyên,Cấp tỉnh,06/2024,1250,980\nBắc Ninh,Cấp tỉnh,06/2024,900,300\n",
    )
    run([v1], out)
    v2 = write(tmp_path, "t6_v2.csv", f"{HEADER}\nThái Nguyên,Cấp tỉnh,T6/2024,1300,980\n")
    result = run([v2], out)
    frame = panel.load(out / "panel.parquet")
    assert row_of(frame, "Thái Nguyên", "2024-06-01")["dossiers_received"] == 1300
    assert row_of(frame, "Bắc Ninh", "2024-06-01")["dossiers_received"] == 900  # kept
    assert len(frame) == 2
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [e["sha256"] for e in manifest["imports"]] == [sha256(v1), sha256(v2)]
    replaced = manifest["imports"][1]["replaced"]
    assert len(replaced) == 1
    assert replaced[0]["province"] == "Thái Nguyên" and replaced[0]["month"] == "2024-06"
    assert replaced[0]["changes"] == {"dossiers_received": [1250, 1300]}
    assert result.report.counts()["replaced"] == 1
    assert manifest["files"]["panel.parquet"] == sha256(out / "panel.parquet")


def test_a_file_of_other_columns_keeps_the_counts_it_does_not_give(tmp_path):
    out = tmp_path / "out"
    run([write(tmp_path, "a.csv", f"{HEADER}\nThái Nguyên,Cấp tỉnh,06/2024,1250,980\n")], out)
    ratings = "Tỉnh,Cấp,Tháng,Lượt đánh giá,Lượt hài lòng\nThái Nguyên,Cấp tỉnh,06/2024,300,291\n"
    run([write(tmp_path, "b.csv", ratings)], out)
    got = row_of(panel.load(out / "panel.parquet"), "Thái Nguyên", "2024-06-01")
    assert got[
        ["dossiers_received", "dossiers_online", "ratings", "ratings_satisfied"]
    ].tolist() == [
        1250,
        980,
        300,
        291,
    ]


def test_two_files_disagreeing_on_a_month_are_both_named(tmp_path):
    a = write(tmp_path, "a.csv", f"{HEADER}\nThái Nguyên,Cấp tỉnh,06/2024,1250,980\n")
    b = write(tmp_path, "b.csv", f"{HEADER}\nThai Nguyen,tinh,2024-06,1300,980\n")
    with pytest.raises(IngestError) as caught:
        run([a, b], tmp_path / "out")
    found = [p for p in caught.value.report.problems if p.kind == "duplicate_conflict"]
    assert {(Path(p.file).name, p.row) for p in found} == {("a.csv", 2), ("b.csv", 2)}
    assert "b.csv" in found[0].message or "a.csv" in found[0].message


def test_identical_repeats_are_kept_once(tmp_path):
    text = (
        f"{HEADER}\nThái Nguyên,Cấp tỉnh,06/2024,1250,980\nThái Nguyên,Cấp tỉnh,06/2024,1250,980\n"
    )
    result = run([write(tmp_path, "r.csv", text)], tmp_path / "out")
    assert (result.read, result.accepted, result.rejected) == (2, 2, 0)
    assert len(panel.load(tmp_path / "out" / "panel.parquet")) == 1
    assert result.report.counts()["duplicate_row"] == 1


def test_the_kind_is_recognised_or_asked_for(tmp_path):
    path = write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(IngestError) as caught:
        ingest([path], out_dir=tmp_path / "out", today=TODAY)
    assert caught.value.report.problems[0].kind == "unknown_kind"
    assert "--kind" in str(caught.value)
    with pytest.raises(WorkbenchError):
        ingest([path], kind="weekly", out_dir=tmp_path / "out")


def test_dossier_files_go_to_the_dossier_importer(tmp_path, monkeypatch):
    calls = []

    def fake(path, out_dir, quarantine, report, **options):
        calls.append((Path(path), Path(out_dir), quarantine, isinstance(report, ProblemReport)))
        target = Path(out_dir) / "dossiers" / "d.parquet"
        target.parent.mkdir(parents=True)
        pd.DataFrame({"dossier": [1, 2, 3]}).to_parquet(target)
        return types.SimpleNamespace(
            read=3,
            accepted=3,
            rejected=0,
            outputs={"dossiers": target},
            personal_summary=lambda: "personal data: none found",
        )

    module = types.ModuleType("analysis.ingest.dossiers")
    module.ingest_dossiers = fake
    monkeypatch.setitem(sys.modules, "analysis.ingest.dossiers", module)
    path = write(
        tmp_path,
        "d.csv",
        "Mã hồ sơ,Tỉnh,Ngày tiếp nhận,Kênh nộp,Ngày hẹn trả,Thủ tục\nH1,Thái Nguyên,2024-06-01,2,2024-06-10,x\n",
    )
    out = tmp_path / "out"
    result = ingest([path], out_dir=out, today=TODAY)  # recognised as dossiers
    assert calls == [(path, out, False, True)]
    assert result.summary() == "read 3 = accepted 3 + rejected 0"
    assert result.outputs["dossiers d"] == out / "dossiers" / "d.parquet"
    entry = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["imports"][0]
    assert (entry["kind"], entry["read"], entry["sha256"]) == ("dossiers", 3, sha256(path))


# --- property-based: nothing but our errors, whatever the input -------------------------------

HEADERS = [
    "Tỉnh",
    "Cấp",
    "Tháng",
    "Hồ sơ tiếp nhận",
    "Hồ sơ trực tuyến",
    "Tỷ lệ đúng hạn (%)",
    "Hồ sơ giải quyết",
    "Năm",
    "Mã tỉnh",
    "STT",
    "",
    "Ghi chú",
    "Tổng cộng",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "Thái Nguyên",
            "HCM",
            "Hà Giang",
            "Cấp tỉnh",
            "xã",
            "huyện",
            "06/2024",
            "T13/2024",
            "2025-08",
            "Tổng cộng",
            "1.234",
            "1,234",
            "79,4%",
            "-3",
            "",
            "nan",
            "x",
            "0",
        ]
    ),
    st.integers(min_value=-10, max_value=10**7).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)


@st.composite
def tables(draw):
    headers = draw(st.lists(st.sampled_from(HEADERS), min_size=0, max_size=8))
    headers = draw(st.permutations(headers))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(headers) + 2), max_size=6))
    return [list(headers), *rows]


def _check(path: Path, out: Path, quarantine: bool, kind: str | None = "monthly") -> None:
    try:
        result = ingest([path], kind=kind, quarantine=quarantine, out_dir=out, today=TODAY)
    except (IngestError, WorkbenchError):
        return
    assert result.read == result.accepted + result.rejected
    if "panel" in result.outputs:
        panel.load(result.outputs["panel"])


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_random_bytes_never_crash_the_reader(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), f"r{suffix}", data)
        _check(path, Path(folder) / "out", quarantine=False, kind=None)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    table=tables(),
    fmt=st.sampled_from(["csv", "csv;", "utf16", "xlsx"]),
    quarantine=st.booleans(),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=300)),
)
def test_mangled_tables_never_crash_the_importer(table, fmt, quarantine, cut):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if fmt == "xlsx":
            book = openpyxl.Workbook()
            for row in table:
                # Excel cannot hold control characters: the writer refuses them, not our reader.
                book.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in row])
            book.save(folder / "t.xlsx")
            path = folder / "t.xlsx"
            if cut is not None:
                path.write_bytes(path.read_bytes()[: cut * 20])
        else:
            text = _text(table, ";" if fmt == "csv;" else ",")
            data = text.encode("utf-16") if fmt == "utf16" else text.encode("utf-8")
            path = write(folder, "t.csv", data[:cut] if cut is not None else data)
        _check(path, folder / "out", quarantine)


def test_without_kind_an_unreadable_file_says_what_it_is(tmp_path):
    with pytest.raises(IngestError) as caught:
        ingest(
            [CORPUS / "m13_png_as_csv.csv", CORPUS / "m10_empty.csv"],
            out_dir=tmp_path / "out",
            today=TODAY,
        )
    assert [p.kind for p in caught.value.report.problems] == ["binary_file", "empty_file"]


def test_a_rate_that_disagrees_with_its_counts_is_a_note(tmp_path):
    text = (
        "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận,Hồ sơ trực tuyến,Tỷ lệ trực tuyến (%)\n"
        "Thái Nguyên,Cấp tỉnh,06/2024,1000,500,62.5\n"  # 500 / 1000 = 50 %, not 62.5 %
    )
    result = run([write(tmp_path, "d.csv", text)], tmp_path / "out")
    note = next(p for p in result.report.problems if p.kind == "rate_disagrees")
    assert (note.row, note.column) == (2, "Tỷ lệ trực tuyến (%)")
    assert "50.0 %" in note.message
    assert (
        row_of(panel.load(tmp_path / "out" / "panel.parquet"), "Thái Nguyên", "2024-06-01")[
            "dossiers_online"
        ]
        == 500
    )
