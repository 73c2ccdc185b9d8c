"""The quarterly report: numbers worked out from the panel by hand, the rules, the rendering."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import workbench, written
from pypdf import PdfReader

from analysis import config, panel
from analysis.documents import quarterly
from analysis.errors import WorkbenchError
from analysis.synthetic import panel as synth

# The crosswalk as published (a verbatim copy of shared/reference/provinces_2025.csv ships with
# the package; CI has only the repository).
CROSSWALK = config.PACKAGE_DATA / "provinces_2025.csv"


@pytest.fixture(scope="module")
def raw(synthetic_full) -> pd.DataFrame:
    frame = pd.read_parquet(synthetic_full / "panel.parquet")
    frame["month"] = pd.PeriodIndex(pd.to_datetime(frame["month"]), freq="M")
    return frame


@pytest.fixture(scope="module")
def tn_2023q3(synthetic_full):
    return quarterly.prepare("thai nguyen", "2023Q3", data_path=str(synthetic_full))


def _quarter_counts(raw, boundary, codes, quarter, num, den):
    rows = raw[
        (raw["boundary"] == boundary)
        & raw["province_code"].isin(codes)
        & (raw["month"].dt.asfreq("Q") == pd.Period(quarter, "Q"))
    ]
    return int(rows[num].sum()), int(rows[den].sum())


def test_indicators_are_the_quarter_counts_summed_by_hand(tn_2023q3, raw):
    code = tn_2023q3.province.code
    ind = tn_2023q3.indicators.set_index("indicator")
    for rate, (num, den) in panel.RATES.items():
        n, d = _quarter_counts(raw, "old63", {code}, "2023Q3", num, den)
        assert (ind.loc[rate, "numerator"], ind.loc[rate, "denominator"]) == (n, d)
        pn, pd_ = _quarter_counts(raw, "old63", {code}, "2023Q2", num, den)
        assert ind.loc[rate, "previous"] == pytest.approx(pn / pd_)


def test_rank_counts_provinces_with_a_higher_rate(tn_2023q3, raw):
    rows = raw[(raw["boundary"] == "old63") & (raw["month"].dt.asfreq("Q") == "2023Q3")]
    by = rows.groupby("province_code")[["dossiers_online", "dossiers_received"]].sum()
    rates = by["dossiers_online"] / by["dossiers_received"]
    mine = rates[tn_2023q3.province.code]
    row = tn_2023q3.indicators.set_index("indicator").loc["online_rate"]
    assert row["rank"] == int((rates > mine).sum()) + 1
    assert row["ranked"] == 63


def test_pre_merger_quarter_of_a_merged_province_is_the_sum_of_its_old_ones(synthetic_full, raw):
    crosswalk = pd.read_csv(CROSSWALK, dtype=str)
    report = quarterly.prepare("Thái Nguyên", "2025Q3", data_path=str(synthetic_full))
    old_codes = set(crosswalk.loc[crosswalk["new_province_name"] == "Thái Nguyên", "old_code"])
    assert old_codes == {"06", "19"}  # Bắc Kạn + Thái Nguyên, from the published crosswalk
    ind = report.indicators.set_index("indicator")
    n, d = _quarter_counts(
        raw, "old63", old_codes, "2025Q2", "dossiers_online", "dossiers_received"
    )
    assert (
        ind.loc["online_rate", "previous_numerator"],
        ind.loc["online_rate", "previous_denominator"],
    ) == (n, d)
    n, d = _quarter_counts(
        raw, "new34", {report.province.code}, "2025Q3", "dossiers_online", "dossiers_received"
    )
    assert ind.loc["online_rate", "numerator"] == n
    # Scores do not add up like counts: across the merger the index is not compared.
    assert report.index["comparable"] is False


def test_trend_and_months_to_target_on_an_exact_line():
    # 12 months on the line 30 % + 0.5 pp per month, 1,000 dossiers a month.
    months = pd.period_range("2024-01", "2024-12", freq="M")
    rate = (30 + 0.5 * np.arange(12)) / 100
    frame = pd.DataFrame({"period": months, "online_rate": rate, "dossiers_received": 1000})
    q = pd.Period("2024Q4", "Q")
    slope, low, high = quarterly.trend(frame, "online_rate", "dossiers_received", q)
    assert slope == pytest.approx(0.5)
    assert low == pytest.approx(0.5) and high == pytest.approx(0.5)
    target = quarterly.Target("online_rate", 0.5, pd.Period("2025-12", "M"), {})
    # 35.5 % now: 14.5 pp to go at 0.5 pp a month = 29 months, past the 12 months left.
    months_, status = quarterly.to_target(0.355, 1000, target, slope, low, high, q)
    assert months_ == pytest.approx(29) and status == "late"
    target = quarterly.Target("online_rate", 0.4, pd.Period("2025-12", "M"), {})
    assert quarterly.to_target(0.355, 1000, target, slope, low, high, q) == (
        pytest.approx(9),
        "on_track",
    )
    assert quarterly.to_target(0.6, 1000, target, slope, low, high, q)[1] == "met"
    assert quarterly.to_target(0.3, 1000, target, -0.2, -0.3, -0.1, q)[1] == "not_improving"
    assert quarterly.to_target(0.3, 1000, target, 0.2, -0.1, 0.5, q)[1] == "unclear"
    assert quarterly.to_target(0.3, 12, target, slope, low, high, q)[1] == "no_data"


def test_own_measure_effect_covers_the_injected_truth(tn_2023q3, synthetic_full):
    effects = tn_2023q3.effects.set_index(tn_2023q3.effects["measure"].map(lambda m: m.measure_id))
    row = effects.loc["thai-nguyen-fee-50"]
    truth = pd.read_csv(synthetic_full / "ground_truth.csv", dtype={"province_code": str})
    months = pd.date_range("2022-07-01", periods=int(row["post_months"]), freq="MS")
    true = synth.true_average_effect(truth, "thai-nguyen-fee-50", "online_rate", months)
    assert row["low"] <= true <= row["high"]
    # The 766 index (08/2022) and circular 01/2023 (04/2023) start inside its window: the
    # change is theirs together, credited to none.
    assert row["verdict"] == "overlap"
    assert {m.measure_id for m in row["overlap"]} == {
        "national-766",
        "national-digitisation-circular",
    }
    # The window is printed beside the number (the brief's is 24 months, this one stops at
    # the quarter's end).
    assert (row["window_start"], row["window_end"]) == (
        pd.Timestamp("2022-07-01"),
        pd.Timestamp("2023-09-01"),
    )
    table = quarterly.effects_table(tn_2023q3)[0].frame.to_string()
    assert "15 tháng (07/2022 – 09/2023)" in table


def test_overlapping_measures_are_credited_to_none(synthetic_full, tmp_path):
    """Bắc Ninh's own data jump by 25 points in June 2023; national circular 01/2023 (04/2023)
    and the province's Directive 10 (06/2023) both start in the window."""
    frame = panel.load(synthetic_full / "panel.parquet")
    mine = (frame["boundary"] == "old63") & (frame["province"] == "Bắc Ninh")
    months = pd.to_datetime(frame.loc[mine, "month"].astype(str))
    rng = np.random.default_rng(14)
    share = 0.30 + 0.002 * ((months.dt.year - 2020) * 12 + months.dt.month).to_numpy()
    share = share + np.where(months >= pd.Timestamp("2023-06-01"), 0.25, 0.0)
    share = share + rng.normal(0, 0.01, len(share))
    received = frame.loc[mine, "dossiers_received"].astype("float")
    frame.loc[mine, "dossiers_online"] = (received * share.clip(0, 1)).round().astype("Int64")
    frame.loc[mine, "dossiers_fully_online"] = frame.loc[mine, "dossiers_online"] // 2
    panel.save(frame, tmp_path / "panel.parquet")
    report = quarterly.prepare("Bắc Ninh", "2023Q4", data_path=str(tmp_path))
    effects = report.effects.set_index(report.effects["measure"].map(lambda m: m.measure_id))
    circular = effects.loc["national-digitisation-circular"]
    assert circular["verdict"] == "national" and math.isnan(circular["effect_pp"])
    directive = effects.loc["bac-ninh-directive-10"]
    assert directive["verdict"] == "overlap"
    assert "national-digitisation-circular" in {m.measure_id for m in directive["overlap"]}
    # The combined jump is measured (about 25 points) but no measure is credited with it ...
    assert 15 < directive["effect_pp"] < 35
    fired = {rule.id for rule, _ in report.recommendations}
    assert not fired & {"measure-raised", "measure-no-effect"}
    texts = " ".join(t for _, t in report.recommendations)
    assert "mở rộng" not in texts and "Thông tư 01/2023" not in texts
    finding = quarterly.key_finding(report).text
    assert "đã làm tăng" not in finding
    # ... and the table names both, saying they cannot be separated.
    table = quarterly.effects_table(report)[0].frame.to_string()
    assert "không tách được khỏi" in table and "Thông tư 01/2023" in table


def test_recommendations_follow_the_rules_on_the_numbers(tn_2023q3):
    fired = {rule.id for rule, _ in tn_2023q3.recommendations}
    statuses = dict(
        zip(tn_2023q3.indicators["indicator"], tn_2023q3.indicators["status"], strict=True)
    )
    if "indicator-late" in fired:
        assert "late" in statuses.values()
    # Every rule that fired holds on the facts it was given; none fired twice on one item.
    texts = [t for _, t in tn_2023q3.recommendations]
    assert len(texts) == len(set(texts)) and texts
    priorities = [rule.priority for rule, _ in tn_2023q3.recommendations]
    assert priorities == sorted(priorities)


def test_a_small_province_shows_a_dash_and_is_not_ranked(synthetic_full, tmp_path):
    frame = panel.load(synthetic_full / "panel.parquet")
    small = (frame["boundary"] == "old63") & (frame["province"] == "Bắc Kạn")
    # Keep 1 dossier in 10,000: a quarter then holds fewer than 20.
    for column in panel.COUNT_COLUMNS:
        frame.loc[small, column] = frame.loc[small, column] // 10_000
    panel.save(frame, tmp_path / "panel.parquet")
    report = quarterly.prepare("Bắc Kạn", "2023Q3", data_path=str(tmp_path))
    row = report.indicators.set_index("indicator").loc["online_rate"]
    assert row["denominator"] < config.MIN_DENOMINATOR
    assert row["rank"] is None or (isinstance(row["rank"], float) and math.isnan(row["rank"]))
    table = quarterly.indicators_table(report).frame
    assert table.iloc[0, 1] == "—"
    assert "0,0 %" not in table.to_string()


def test_bad_inputs_are_clear_errors(synthetic_full):
    with pytest.raises(WorkbenchError, match="not a quarter"):
        quarterly.prepare("Thái Nguyên", "2023-13", data_path=str(synthetic_full))
    with pytest.raises(WorkbenchError, match="Thái Nguyên"):  # Bắc Kạn joined Thái Nguyên
        quarterly.prepare("Bắc Kạn", "2025Q4", data_path=str(synthetic_full))
    with pytest.raises(WorkbenchError, match="last month is 2026-09"):
        quarterly.prepare("Thái Nguyên", "2026Q4", data_path=str(synthetic_full))


def test_rule_and_target_files_are_checked(tmp_path):
    rules = tmp_path / "recommendations.yaml"
    rules.write_text(
        "rules:\n  - id: x\n    subject: indicator\n    when: [[colour, ==, red]]\n"
        "    priority: 1\n    vi: a\n    en: b\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkbenchError, match=r"rule 1 \(x\).*field 'colour'"):
        quarterly.load_recommendations(rules)
    rules.write_text(
        "rules:\n  - id: y\n    subject: measure\n    when: [[verdict, ==, raised]]\n"
        "    priority: 1\n    vi: '{measure} {colour}'\n    en: b\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkbenchError, match="placeholder {colour}"):
        quarterly.load_recommendations(rules)
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  - {indicator: online_rate, value: 50}\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="target 1: value 50 is not a share"):
        quarterly.load_targets(targets)
    rule = quarterly.Rule("z", "indicator", (("gap_pp", ">=", 10),), 1, {})
    assert rule.holds({"gap_pp": 12.0}) and not rule.holds({"gap_pp": 9.0})
    assert not rule.holds({"gap_pp": float("nan")})


@pytest.fixture(scope="module")
def rendered(document, synthetic_full, tmp_path_factory):
    """Thái Nguyên through `workbench report`: 2023Q3 in Vietnamese (the session's shared
    report, tests/conftest.py) and 2025Q4 in English (the command's default formats)."""
    code, stdout, stderr = workbench(
        "report", "--province", "Thái Nguyên", "--quarter", "2025Q4", "--lang", "en",
        "--data", synthetic_full, "--out", tmp_path_factory.mktemp("quarterly"),
    )  # fmt: skip
    assert code == 0, stderr
    return {"vi": document("30_quarterly_report.ipynb"), "en": written(stdout)}


@pytest.mark.render
def test_report_renders_html_pdf_xlsx_without_code(rendered):
    vi = rendered["vi"]
    assert set(rendered["en"]) == {"html", "pdf", "xlsx", "manifest"}  # without --format
    assert set(vi) == {"html", "pdf", "ipynb", "xlsx", "manifest"}  # --format html,pdf,ipynb
    html = Path(vi["html"]).read_text(encoding="utf-8")
    for marker in ("from analysis import", "qr.prepare", "display(", "<script", "data_path ="):
        assert marker not in html
    assert "Dữ liệu mô phỏng" in html
    text = " ".join(page.extract_text() for page in PdfReader(vi["pdf"]).pages)
    flat = " ".join(text.split())
    assert "Báo cáo đánh giá quý — Thái Nguyên, Quý 3/2023" in flat
    assert "Quý 3/2023, Thái Nguyên:" in flat  # the key finding's lead
    assert "Khuyến nghị" in flat


@pytest.mark.render
def test_language_switch_changes_labels_and_numbers(rendered):
    vi = Path(rendered["vi"]["html"]).read_text(encoding="utf-8")
    en = Path(rendered["en"]["html"]).read_text(encoding="utf-8")
    assert "Tỷ lệ hồ sơ nộp trực tuyến" in vi and "Share of dossiers submitted online" in en
    assert re.search(r"\d+,\d\xa0%", vi) and not re.search(r"\d+\.\d%", vi)
    assert re.search(r"\d+\.\d%", en) and not re.search(r"\d+,\d\xa0%", en)
    assert "34 provinces" in en  # the new map after July 2025


@pytest.mark.render
def test_rerun_with_the_same_data_gives_the_same_document(rendered, synthetic_full, tmp_path):
    from openpyxl import load_workbook

    code, stdout, stderr = workbench(
        "report", "--province", "Thái Nguyên", "--quarter", "2023Q3",
        "--data", synthetic_full, "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    again = written(stdout)
    first = rendered["vi"]
    assert Path(again["html"]).read_bytes() == Path(first["html"]).read_bytes()

    def cells(path):
        book = load_workbook(path)
        return [[c.value for c in row] for sheet in book for row in sheet.iter_rows()]

    assert cells(again["xlsx"]) == cells(first["xlsx"])


def _svg_texts(chart) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg.decode("utf-8"))


def test_indicator_chart_labels_months_and_levels_as_written_in_vietnamese(tn_2023q3):
    """24 months to 09/2023 (10/2021-09/2023): January and July labelled, mm/yyyy."""
    texts = _svg_texts(quarterly.indicators_chart(tn_2023q3))
    months = [t for t in texts if re.fullmatch(r"\d\d/\d{4}", t)]
    # Under each of the bottom row's three panels (the top row shares their axis).
    assert months == ["01/2022", "07/2022", "01/2023", "07/2023"] * 3
    # One shared scale, labelled once per row of panels: 0 % ... 100 %, a no-break space
    # before % as Vietnamese writes it.
    levels = [t for t in texts if t.endswith("%")]
    assert levels[:6] == [f"{v}\u00a0%" for v in (0, 20, 40, 60, 80, 100)]
    assert len(levels) == 6 * 2  # two rows of three panels
