"""Portal index results -> scores.parquet: JSON and CSV exports, hand-typed notices, settings.

The example scores are the templates' (15.5 + 18.2 + 10.1 + 8.4 + 17.6 + 19.3 = 89.1, summed by
hand). "Today" is pinned to 15/10/2025.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_corpus.make_corpus import HERE as CORPUS
from ingest_corpus.make_corpus import PORTAL_HEADER, corpus, record

from analysis import config
from analysis.errors import WorkbenchError
from analysis.ingest import IngestError, ingest, scores, templates

TODAY = "2025-10-15"
EXAMPLE = {
    "publicity": 15.5,
    "timeliness": 18.2,
    "online_service": 10.1,
    "online_payment": 8.4,
    "satisfaction": 17.6,
    "digitisation": 19.3,
    "total": 89.1,
}


def run(paths, out: Path, **kw):
    today = kw.pop("today", TODAY)
    return ingest(paths, kind=kw.pop("kind", "scores"), out_dir=out, today=today, **kw)


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read_scores(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "scores.parquet")


def one(frame: pd.DataFrame, unit: str, period: str) -> pd.Series:
    hit = frame[(frame["unit"] == unit) & (frame["period"] == period)]
    assert len(hit) == 1, frame
    return hit.iloc[0]


# --- corpus -----------------------------------------------------------------------------------

CASES = {
    "s01_score_above_max_2024-05.json": ("score_above_max", 2, "CKMB", "18"),
    "s02_total_mismatch_2024-05.csv": ("total_mismatch", 3, "TONG_SCORE", "87.00"),
    "s05_unknown_province.json": ("unknown_province", 3, "TEN", "Tỉnh Bắc Trung"),
    "s06_missing_columns_2024-05.csv": ("missing_columns", 1, "MDSH", "digitisation"),
    "s07_period_before_range.csv": ("period_out_of_range", 2, "Kỳ", "05/2021"),
    "s08_text_in_number.csv": ("not_a_number", 3, "Mức độ hài lòng", "mười tám"),
    "s09_truncated_2024-05.json": ("truncated_file", None, None, "cut short"),
    "s10_no_period.json": ("missing_period", None, "Kỳ đánh giá", "file name"),
    "s11_negative_score_2024-05.csv": ("negative_score", 3, "CKMB", "-1"),
    "s12_unknown_level.csv": ("unknown_level", 3, "Cấp", "Cấp bộ"),
    "s13_duplicate_conflict_2024-05.json": ("duplicate_conflict", 3, "CKMB", "row 1"),
    "s14_period_in_future.json": ("period_in_future", 1, "period", "01/2099"),
    "s15_payment_above_max_2024-05.csv": ("score_above_max", 2, "TTTT", "swap TTTT and CLGQ"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_malformed_scores_file_names_its_row_and_column(name, tmp_path):
    kind, row, column, words = CASES[name]
    out = tmp_path / "out"
    with pytest.raises(IngestError) as caught:
        run([CORPUS / name], out)
    found = [p for p in caught.value.report.problems if p.kind == kind]
    assert found, caught.value.report.render()
    problem = next((p for p in found if p.row == row), found[0])
    assert (problem.row, problem.column) == (row, column), str(problem)
    assert words in str(caught.value)
    if row is not None:
        assert f"row {row}" in str(problem)
    assert not out.exists() or not any(out.iterdir())


def test_every_scores_corpus_file_is_tested():
    made = {n for n in corpus() if n.startswith("s") and not n.endswith(".yaml")}
    assert made - set(CASES) == {"s04_unmapped_column_2024-05.csv"}  # tested below


def test_settings_with_an_unknown_group_name_the_key_and_value(tmp_path):
    with pytest.raises(WorkbenchError) as caught:
        run(
            [CORPUS / "s01_score_above_max_2024-05.json"],
            tmp_path,
            portal_columns=CORPUS / "s03_settings_unknown_group.yaml",
        )
    text = str(caught.value)
    assert "s03_settings_unknown_group.yaml" in text
    assert "TTTT" in text and "thanh_toan" in text and "online_payment" in text


def test_a_portal_column_the_settings_do_not_map(tmp_path):
    with pytest.raises(IngestError) as caught:
        run(
            [CORPUS / "s04_unmapped_column_2024-05.csv"],
            tmp_path,
            portal_columns=CORPUS / "s04_settings_without_tttt.yaml",
        )
    problem = caught.value.report.problems[0]
    assert (problem.kind, problem.row, problem.column) == ("unknown_mapping", 1, "TTTT")
    assert "s04_settings_without_tttt.yaml" in problem.hint


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("columns: {CKMB: publicity, TDGQ: publicity}\n", "CKMB and TDGQ"),
        ("columns: [CKMB]\n", "no 'columns' mapping"),
        (
            "columns: {CKMB: publicity}\nmax_points: {publicity: 18, timeliness: 20, "
            "online_service: 12, online_payment: 10, satisfaction: 18, digitisation: 2}\n",
            "add to 80",
        ),
        ("columns: {CKMB: publicity}\nmax_points: {publicity: 18}\n", "every group"),
        ("columns: {CKMB: publicity\n", "not valid YAML"),
    ],
)
def test_settings_mistakes(text, fragment, tmp_path):
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(WorkbenchError) as caught:
        scores.load_settings(path)
    assert fragment in str(caught.value)


# --- formats ----------------------------------------------------------------------------------


def test_portal_json_list_with_the_period_in_the_file_name(tmp_path):
    path = write(
        tmp_path,
        "chi-so-2024-05.json",
        json.dumps([record(), record("Bắc Ninh", ID="27")], ensure_ascii=False),
    )
    result = run([path], tmp_path / "out")
    assert result.summary() == "read 2 = accepted 2 + rejected 0"
    frame = read_scores(tmp_path / "out")
    assert list(frame.columns) == scores.OUTPUT_COLUMNS
    got = one(frame, "Thái Nguyên", "2024-05")
    assert got[list(EXAMPLE)].tolist() == list(EXAMPLE.values())
    assert (got["boundary"], got["province_code"], got["level"], got["unit_id"]) == (
        "old63",
        "19",
        "province",
        "19",
    )


def test_portal_json_object_with_data_and_period(tmp_path):
    payload = {"period": "Quý 1/2025", "data": [record("TP HCM", ID="79")]}
    path = write(tmp_path, "export.json", json.dumps(payload, ensure_ascii=False))
    run([path], tmp_path / "out")
    got = one(read_scores(tmp_path / "out"), "Hồ Chí Minh", "2025-Q1")
    assert got["province_code"] == "79" and got["total"] == 89.1


def test_the_settings_decide_which_column_is_payment(tmp_path):
    swapped = (config.CONFIG_DIR / "portal_columns.yaml").read_text(encoding="utf-8")
    swapped = swapped.replace("TTTT: online_payment", "TTTT: @").replace(
        "CLGQ: online_service", "CLGQ: online_payment"
    )
    settings_file = write(
        tmp_path, "swapped.yaml", swapped.replace("TTTT: @", "TTTT: online_service")
    )
    # With the swap, TTTT (8.4) is online service and CLGQ (10.1) ... is above payment's 10.
    path = write(
        tmp_path,
        "p_2024-05.csv",
        f"{PORTAL_HEADER}\n19,Thái Nguyên,15.5,18.2,10.1,8.4,17.6,19.3,89.1\n",
    )
    run([path], tmp_path / "out", portal_columns=settings_file)
    got = one(read_scores(tmp_path / "out"), "Thái Nguyên", "2024-05")
    assert (got["online_service"], got["online_payment"]) == (10.1, 8.4)
    # The default settings read the same file the other way round, and 10.1 > 10 is refused.
    with pytest.raises(IngestError) as caught:
        run([path], tmp_path / "default")
    problem = caught.value.report.problems[0]
    assert (problem.kind, problem.column) == ("score_above_max", "TTTT")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_round_trip(suffix, tmp_path):
    template = config.DATA_DIR / "templates" / f"{templates.SCORES_STEM}{suffix}"
    result = ingest([template], out_dir=tmp_path, today=TODAY)  # kind recognised
    assert (result.read, result.accepted) == (1, 1)
    got = one(read_scores(tmp_path), "Thái Nguyên", "2024-05")
    for name, value in EXAMPLE.items():
        assert got[name] == templates.SCORES_EXAMPLE[name] == value


def test_a_notice_typed_by_hand_with_vietnamese_numbers(tmp_path):
    # Thạnh Tân-style commune notice: one decimal, decimal comma, integers printed bare.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["KẾT QUẢ CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP"])
    sheet.append(
        [
            "STT",
            "Đơn vị",
            "Cấp",
            "Thuộc tỉnh",
            "Kỳ",
            "Công khai, minh bạch",
            "Tiến độ, kết quả giải quyết",
            "Dịch vụ công trực tuyến",
            "Thanh toán trực tuyến",
            "Mức độ hài lòng",
            "Số hóa hồ sơ",
            "Tổng điểm",
        ]
    )
    sheet.append(
        [
            1,
            "Xã Thạnh Tân",
            "Cấp xã",
            "Tây Ninh",
            "Tháng 8/2025",
            "0",
            "19,8",
            "7",
            "7,8",
            "18",
            "19",
            "71,6",
        ]
    )
    sheet.append([None, "Trung bình", None, None, None, None, None, None, None, None, None, "71,6"])
    book.save(tmp_path / "thong_bao.xlsx")
    result = run([tmp_path / "thong_bao.xlsx"], tmp_path / "out")
    assert result.report.counts()["totals_row"] == 1
    got = one(read_scores(tmp_path / "out"), "Xã Thạnh Tân", "2025-08")
    # From 07/2025 Tây Ninh is the new province (old Long An + Tây Ninh), code 80.
    assert (got["level"], got["boundary"], got["province_code"]) == ("commune", "new34", "80")
    assert (got["timeliness"], got["online_payment"], got["total"]) == (19.8, 7.8, 71.6)


def test_total_tolerance_follows_the_decimals_shown(tmp_path):
    # Two decimals: the groups add to 89.10, a total of 89.14 is off by more than rounding.
    path = write(
        tmp_path,
        "t_2024-05.csv",
        f"{PORTAL_HEADER}\n19,Thái Nguyên,15.50,18.20,8.40,10.10,17.60,19.30,89.14\n",
    )
    with pytest.raises(IngestError):
        run([path], tmp_path / "a")
    # One decimal each: 89.2 is within 7 x 0.05 of 89.1.
    path = write(
        tmp_path,
        "u_2024-05.csv",
        f"{PORTAL_HEADER}\n19,Thái Nguyên,15.5,18.2,8.4,10.1,17.6,19.3,89.2\n",
    )
    run([path], tmp_path / "b")


def test_corrected_scores_replace_and_are_logged(tmp_path):
    out = tmp_path / "out"
    first = write(tmp_path, "a_2024-05.json", json.dumps([record(), record("Bắc Ninh", ID="27")]))
    run([first], out)
    fixed = write(tmp_path, "b_2024-05.json", json.dumps([record(CKMB=16.5, TONG_SCORE=90.1)]))
    result = run([fixed], out)
    frame = read_scores(out)
    assert len(frame) == 2
    assert one(frame, "Thái Nguyên", "2024-05")["publicity"] == 16.5
    assert one(frame, "Bắc Ninh", "2024-05")["publicity"] == 15.5
    entry = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["imports"][1]
    assert entry["replaced"][0]["changes"] == {"publicity": [15.5, 16.5], "total": [89.1, 90.1]}
    assert result.report.counts()["replaced"] == 1
    again = run([fixed], out)
    assert again.outputs == {} and again.report.problems[0].kind == "already_imported"


def test_quarantine_of_scores(tmp_path):
    out = tmp_path / "out"
    result = run([CORPUS / "s05_unknown_province.json"], out, quarantine=True)
    assert result.summary() == "read 3 = accepted 2 + rejected 1"
    rejected = pd.read_csv(out / "rejected_s05_unknown_province.csv", encoding="utf-8-sig")
    assert rejected["row"].tolist() == [3]
    assert "unknown province" in rejected["reason"].iloc[0]
    assert len(read_scores(out)) == 2


def test_monthly_and_scores_in_one_import(tmp_path):
    monthly_file = config.DATA_DIR / "templates" / f"{templates.MONTHLY_STEM}.csv"
    scores_file = config.DATA_DIR / "templates" / f"{templates.SCORES_STEM}.csv"
    result = ingest([monthly_file, scores_file], out_dir=tmp_path, today=TODAY)
    assert set(result.outputs) == {"panel", "scores", "manifest"}
    kinds = [e["kind"] for e in json.loads((tmp_path / "manifest.json").read_text())["imports"]]
    assert kinds == ["monthly", "scores"]


def test_period_from_file_names():
    assert scores.period_from_name("chi-so-2024-05.json") == "2024-05"
    assert scores.period_from_name("ket_qua_T5_2024.csv") == "2024-05"
    assert scores.period_from_name("diem_Q1-2025.csv") == "2025-Q1"
    assert scores.period_from_name("diem_2025_q3.csv") == "2025-Q3"
    assert scores.period_from_name("diem.csv") is None


# --- property-based ---------------------------------------------------------------------------

FIELDS = [
    "ID",
    "TEN",
    "CKMB",
    "TDGQ",
    "TTTT",
    "CLGQ",
    "MDHL",
    "MDSH",
    "TONG_SCORE",
    "Kỳ",
    "Cấp",
    "x",
]
VALUES = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=200),
    st.sampled_from(
        ["Thái Nguyên", "Hà Giang", "2024-05", "Quý 5/2024", "15,5", "1.234", "", "xã"]
    ),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    records=st.lists(
        st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=len(FIELDS)), max_size=5
    ),
    wrap=st.booleans(),
    quarantine=st.booleans(),
)
def test_random_portal_records_never_crash(records, wrap, quarantine):
    payload = {"data": records, "period": "2024-05"} if wrap else records
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "p.json", json.dumps(payload, ensure_ascii=False))
        try:
            result = run([path], Path(folder) / "out", quarantine=quarantine)
        except (IngestError, WorkbenchError):
            return
        assert result.read == result.accepted + result.rejected


def test_a_period_across_the_merger_is_on_the_map_of_its_end(tmp_path):
    # The 2025 annual results name the 34 new provinces; Q2 2025 still the 63 old ones.
    year = write(
        tmp_path, "nam.json", json.dumps({"period": "Năm 2025", "data": [record("Bắc Ninh")]})
    )
    run([year], tmp_path / "a", today="2026-01-15")
    got = one(read_scores(tmp_path / "a"), "Bắc Ninh", "2025")
    assert (got["boundary"], got["province_code"]) == ("new34", "24")
    q2 = write(
        tmp_path, "q2.json", json.dumps({"period": "Quý 2/2025", "data": [record("Hà Giang")]})
    )
    run([q2], tmp_path / "b")
    assert one(read_scores(tmp_path / "b"), "Hà Giang", "2025-Q2")["boundary"] == "old63"
    h2 = write(tmp_path, "h2.json", json.dumps({"period": "2025-H2", "data": [record("Hà Giang")]}))
    with pytest.raises(IngestError) as caught:
        run([h2], tmp_path / "c", today="2026-03-01")
    assert caught.value.report.problems[0].kind == "province_not_on_map"
