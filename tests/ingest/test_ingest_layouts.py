"""The layouts provinces publish, read as written: every count kept, nothing invented.

Each file is written here with openpyxl or as CSV text; every expected count is a figure typed
into the file (sums worked out by hand in the comments), never the program's output. "Today" is
pinned so that "in the future" does not move.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import workbench, written

from analysis import config, i18n, panel
from analysis.errors import WorkbenchError
from analysis.ingest import IngestError, ingest, reading
from analysis.ingest.dossiers import level_of_agency

TODAY = "2025-10-15"


@pytest.fixture(autouse=True)
def installation(tmp_path, monkeypatch):
    """The dossier importer's salt goes to a throw-away data/processed."""
    monkeypatch.setattr(config, "PROCESSED_DIR", tmp_path / "installation" / "processed")


def run(paths, out: Path, **kw):
    return ingest(paths, kind=kw.pop("kind", "monthly"), out_dir=out, today=TODAY, **kw)


def kinds(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in result.report.problems:
        out.setdefault(p.kind, []).append(p)
    return out


# --- a province's monthly report, one sheet per month ----------------------------------------

# Per level: received, online, direct (= received - online). Month m adds m to the provincial
# level's received and direct counts, so that the two sheets differ.
LEVELS = [
    ("Cấp tỉnh (Sở, ban, ngành)", 1200, 900),
    ("Cấp huyện", 800, 400),
    ("UBND cấp xã", 500, 100),
]


def _month_sheet(sheet, month: int, *, totals: tuple[int, int] | None = None) -> None:
    sheet.append(
        ["UBND TỈNH BẮC NINH", None, None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    )
    sheet.append([f"BÁO CÁO KẾT QUẢ GIẢI QUYẾT TTHC THÁNG {month}/2023"])
    sheet.append([])
    sheet.append(["STT", "Cấp", "Tổng số hồ sơ tiếp nhận", "Trong đó", None, "Tỷ lệ (%)"])
    sheet.append([None, None, None, "Trực tuyến", "Trực tiếp", None])
    sheet.append(["(1)", "(2)", "(3)", "(4)", "(5)", "(6)=(4)/(3)"])
    sum_received = sum_online = 0
    for i, (label, received, online) in enumerate(LEVELS, start=1):
        received += month if i == 1 else 0
        sum_received += received
        sum_online += online
        rate = round(100 * online / received, 1)
        sheet.append([i, label, received, online, received - online, rate])
    total_received, total_online = totals or (sum_received, sum_online)
    sheet.append([None, "Tổng cộng", total_received, total_online, None, None])
    sheet.append([])
    sheet.append([None, "Bắc Ninh, ngày 5 tháng 2 năm 2023"])
    sheet.append([None, "NGƯỜI LẬP BIỂU", None, None, "GIÁM ĐỐC"])
    for span in ("D4:E4", "A4:A5", "B4:B5", "C4:C5", "F4:F5"):
        sheet.merge_cells(span)


def _province_report(path: Path, *, totals=None, hidden_sheet: bool = True) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "T01-2023"
    _month_sheet(first, 1, totals=totals)
    _month_sheet(book.create_sheet("T02-2023"), 2)
    if hidden_sheet:
        old = book.create_sheet("Cũ")
        _month_sheet(old, 3)
        old.sheet_state = "hidden"
    book.save(path)
    return path


def test_report_sheets_per_month_with_title_rows_and_an_of_which_header(tmp_path):
    path = _province_report(tmp_path / "bao_cao_bac_ninh.xlsx")
    result = run([path], tmp_path / "out")
    # 2 visible sheets x 3 levels; the hidden sheet (March) is reported, not imported.
    assert (result.read, result.accepted, result.rejected) == (6, 6, 0)
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert set(frame["province"]) == {"Bắc Ninh"} and set(frame["boundary"]) == {"old63"}
    got = {
        (f"{r.month:%Y-%m}", r.level): (r.dossiers_received, r.dossiers_online)
        for r in frame.itertuples()
    }
    assert got == {
        ("2023-01", "province"): (1201, 900),
        ("2023-01", "district"): (800, 400),
        ("2023-01", "commune"): (500, 100),
        ("2023-02", "province"): (1202, 900),
        ("2023-02", "district"): (800, 400),
        ("2023-02", "commune"): (500, 100),
    }
    # The rate column beside its counts is checked, not used: on_time etc. stay not reported.
    assert frame["dossiers_on_time"].isna().all()
    found = kinds(result)
    # Tổng cộng on each sheet: 1201 + 800 + 500 = 2501 (1202 ... = 2502) and 900+400+100 = 1400.
    assert [p.row for p in found["totals_row"]] == [10, 10]
    assert all("equal to the sum of the 3 row(s)" in p.message for p in found["totals_row"])
    assert [p.row for p in found["numbering_row"]] == [6, 6]
    assert "rate_disagrees" not in found
    ignored = {p.column for p in found["unknown_column"]}
    assert "Tổng số hồ sơ tiếp nhận / Trực tiếp" in ignored  # named, not silently dropped
    months = [p.message for p in found["key_from_file"] if p.message.startswith("month")]
    assert months == [
        "month 01/2023 taken from sheet name 'T01-2023'",
        "month 02/2023 taken from sheet name 'T02-2023'",
    ]
    assert any("'Cũ'" in p.message for p in found["hidden_sheet"])
    # Signature lines below the table: 2 per sheet, skipped as notes.
    assert len(found["note_row"]) == 4


def test_a_totals_row_that_disagrees_is_named_and_the_rows_kept(tmp_path):
    path = _province_report(tmp_path / "b.xlsx", totals=(2600, 1400), hidden_sheet=False)
    result = run([path], tmp_path / "out")
    assert result.accepted == 6
    (bad,) = kinds(result)["totals_mismatch"]
    # January: 1201 + 800 + 500 = 2501, typed as 2600.
    assert bad.row == 10 and "2600 ≠ 2501" in bad.message


def test_an_option_contradicting_the_file_is_refused_without_suggesting_quarantine(tmp_path):
    path = _province_report(tmp_path / "b.xlsx", hidden_sheet=False)
    with pytest.raises(IngestError) as caught:
        run([path], tmp_path / "out", period="2023-03")
    problem = caught.value.report.problems[0]
    assert problem.kind == "option_mismatch" and "01/2023" in problem.message
    assert "--quarantine" not in (caught.value.hint or "")
    assert not (tmp_path / "out" / "panel.parquet").exists()


def test_the_sheet_option_reads_one_sheet_even_a_hidden_one(tmp_path):
    path = _province_report(tmp_path / "b.xlsx")
    result = run([path], tmp_path / "out", sheet="Cũ")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert result.accepted == 3
    # The hidden sheet's title says March: 1200 + 3 at the provincial level.
    assert set(frame["month"].dt.strftime("%Y-%m")) == {"2023-03"}
    assert int(frame.loc[frame["level"] == "province", "dossiers_received"].iloc[0]) == 1203
    with pytest.raises(IngestError) as caught:
        run([path], tmp_path / "out2", sheet="T12")
    assert "'T01-2023'" in caught.value.report.problems[0].message


# --- tables without some keys -------------------------------------------------------------------


def test_a_province_wide_table_without_a_level_column_is_the_whole_province(tmp_path):
    path = tmp_path / "toan_tinh.csv"
    path.write_text(
        "Tỉnh,Tháng,Tổng số hồ sơ,Hồ sơ trực tuyến\n"
        "Thái Nguyên,01/2024,5000,3100\n"
        "Thái Nguyên,02/2024,4200,2900\n"
        "Tổng cộng,,9200,6000\n",
        encoding="utf-8",
    )
    result = run([path], tmp_path / "out")
    assert (result.read, result.accepted) == (2, 2)
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert set(frame["level"]) == {panel.ALL_LEVELS}
    assert frame["dossiers_received"].tolist() == [5000, 4200]
    assert frame["dossiers_online"].tolist() == [3100, 2900]
    assert frame["dossiers_handled"].isna().all()  # not given: missing, never 0
    found = kinds(result)
    assert any("whole province" in p.message for p in found["key_from_file"])
    (summary,) = found["columns_summary"]
    assert "dossiers_received ← 'Tổng số hồ sơ'" in summary.message
    assert "rates it feeds: online_rate;" in summary.message
    assert "on_time_rate" in summary.message.split("cannot feed:")[1]


def test_options_give_what_the_file_does_not_say_and_are_checked(tmp_path):
    path = tmp_path / "cap.csv"
    path.write_text(
        "Cấp,Tổng số hồ sơ tiếp nhận,Hồ sơ trực tuyến\n"
        '"Cấp tỉnh (Sở, ban, ngành)",700,560\n'
        "UBND cấp xã,300,90\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as caught:
        run([path], tmp_path / "out")  # neither the file nor an option gives the month
    assert {p.column for p in caught.value.report.problems} == {"Tỉnh", "Tháng"}
    result = run([path], tmp_path / "out", province="Thái Nguyên", period="2024-06")
    frame = panel.load(tmp_path / "out" / "panel.parquet").set_index("level")
    assert frame.loc["province", "dossiers_received"] == 700
    assert frame.loc["commune", "dossiers_online"] == 90
    assert set(frame["province"]) == {"Thái Nguyên"}
    assert result.accepted == 2

    named = tmp_path / "named.csv"
    named.write_text(
        "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận\nThái Nguyên,Cấp tỉnh,06/2024,10\n", encoding="utf-8"
    )
    with pytest.raises(IngestError) as caught:
        run([named], tmp_path / "out2", province="Bắc Ninh")
    assert caught.value.report.problems[0].kind == "option_mismatch"


def test_a_three_row_header_with_points_in_brackets(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Tỉnh", "Cấp", "Tháng", "Số hồ sơ tiếp nhận (hồ sơ)", None, None, None])
    sheet.append([None, None, None, "Tổng số", "Trong đó", None, None])
    sheet.append([None, None, None, None, "Trực tuyến", "Trực tiếp", "Qua bưu chính"])
    sheet.append(["Thái Nguyên", "Cấp xã", "05/2024", 610, 400, 200, 10])
    for span in ("D1:G1", "E2:G2", "D2:D3", "A1:A3", "B1:B3", "C1:C3"):
        sheet.merge_cells(span)
    book.save(tmp_path / "ba_hang.xlsx")
    result = run([tmp_path / "ba_hang.xlsx"], tmp_path / "out")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert (result.accepted, int(frame["dossiers_received"].iloc[0])) == (1, 610)
    assert int(frame["dossiers_online"].iloc[0]) == 400


def test_score_headers_with_points_in_brackets(tmp_path):
    path = tmp_path / "diem.csv"
    path.write_text(
        'Đơn vị,Cấp,Kỳ,"Công khai, minh bạch (18đ)","Tiến độ, kết quả giải quyết (20đ)",'
        "Dịch vụ công trực tuyến (12đ),Thanh toán trực tuyến (10đ),Mức độ hài lòng (18đ),"
        "Số hóa hồ sơ (22đ),Tổng điểm (100đ)\n"
        "Thái Nguyên,Cấp tỉnh,Tháng 8/2025,15.5,18.2,10.1,8.4,17.6,19.3,89.1\n",
        encoding="utf-8",
    )
    run([path], tmp_path / "out", kind="scores")
    got = pd.read_parquet(tmp_path / "out" / "scores.parquet").iloc[0]
    # 15.5 + 18.2 + 10.1 + 8.4 + 17.6 + 19.3 = 89.1
    assert (got["publicity"], got["digitisation"], got["total"]) == (15.5, 19.3, 89.1)


def test_level_words_as_reports_write_them():
    assert reading.parse_level("Cấp tỉnh (Sở, ban, ngành)") == "province"
    assert reading.parse_level("UBND cấp xã") == "commune"
    assert reading.parse_level("2. Cấp huyện") == "district"
    assert reading.parse_level("Cấp bộ") is None


# --- workbooks read faithfully ------------------------------------------------------------------


def _simple_book(rows: int) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Tỉnh", "Cấp", "Tháng", "Hồ sơ tiếp nhận", "Hồ sơ trực tuyến"])
    for m in range(1, rows + 1):
        sheet.append(
            [
                "Thái Nguyên",
                "Cấp tỉnh",
                f"{(m - 1) % 12 + 1:02d}/{2015 + (m - 1) // 12}",
                100 + m,
                m,
            ]
        )
    return book


def _rewrite(path: Path, part: str, change) -> None:
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items[part] = change(items[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in items.items():
            z.writestr(n, data)


def test_a_stale_stored_sheet_size_loses_no_row(tmp_path):
    path = tmp_path / "stale.xlsx"
    _simple_book(5).save(path)
    # Claim the sheet ends at row 2, column C, as some exporters leave it.
    _rewrite(path, "xl/worksheets/sheet1.xml", lambda x: x.replace(b'ref="A1:E6"', b'ref="A1:C2"'))
    assert b'ref="A1:C2"' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    result = run([path], tmp_path / "out")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert result.accepted == 5
    assert frame["dossiers_received"].tolist() == [101, 102, 103, 104, 105]


def test_hidden_rows_are_reported_and_skipped(tmp_path):
    book = _simple_book(3)
    book.active.row_dimensions[3].hidden = True  # the second data row, 02/2015
    book.save(tmp_path / "hidden.xlsx")
    result = run([tmp_path / "hidden.xlsx"], tmp_path / "out")
    assert result.accepted == 2
    (note,) = kinds(result)["hidden_rows"]
    assert "rows 3" in note.message


def test_a_formula_without_a_saved_value_is_refused_naming_the_cell(tmp_path):
    book = _simple_book(2)
    book.active["D3"] = "=D2+5"  # openpyxl saves formulas without computing them
    book.save(tmp_path / "formula.xlsx")
    with pytest.raises(IngestError) as caught:
        run([tmp_path / "formula.xlsx"], tmp_path / "out")
    problem = caught.value.report.problems[0]
    assert (problem.kind, problem.column, problem.row) == ("formula_without_value", "D3", 3)
    assert "=D2+5" in problem.message and "--quarantine" not in caught.value.hint


def test_a_password_protected_workbook_is_named_as_such(tmp_path):
    # An encrypted workbook is an OLE2 container holding an "EncryptedPackage" stream.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    path = tmp_path / "mat_khau.xlsx"
    path.write_bytes(header + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024)
    with pytest.raises(IngestError) as caught:
        run([path], tmp_path / "out")
    assert caught.value.report.problems[0].kind == "password_protected"


def test_a_sheet_beyond_the_size_limit_is_refused_quickly(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_SHEET_ROWS", 50)
    _simple_book(60).save(tmp_path / "big.xlsx")
    with pytest.raises(IngestError) as caught:
        run([tmp_path / "big.xlsx"], tmp_path / "out")
    problem = caught.value.report.problems[0]
    assert problem.kind == "too_large" and "50" in problem.message


def test_a_title_row_workbook_is_recognised_as_monthly(tmp_path):
    path = _province_report(tmp_path / "b.xlsx", hidden_sheet=False)
    assert reading.sniff_kind(path) == "monthly"


# --- messages -----------------------------------------------------------------------------------


def test_file_level_errors_do_not_suggest_quarantine(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, _, stderr = workbench("ingest", path, "--kind", "monthly", "--out", tmp_path / "out")
    assert code != 0 and "Traceback" not in stderr
    assert "--quarantine" not in stderr


def test_a_quarantine_import_that_keeps_no_row_exits_non_zero(tmp_path):
    path = tmp_path / "all_bad.csv"
    path.write_text(
        "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận\nThái Nguyên,Cấp tỉnh,06/2024,-5\nAtlantis,Cấp tỉnh,06/2024,3\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, _, stderr = workbench("ingest", path, "--kind", "monthly", "--quarantine", "--out", out)
    assert code != 0 and "Traceback" not in stderr
    assert "every row of a file was rejected" in stderr
    assert not (out / "panel.parquet").exists() and not (out / "manifest.json").exists()


# --- dossier exports lacking columns --------------------------------------------------------------

AGENCIES = ("UBND xã Phú Lâm", "Sở Tư pháp", "UBND huyện Tiên Du")


def _dossier_export(path: Path) -> Path:
    """60 dossiers of May 2024, no province, level, sync, payment, digitisation or rating
    column; two columns the schema does not know."""
    lines = [
        "Mã hồ sơ,Cơ quan giải quyết,Tên thủ tục,Ngày tiếp nhận,Kênh nộp,Hạn xử lý,"
        "Ngày hoàn thành,synced_national,full_online"
    ]
    for i in range(60):
        channel = "Trực tuyến" if i % 2 else "Trực tiếp"
        finished = "10/05/2024" if i % 4 else "20/05/2024"  # every 4th after its due date
        lines.append(
            f"H{i:03d},{AGENCIES[i % 3]},Chứng thực bản sao,02/05/2024,{channel},15/05/2024,"
            f"{finished},1,1"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_levels_from_agency_names():
    assert [level_of_agency(a) for a in AGENCIES] == ["commune", "province", "district"]
    assert level_of_agency("UBND thành phố Bắc Ninh") is None  # district or province: unsaid


def test_a_dossier_export_without_columns_scores_them_not_computed(tmp_path):
    from analysis.index766 import score

    out = tmp_path / "out"
    result = ingest(
        [_dossier_export(tmp_path / "ho_so.csv")],
        kind="dossiers",
        out_dir=out,
        today=TODAY,
        province="Bắc Ninh",
    )
    assert (result.read, result.accepted) == (60, 60)
    table = pq.read_table(out / "dossiers" / "ho_so.parquet")
    frame = table.to_pandas()
    # Every third dossier per agency: 20 commune, 20 province, 20 district.
    assert frame["level"].value_counts().to_dict() == {
        "commune": 20,
        "province": 20,
        "district": 20,
    }
    assert set(frame["province"]) == {"Bắc Ninh"}
    assert frame["synced"].isna().all() and frame["rating"].isna().all()
    absent = json.loads(table.schema.metadata[b"absent_columns"])
    assert {"synced", "paid_online", "components_digitised", "data_reused", "rating"} <= set(absent)
    assert "level" not in absent and "province" not in absent
    found = kinds(result)
    (ignored,) = found["columns_ignored"]
    assert "'synced_national'" in ignored.message and "'full_online'" in ignored.message

    scored = score(out / "dossiers", period="2024Q2")
    comps = scored.components.set_index("component")
    for cid in ("1.4", "3.6", "4.2", "4.3", "5.4"):  # sync, payment, digitised, reuse, rating
        assert comps.loc[cid, "status"] == "not_computed", cid
        assert pd.isna(comps.loc[cid, "points"]), cid
    assert "had no column synced" in comps.loc["1.4", "reason"]


def test_documents_render_from_received_and_online_counts_only(tmp_path):
    """Report, brief and scorecard from files that give only what the brief needs."""
    from analysis.documents import brief, quarterly, scorecard

    lines = ["Tỉnh,Tháng,Tổng số hồ sơ,Hồ sơ trực tuyến"]
    for i in range(48):  # 01/2021 - 12/2024
        year, month = 2021 + i // 12, i % 12 + 1
        lines.append(f"Bắc Ninh,{month:02d}/{year},{10000 + 10 * i},{3000 + 50 * i}")
    (tmp_path / "bn.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    run([tmp_path / "bn.csv"], data)

    report = quarterly.prepare("Bắc Ninh", "2023Q3", data_path=str(data))
    shown = [
        quarterly.key_finding(report),
        *quarterly.index_tables(report),
        quarterly.indicators_table(report),
        quarterly.indicators_chart(report),
        *quarterly.effects_table(report),
        *quarterly.weakest_table(report),
        quarterly.recommendations(report),
        quarterly.limits(report),
    ]
    assert all(block is not None for block in shown)
    rows = report.indicators.set_index("indicator")
    # 2023Q3 = months i = 30, 31, 32: received 10300 + 10310 + 10320 = 30930,
    # online 4500 + 4550 + 4600 = 13650.
    assert (rows.loc["online_rate", "numerator"], rows.loc["online_rate", "denominator"]) == (
        13650,
        30930,
    )
    assert pd.isna(rows.loc["on_time_rate", "rate"])  # not reported: no rate, not 0 %
    table = quarterly.indicators_table(report).frame.set_index(
        i18n.label("quarterly_indicator", "vi")
    )
    shown_rank = table[i18n.label("rank", "vi")]
    # One province in the data: ranked 1st of 1 on the online share, not ranked elsewhere.
    assert shown_rank.iloc[0] == "1/1" and set(shown_rank.iloc[1:]) == {i18n.MISSING}

    b = brief.prepare(None, "bac-ninh-directive-10", data_path=str(data))
    for block in (
        brief.key_finding(b),
        brief.observed_chart(b),
        brief.estimates(b),
        brief.limits(b),
    ):
        assert block is not None

    with pytest.raises(WorkbenchError, match="do not report dossiers_on_time"):
        brief.prepare(None, "bac-ninh-directive-10", outcome="on_time_rate", data_path=str(data))

    out = tmp_path / "dossier_data"
    ingest([_dossier_export(tmp_path / "ho_so.csv")], kind="dossiers", out_dir=out,
           today=TODAY, province="Bắc Ninh")  # fmt: skip
    card = scorecard.prepare("Bắc Ninh", "2024Q2", dossiers_path=str(out / "dossiers"))
    headline = scorecard.headline(card).text
    lost = scorecard.lost_table(card).frame
    for block in (
        scorecard.groups_table(card),
        scorecard.ranking(card),
        scorecard.trend_chart(card),
    ):
        assert block is not None
    # Sync (1.4) and payment (3.6) are not computed: named as such, never as points lost.
    assert "chưa tính được" in headline and "1.4" in headline.split("chưa tính được")[1]
    status = dict(zip(lost.iloc[:, 0].str.split(" ").str[0], lost.iloc[:, -1], strict=True))
    assert status["1.4"] == status["3.6"] == "chưa tính (thiếu dữ liệu đầu vào)"

    # The same records beside the panel: the report says the index cannot be computed.
    shutil.copytree(out / "dossiers", data / "dossiers")
    report = quarterly.prepare("Bắc Ninh", "2024Q2", data_path=str(data))
    assert quarterly.key_finding(report).text.startswith("Bộ chỉ số 766 chưa tính được")
    assert all(block is not None for block in quarterly.weakest_table(report))


def test_a_dossier_province_other_than_the_option_is_refused(tmp_path):
    path = tmp_path / "hai_tinh.csv"
    path.write_text(
        "Mã hồ sơ,Tỉnh,Cơ quan giải quyết,Tên thủ tục,Ngày tiếp nhận,Kênh nộp,Hạn xử lý\n"
        "H1,Bắc Ninh,Sở Tư pháp,Chứng thực,02/05/2024,Trực tuyến,15/05/2024\n"
        "H2,,Sở Tư pháp,Chứng thực,02/05/2024,Trực tuyến,15/05/2024\n"
        "H3,Hà Nội,Sở Tư pháp,Chứng thực,02/05/2024,Trực tuyến,15/05/2024\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as caught:
        ingest([path], kind="dossiers", out_dir=tmp_path / "out", today=TODAY, province="Bắc Ninh")
    # Row 3's blank province is the option's; row 4 names another province.
    rows = [(p.row, p.kind) for p in caught.value.report.problems if p.kind == "option_mismatch"]
    assert rows == [(4, "option_mismatch")]


def test_a_dossier_quarantine_that_keeps_no_row_writes_nothing(tmp_path):
    path = tmp_path / "xau.csv"
    path.write_text(
        "Mã hồ sơ,Tỉnh,Cấp,Tên thủ tục,Ngày tiếp nhận,Kênh nộp,Hạn xử lý\n"
        "H1,Atlantis,Cấp tỉnh,Chứng thực,02/05/2024,Trực tuyến,15/05/2024\n"
        "H2,Bắc Ninh,Cấp bộ,Chứng thực,02/05/2024,Trực tuyến,15/05/2024\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    with pytest.raises(IngestError) as caught:
        ingest([path], kind="dossiers", out_dir=out, today=TODAY, quarantine=True)
    assert "every row of a file was rejected" in caught.value.hint
    assert not (out / "dossiers").exists() or not any((out / "dossiers").iterdir())


def test_a_rate_column_that_disagrees_with_its_counts_is_named(tmp_path):
    path = tmp_path / "ty_le.csv"
    # 300 of 1000 online is 30,0 %; the file says 45.
    path.write_text(
        "Tỉnh,Cấp,Tháng,Tổng số hồ sơ tiếp nhận,Hồ sơ trực tuyến,Tỷ lệ trực tuyến (%)\n"
        "Thái Nguyên,Cấp tỉnh,06/2024,1000,300,45\n",
        encoding="utf-8",
    )
    result = run([path], tmp_path / "out")
    (note,) = kinds(result)["rate_disagrees"]
    assert note.row == 2 and "30.0 %" in note.message
    assert int(panel.load(tmp_path / "out" / "panel.parquet")["dossiers_online"].iloc[0]) == 300


def test_without_a_rating_column_satisfaction_is_not_computed(tmp_path):
    from analysis.index766 import score

    header = (
        "Mã hồ sơ,Tỉnh,Cấp,Tên thủ tục,Ngày tiếp nhận,Kênh nộp,Hạn xử lý,Ngày hoàn thành,"
        "Số lần yêu cầu bổ sung,Đồng bộ DVCQG"
    )
    rows = [
        f"H{i},Bắc Ninh,Cấp tỉnh,Chứng thực,02/05/2024,Trực tuyến,15/05/2024,10/05/2024,0,"
        f"{1 if i < 3 else 0}"
        for i in range(4)
    ]
    path = tmp_path / "khong_danh_gia.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ingest([path], kind="dossiers", out_dir=tmp_path / "out", today=TODAY)
    comps = score(tmp_path / "out" / "dossiers", period="2024Q2").components.set_index("component")
    assert comps.loc["5.4", "status"] == "not_computed"
    assert "had no column rating" in comps.loc["5.4", "reason"]
    # The sync column is there: 3 of 4 dossiers synced, computed as such.
    assert comps.loc["1.4", "status"] == "ok"
    assert (comps.loc["1.4", "numerator"], comps.loc["1.4", "denominator"]) == (3, 4)


def test_a_rate_under_its_group_and_a_count_under_a_channel(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Tỉnh", "Cấp", "Tháng", "Hồ sơ tiếp nhận", "Trực tuyến", None])
    sheet.append([None, None, None, None, "Số hồ sơ", "Tỷ lệ (%)"])
    sheet.append(["Thái Nguyên", "Cấp tỉnh", "06/2024", 800, 200, 25])
    sheet.merge_cells("E1:F1")
    book.save(tmp_path / "nhom.xlsx")
    result = run([tmp_path / "nhom.xlsx"], tmp_path / "out")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert int(frame["dossiers_online"].iloc[0]) == 200
    assert "rate_disagrees" not in kinds(result)  # 200 / 800 = 25 %, as typed


def test_hidden_rows_are_imported_when_asked(tmp_path):
    book = _simple_book(3)
    book.active.row_dimensions[3].hidden = True
    book.save(tmp_path / "hidden.xlsx")
    result = run([tmp_path / "hidden.xlsx"], tmp_path / "out", hidden_rows=True)
    assert result.accepted == 3 and "hidden_rows" not in kinds(result)


def test_a_summary_sheet_beside_the_month_sheets_is_left_out(tmp_path):
    path = _province_report(tmp_path / "b.xlsx", hidden_sheet=False)
    book = openpyxl.load_workbook(path)
    summary = book.create_sheet("Tổng hợp")
    summary.append(["UBND TỈNH BẮC NINH"])
    summary.append(["BÁO CÁO TỔNG HỢP QUÝ I/2023"])
    summary.append(["Cấp", "Tổng số hồ sơ tiếp nhận", "Hồ sơ trực tuyến"])
    summary.append(["Cấp tỉnh", 3603, 2700])
    book.save(path)
    result = run([path], tmp_path / "out")
    assert result.accepted == 6  # the two month sheets, as in the first test
    (note,) = kinds(result)["summary_sheet"]
    assert "Tổng hợp" in note.file


def test_the_command_takes_the_options(tmp_path):
    path = tmp_path / "cap.csv"
    path.write_text(
        "Cấp,Tổng số hồ sơ tiếp nhận,Hồ sơ trực tuyến\nCấp xã,300,90\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    code, stdout, stderr = workbench("ingest", path, "--kind", "monthly", "--province",
                                     "Thái Nguyên", "--period", "2024-06", "--level", "commune",
                                     "--out", out)  # fmt: skip
    assert code == 0, stderr
    assert "read 1 = accepted 1 + rejected 0" in stderr + stdout
    frame = panel.load(out / "panel.parquet")
    assert (frame["level"].iloc[0], int(frame["dossiers_online"].iloc[0])) == ("commune", 90)


def test_a_sheet_whose_name_and_title_name_different_months_is_refused(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "T01-2023"
    _month_sheet(sheet, 2)  # copied from January, title changed to February, name not
    book.save(tmp_path / "sao_chep.xlsx")
    with pytest.raises(IngestError) as caught:
        run([tmp_path / "sao_chep.xlsx"], tmp_path / "out")
    problem = caught.value.report.problems[0]
    assert problem.kind == "month_conflict" and "01/2023" in problem.message
    result = run([tmp_path / "sao_chep.xlsx"], tmp_path / "out", period="2023-02")
    frame = panel.load(tmp_path / "out" / "panel.parquet")
    assert result.accepted == 3 and set(frame["month"].dt.month) == {2}


def test_the_signing_date_above_the_header_is_not_the_month():
    from analysis.ingest.monthly import month_of_text

    assert month_of_text("Số: 12/BC-UBND  Bắc Ninh, ngày 5 tháng 2 năm 2023") is None
    assert month_of_text("BÁO CÁO KẾT QUẢ GIẢI QUYẾT TTHC THÁNG 1/2023") == pd.Timestamp("2023-01")
    assert month_of_text("Từ tháng 1/2023 đến tháng 3/2023") is None  # a span, not a month


def test_a_dossier_export_with_title_lines_above_its_header(tmp_path):
    path = tmp_path / "tieu_de.csv"
    path.write_text(
        "DANH SÁCH HỒ SƠ TIẾP NHẬN,,,,,,\n"
        "Từ ngày 01/05/2024 đến ngày 31/05/2024,,,,,,\n"
        "Mã hồ sơ,Tỉnh,Cấp,Tên thủ tục,Ngày tiếp nhận,Kênh nộp,Hạn xử lý\n"
        "H1,Bắc Ninh,Cấp tỉnh,Chứng thực,02/05/2024,Trực tuyến,15/05/2024\n"
        "H2,Bắc Ninh,Cấp xã,Chứng thực,03/05/2024,Trực tiếp,16/05/2024\n"
        "H3,Bắc Ninh,Cấp bộ,Chứng thực,03/05/2024,Trực tiếp,16/05/2024\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as caught:
        ingest([path], kind="dossiers", out_dir=tmp_path / "out", today=TODAY)
    # Header on row 3, so "Cấp bộ" is on row 6 as the spreadsheet shows it.
    (bad,) = [p for p in caught.value.report.problems if p.kind == "unknown_level"]
    assert (bad.row, bad.column) == (6, "Cấp")
    result = ingest([path], kind="dossiers", out_dir=tmp_path / "out", today=TODAY, quarantine=True)
    frame = pd.read_parquet(tmp_path / "out" / "dossiers" / "tieu_de.parquet")
    assert (result.accepted, result.rejected) == (2, 1)
    assert frame["source_row"].tolist() == [4, 5] and frame["level"].tolist() == [
        "province",
        "commune",
    ]


def test_a_yes_no_column_left_empty_throughout_is_not_a_column_of_noes(tmp_path):
    from analysis.index766 import score

    header = "Mã hồ sơ,Tỉnh,Cấp,Tên thủ tục,Ngày tiếp nhận,Kênh nộp,Hạn xử lý,Đồng bộ DVCQG"
    rows = [
        f"H{i},Bắc Ninh,Cấp tỉnh,Chứng thực,02/05/2024,Trực tuyến,15/05/2024," for i in range(5)
    ]
    path = tmp_path / "cot_trong.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = ingest([path], kind="dossiers", out_dir=tmp_path / "out", today=TODAY)
    table = pq.read_table(tmp_path / "out" / "dossiers" / "cot_trong.parquet")
    assert table.column("synced").null_count == 5  # not 5 times "not synced"
    assert "synced" in json.loads(table.schema.metadata[b"absent_columns"])
    assert "'Đồng bộ DVCQG'" in kinds(result)["empty_column"][0].message
    comps = score(tmp_path / "out" / "dossiers", period="2024Q2").components.set_index("component")
    assert comps.loc["1.4", "status"] == "not_computed"


@pytest.mark.render
def test_the_report_command_renders_from_received_and_online_counts_only(tmp_path):
    lines = ["Tỉnh,Tháng,Tổng số hồ sơ,Hồ sơ trực tuyến"]
    for i in range(24):  # 01/2022 - 12/2023
        lines.append(f"Bắc Ninh,{i % 12 + 1:02d}/{2022 + i // 12},{8000 + 10 * i},{2000 + 40 * i}")
    (tmp_path / "bn.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    assert workbench("ingest", tmp_path / "bn.csv", "--out", data)[0] == 0
    code, stdout, stderr = workbench("report", "--province", "Bắc Ninh", "--quarter", "2023Q3",
                                     "--data", data, "--out", tmp_path / "rep", "--format", "html")  # fmt: skip
    assert code == 0, stderr
    html = written(stdout)["html"].read_text(encoding="utf-8")
    # 2023Q3 = months 18-20: online 2720 + 2760 + 2800 = 8280 of 8180 + 8190 + 8200 = 24570,
    # 33,7 %; the rates the file does not feed show the dash, not 0 %.
    assert "33,7" in html and "Traceback" not in html
    assert "nan/" not in html


def test_quarantine_refuses_to_drop_a_whole_file_beside_a_good_one(tmp_path):
    good = tmp_path / "tot.csv"
    good.write_text("Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận\nThái Nguyên,Cấp tỉnh,05/2024,10\n", "utf-8")
    bad = tmp_path / "xau.csv"
    bad.write_text("Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận\nAtlantis,Cấp tỉnh,05/2024,10\n", "utf-8")
    with pytest.raises(IngestError) as caught:
        run([good, bad], tmp_path / "out", quarantine=True)
    assert "every row of a file was rejected" in caught.value.hint
    assert [p.file for p in caught.value.report.problems if p.kind == "no_row_kept"] == [str(bad)]
    assert not (tmp_path / "out" / "panel.parquet").exists()
