"""Tests of the synthetic panel (analysis.synthetic.panel).

Every expected value here is stated independently of the generator: the published figures of
shared/reference/calibration.md, the effect sizes the brief fixes, the crosswalk file, the
holiday calendar. Tolerances:

- pinned 2022 online rates: ±3 pp (12 months of AR(1) noise with sd <= 1.5 pp average to a
  standard error well under 1 pp; 3 pp leaves room for binomial and level-share noise).
- recovered injected effect: ±1 pp (same seed with and without effects shares every draw
  except the binomial sampling, whose error over a province-year of ~1e5 dossiers is ~0.2 pp).
- shares of volume: ±5 points around the design shares (province-year noise is far smaller).
"""

from __future__ import annotations

import csv
import hashlib
import json

import holidays
import numpy as np
import pandas as pd
import pytest

from analysis import config, panel
from analysis.errors import WorkbenchError
from analysis.synthetic import panel as synth

PUBLISHED_2022_ONLINE = {  # calibration.md: Jan to early Nov 2022, baodanang.vn
    "Hòa Bình": 86.5,
    "Đà Nẵng": 67.0,
    "Nam Định": 65.9,
    "Lạng Sơn": 64.2,
    "Ninh Bình": 63.9,
    "Bạc Liêu": 7.4,
    "Sơn La": 8.3,
    "Nghệ An": 8.6,
    "Bình Thuận": 9.3,
    "Quảng Ngãi": 9.7,
}


@pytest.fixture(scope="module")
def data(synthetic_data) -> synth.SynthData:
    return synthetic_data  # synth.generate(766), once per session


@pytest.fixture(scope="module")
def counterfactual() -> synth.SynthData:
    return synth.generate(766, effects=False)


@pytest.fixture(scope="module")
def again() -> synth.SynthData:
    """Seed 766 generated a second time, apart from the session's: determinism is checked on it."""
    return synth.generate(766)


def _rate(df: pd.DataFrame, rate: str, by) -> pd.Series:
    numerator, denominator = panel.RATES[rate]
    sums = df.groupby(by)[[numerator, denominator]].sum()
    return 100 * sums[numerator] / sums[denominator]


def _old(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["boundary"] == "old63"]


# --- determinism and files ---


def test_same_seed_gives_same_data_other_seed_differs(data, again):
    pd.testing.assert_frame_equal(data.panel, again.panel)
    pd.testing.assert_frame_equal(data.truth, again.truth)
    other = synth.generate(767)
    assert not data.panel["dossiers_online"].equals(other.panel["dossiers_online"])


def test_write_is_byte_identical_and_complete(data, again, tmp_path):
    first = synth.write(data, tmp_path / "a")
    second = synth.write(again, tmp_path / "b")
    for name in ("panel", "ground_truth"):
        assert first[name].read_bytes() == second[name].read_bytes()
    manifest = json.loads(first["manifest"].read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert manifest["seed"] == 766
    assert manifest["generator"] == "analysis.synth"  # the data format's name, kept across the move
    assert {"version", "created", "files", "rows"} <= set(manifest)
    for path in (first["panel"], first["ground_truth"]):
        assert manifest["files"][path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["rows"][config.PANEL_FILE] == len(data.panel)
    assert not list((tmp_path / "a").glob("*.tmp"))  # temporary files were moved or removed
    pd.testing.assert_frame_equal(panel.load(first["panel"]), data.panel)
    truth = pd.read_csv(first["ground_truth"], dtype={"province_code": str})
    assert len(truth) == len(data.truth)
    assert np.array_equal(truth["effect_pp"].to_numpy(), data.truth["effect_pp"].to_numpy())


# --- shape ---


def test_rows_cover_both_boundaries(data):
    crosswalk = config.CROSSWALK_FILE
    with open(crosswalk, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    old_names = {r["old_province_name"] for r in rows}
    new_names = {r["new_province_name"] for r in rows}

    old = _old(data.panel)
    assert set(old["province"]) == old_names and old["province_code"].nunique() == 63
    assert set(old["level"]) == {"province", "district", "commune"}
    old_months = pd.date_range("2020-01-01", "2025-06-01", freq="MS")
    assert len(old_months) == 66
    assert len(old) == 63 * 3 * 66
    counts = old.groupby(["province_code", "level"])["month"].agg(["nunique", "min", "max"])
    assert (counts["nunique"] == 66).all()
    assert (counts["min"] == old_months[0]).all() and (counts["max"] == old_months[-1]).all()

    new = data.panel[data.panel["boundary"] == "new34"]
    assert set(new["province"]) == new_names and new["province_code"].nunique() == 34
    assert set(new["level"]) == {"province", "commune"}
    assert len(new) == 34 * 2 * 15  # July 2025 to September 2026
    assert new["month"].min() == pd.Timestamp(config.MERGER_DATE)
    assert (data.panel["province_code"].str.fullmatch(r"\d\d")).all()


# --- count invariants and structure ---


def test_count_invariants(data):
    p = data.panel
    for column in panel.COUNT_COLUMNS:
        assert p[column].dtype == np.int64
        assert (p[column] >= 0).all()
    for numerator, denominator in panel.RATES.values():
        assert (p[numerator] <= p[denominator]).all(), numerator
    assert (p["dossiers_fully_online"] <= p["dossiers_online"]).all()
    received = p["dossiers_received"]
    assert (received > 0).all()
    assert ((p["dossiers_handled"] / received - 1).abs() < 0.15).all()
    for column, low, high in (
        ("dossiers_fee_bearing", 0.30, 0.60),
        ("dossiers_result_issuing", 0.70, 0.90),
        ("ratings", 0.10, 0.40),
    ):
        share = p[column] / received
        assert share.between(low - 0.03, high + 0.03).all(), column  # single small cells
        yearly = p.groupby(["boundary", "province_code", p["month"].dt.year])[
            [column, "dossiers_received"]
        ].sum()
        assert (yearly[column] / yearly["dossiers_received"]).between(low, high).all(), column


def test_panel_passes_the_schema_validation(data):
    pd.testing.assert_frame_equal(panel.validate(data.panel), data.panel)


def test_volumes_and_level_shares(data):
    old = _old(data.panel)
    yearly = (
        old[old["month"].dt.year.between(2021, 2024)]
        .groupby(["province", old["month"].dt.year])["dossiers_received"]
        .sum()
    )
    assert yearly.between(1e5, 1.2e6).all()
    biggest = old.groupby("province")["dossiers_received"].sum().nlargest(2)
    assert set(biggest.index) == {"Hà Nội", "Hồ Chí Minh"}

    def shares(df):
        return df.groupby("level")["dossiers_received"].sum() / df["dossiers_received"].sum()

    before = shares(old)
    assert abs(before["province"] - 0.25) < 0.05
    assert abs(before["district"] - 0.35) < 0.05
    assert abs(before["commune"] - 0.40) < 0.05
    after = shares(data.panel[data.panel["boundary"] == "new34"])
    assert abs(after["province"] - 0.35) < 0.05 and abs(after["commune"] - 0.65) < 0.05


def test_tet_months_have_lower_volume_than_their_neighbours(data):
    monthly = data.panel.groupby("month")["dossiers_received"].sum()
    ratios = []
    for year in range(2020, 2027):
        days = holidays.country_holidays("VN", years=year, language="en_US")
        tet = [d for d, name in days.items() if "Lunar New Year" in name]
        month = pd.Series(pd.to_datetime(tet)).dt.to_period("M").value_counts().idxmax()
        month = month.to_timestamp()
        before, after = month - pd.DateOffset(months=1), month + pd.DateOffset(months=1)
        if before in monthly.index and after in monthly.index:
            ratios.append(monthly[month] / ((monthly[before] + monthly[after]) / 2))
    assert len(ratios) >= 5
    assert np.mean(ratios) < 0.9
    assert max(ratios) < 1


# --- online rate calibration ---


def test_online_rate_2022_spread_and_pinned_provinces(data):
    old = _old(data.panel)
    rates = _rate(old[old["month"].dt.year == 2022], "online_rate", "province")
    assert rates.min() < 12
    assert rates.max() > 80
    for name, published in PUBLISHED_2022_ONLINE.items():
        assert abs(rates[name] - published) <= 3, (name, rates[name])


def test_online_rate_rises_and_levels_are_ordered(data):
    old = _old(data.panel)
    by_year = _rate(data.panel, "online_rate", data.panel["month"].dt.year)
    assert by_year.is_monotonic_increasing
    mid_2024 = data.panel[data.panel["month"].between("2024-04-01", "2024-09-01")]
    assert 35 < _rate(mid_2024, "online_rate", "boundary")["old63"] < 50  # published 43 %
    levels = _rate(old[old["month"].dt.year == 2023], "online_rate", "level")
    assert levels["province"] > levels["district"] > levels["commune"]


def test_other_rates_in_published_ranges(data):
    p = data.panel
    y2023 = p[p["month"].dt.year == 2023]
    country = {r: _rate(y2023, r, "boundary")["old63"] for r in panel.RATES}
    assert 85 <= country["on_time_rate"] <= 98
    assert 60 <= country["sync_rate"] <= 95
    assert 5 <= country["online_payment_rate"] <= 50
    assert 30 <= country["e_result_rate"] <= 60
    assert 40 <= country["digitisation_rate"] <= 80
    assert 88 <= country["satisfaction_rate"] <= 95
    tn = y2023[y2023["province"] == "Thái Nguyên"]
    assert abs(_rate(tn, "e_result_rate", "boundary")["old63"] - 34) < 3  # 34.03 % Jan-Aug


# --- linear counterfactual ---


@pytest.mark.parametrize("seed", [766, 1, 2])
def test_noise_free_counterfactual_is_linear_on_the_old_boundary(seed):
    """The province-total cf before noise and sampling is a straight line over 2020-01..2025-06.

    Every outcome, every old province: second differences of the monthly expected rate are zero
    (to rounding), so a segmented-regression ITS on province totals is correctly specified.
    """
    expected = synth.generate(seed, effects=False).expected
    old = expected[expected["boundary"] == "old63"]
    wide = old.pivot(index=["outcome", "province_code"], columns="month", values="expected_pp")
    assert list(wide.columns) == list(pd.date_range("2020-01-01", "2025-06-01", freq="MS"))
    assert len(wide) == len(panel.RATES) * 63
    assert set(wide.index.get_level_values("outcome")) == set(panel.RATES)
    assert not wide.isna().any().any()
    second = np.diff(wide.to_numpy(), n=2, axis=1)
    worst = pd.Series(np.abs(second).max(axis=1), index=wide.index)
    assert worst.max() < 1e-6, worst.nlargest(5)


def test_expected_rates_stay_in_range_and_carry_the_truth(data, counterfactual):
    """Expected province totals with effects stay within 2-97 %; effects add the truth exactly."""
    keys = ["boundary", "province_code", "outcome", "month"]
    on = data.expected.set_index(keys)["expected_pp"]
    off = counterfactual.expected.set_index(keys)["expected_pp"]
    main = on[on.index.get_level_values("outcome") != "fully_online_rate"]
    assert main.between(2, 97).all(), (main.min(), main.max())
    old = data.truth[data.truth["boundary"] == "old63"]
    injected = old.groupby(keys)["effect_pp"].sum()
    diff = (on - off)[on.index.get_level_values("boundary") == "old63"]
    np.testing.assert_allclose(diff.reindex(injected.index), injected, atol=1e-9)
    assert diff.drop(injected.index).abs().max() < 1e-9


def test_observed_online_totals_scatter_around_the_expected_line(counterfactual):
    """No systematic bend: the mean residual over the 63 provinces is small in every year."""
    old = _old(counterfactual.panel)
    observed = _rate(old, "online_rate", ["province_code", "month"]).rename("observed")
    expected = counterfactual.expected
    expected = expected[
        (expected["boundary"] == "old63") & (expected["outcome"] == "online_rate")
    ].set_index(["province_code", "month"])["expected_pp"]
    residual = (observed - expected).dropna()
    assert len(residual) == 63 * 66
    by_year = residual.groupby(residual.index.get_level_values("month").year).mean()
    assert by_year.abs().max() < 0.4, by_year


# --- injected effects and ground truth ---


def test_thai_nguyen_truth_ramps_to_eight(data):
    t = data.truth
    rows = t[
        (t["measure_id"] == "thai-nguyen-fee-50")
        & (t["outcome"] == "online_rate")
        & (t["boundary"] == "old63")
    ].set_index("month")["effect_pp"]
    assert (rows.index >= pd.Timestamp("2022-07-01")).all()
    assert 0 < rows[pd.Timestamp("2022-07-01")] < 8
    assert rows.max() == pytest.approx(8)
    after_ramp = rows[rows.index >= pd.Timestamp("2022-10-01")]
    assert len(after_ramp) > 0 and np.allclose(after_ramp, 8)
    assert set(t.loc[t["measure_id"] == "thai-nguyen-fee-50", "province"]) == {"Thái Nguyên"}


@pytest.mark.parametrize(
    ("province", "year", "effect"),
    [("Thái Nguyên", 2023, 8.0), ("Bắc Ninh", 2024, 20.0), ("Thừa Thiên Huế", 2024, 5.0)],
)
def test_injected_effect_is_recovered(data, counterfactual, province, year, effect):
    def observed(d):
        old = _old(d.panel)
        cells = old[(old["province"] == province) & (old["month"].dt.year == year)]
        return _rate(cells, "online_rate", "boundary")["old63"]

    assert abs(observed(data) - observed(counterfactual) - effect) < 1


def test_no_effect_where_the_truth_has_none(data, counterfactual):
    t = data.truth
    touched = set(t.loc[(t["outcome"] == "online_rate") & (t["boundary"] == "old63"), "province"])
    years = data.panel["month"].dt.year.between(2021, 2024)
    on = _rate(_old(data.panel[years]), "online_rate", "province")
    off = _rate(_old(counterfactual.panel[years]), "online_rate", "province")
    untouched = [name for name in on.index if name not in touched]
    assert len(untouched) > 50
    assert (on[untouched] - off[untouched]).abs().max() < 0.3


def test_counterfactual_shares_every_draw_but_the_effects(data, counterfactual):
    assert counterfactual.truth.empty
    assert list(counterfactual.truth.columns) == synth.TRUTH_COLUMNS
    pd.testing.assert_series_equal(
        data.panel["dossiers_received"], counterfactual.panel["dossiers_received"]
    )


def test_no_expected_rate_was_clipped_where_an_effect_was_injected(data):
    for generated in (data, synth.generate(1), synth.generate(2)):  # seeds 766, 1, 2
        assert generated.params["clipped_cells_with_effect"] == {}


def test_national_zero_fee_reaches_every_new_province_by_october(data):
    t = data.truth[data.truth["measure_id"] == "national-zero-fee"]
    assert set(t["boundary"]) == {"new34"}
    assert t["province_code"].nunique() == 34
    first = t.groupby("province_code")["month"].min()
    assert first.between("2025-07-01", "2025-10-01").all()
    assert t["effect_pp"].max() == pytest.approx(5)


def test_merged_series_run_on_across_the_merger(counterfactual):
    merged = panel.add_rates(panel.aggregate(counterfactual.panel, boundary="new34"), "online_rate")
    wide = merged.pivot(index="province_code", columns="month", values="online_rate")
    jump = 100 * (wide[pd.Timestamp("2025-07-01")] - wide[pd.Timestamp("2025-06-01")])
    assert jump.abs().median() < 2
    assert jump.abs().max() < 6


def test_true_average_effect_on_a_hand_made_table():
    truth = pd.DataFrame(
        {
            "measure_id": ["m", "m", "n", "n", "n"],
            "boundary": ["old63", "old63", "new34", "new34", "new34"],
            "province_code": ["19", "19", "01", "01", "79"],
            "province": ["Thái Nguyên", "Thái Nguyên", "Hà Nội", "Hà Nội", "Hồ Chí Minh"],
            "outcome": ["online_rate"] * 5,
            "month": pd.to_datetime(
                ["2023-01-01", "2023-02-01", "2025-08-01", "2025-09-01", "2025-09-01"]
            ),
            "effect_pp": [4.0, 8.0, 5.0, 5.0, 3.0],
        }
    )
    months = ["2023-01", "2023-02", "2023-03"]
    assert synth.true_average_effect(truth, "m", "online_rate", months) == pytest.approx(4.0)
    assert synth.true_average_effect(truth, "m", "fully_online_rate", months) == 0.0
    # Two provinces: August 5/2, September (5 + 3)/2.
    both = synth.true_average_effect(truth, "n", "online_rate", ["2025-08", "2025-09"])
    assert both == pytest.approx((2.5 + 4.0) / 2)
    one = synth.true_average_effect(truth, "n", "online_rate", ["2025-09"], province="79")
    assert one == pytest.approx(3.0)


def test_true_average_effect_matches_the_ramp(data):
    months = pd.date_range("2022-07-01", "2022-12-01", freq="MS")
    value = synth.true_average_effect(data.truth, "thai-nguyen-fee-50", "online_rate", months)
    assert value == pytest.approx((8 / 3 + 16 / 3 + 8 * 4) / 6)


# --- bad input ---


def _effects_file(tmp_path, body: str):
    path = tmp_path / "effects.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body",
    [
        "measures:\n  - measure_id: no-such-measure\n    effects: []\n",
        "measures:\n  - measure_id: hue-fee-40\n    effects:\n"
        "      - {outcome: happiness, effect_pp: 3}\n",
        "measures:\n  - measure_id: hue-fee-40\n    effects:\n"
        "      - {outcome: online_rate, effect_pp: 3, ramp_months: 0}\n",
        "measures:\n  - measure_id: hue-fee-40\n    effects:\n"
        "      - {outcome: online_rate, effect_pp: lots}\n",
        "effects: []\n",
    ],
)
def test_bad_effects_file_is_a_workbench_error(tmp_path, body):
    with pytest.raises(WorkbenchError):
        synth.generate(effects_file=_effects_file(tmp_path, body))


def test_bad_span_is_a_workbench_error():
    with pytest.raises(WorkbenchError):
        synth.generate(start="2024-01", end="2023-01")
    with pytest.raises(WorkbenchError):
        synth.generate(start="soon")
