"""The effects runner: reading panels, the canonical frame, dispatch, JSON, bad input.

Tolerances
----------
EXACT = 1e-6
    Noise-free series: the ITS recovers the injected shift up to floating-point error.
PANEL_TOLERANCE = 1.0 (pp)
    Hand-made panels with a +5 shift on unit A from month 20 and white noise of sd 0.5 on
    8 units × 30 months: the standard error of a DiD/SDID/synthetic-control estimate is about
    0.5·sqrt(1/10 + 1/20) ≈ 0.2 (and under 0.4 for the one-unit designs), so 1.0 is at least
    2.5 standard errors: a failure means a dispatch error, not chance.

The comparison designs (did, cs, synth, sdid) are tested through ``pytest.importorskip``:
their own correctness is tested in their own files; here only that they are called right.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.designs.result import EffectResult
from analysis.designs.triangulate import VERDICTS, triangulate
from analysis.errors import WorkbenchError
from analysis.evaluation import effects
from analysis.synthetic import panel as synth

EXACT = 1e-6
PANEL_TOLERANCE = 1.0
UNITS = list("ABCDEFGH")
START = "2021-09"  # month 20 of a panel from 2020-01


def _panel(
    *,
    n_units: int = 8,
    n_months: int = 30,
    shift: float = 5.0,
    sd: float = 0.5,
    seed: int = 0,
    counts: bool = False,
) -> pd.DataFrame:
    """Long panel: unit i at 20 + 2.5·i + 0.3·t (+ noise); A (in the middle, inside the
    others' range) gets ``shift`` from month 20; the others are B, C, … (U01, U02, … beyond
    8 units). With ``counts`` the rate in pp is stored as numerator out of 10,000."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=n_months, freq="MS")
    t = np.arange(n_months)
    others = UNITS[1:] if n_units == 8 else [f"U{i:02d}" for i in range(1, n_units)]
    order = others[: len(others) // 2] + ["A"] + others[len(others) // 2 :]
    frames = []
    for i, unit in enumerate(order):
        y = 20 + 2.5 * i + 0.3 * t + rng.normal(0, sd, n_months)
        if unit == "A":
            y = y + shift * (t >= 20)
        frame = pd.DataFrame({"unit": unit, "time": months})
        if counts:
            frame["online"] = np.round(100 * y).astype(int)
            frame["received"] = 10_000
        else:
            frame["y"] = y
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _staggered() -> pd.DataFrame:
    """A from month 20, B and C from month 24, the others never (cohort 0)."""
    data = _panel()
    t = data.groupby("unit").cumcount()
    late = data["unit"].isin(["B", "C"]) & (t >= 24)
    data.loc[late, "y"] += 5.0
    first = {"A": pd.Timestamp("2021-09-01"), "B": pd.Timestamp("2022-01-01")}
    first["C"] = first["B"]
    data["first_treat"] = data["unit"].map(first)
    return data


# --- reading ----------------------------------------------------------------------------------


def test_load_panel_csv_and_parquet(tmp_path) -> None:
    data = _panel()
    data.to_csv(tmp_path / "p.csv", index=False)
    data.to_parquet(tmp_path / "p.parquet")
    from_csv = effects.load_panel(tmp_path / "p.csv")
    from_parquet = effects.load_panel(tmp_path / "p.parquet")
    assert len(from_csv) == len(from_parquet) == 8 * 30
    np.testing.assert_allclose(from_csv["y"], data["y"])
    (tmp_path / "dir").mkdir()
    data.to_parquet(tmp_path / "dir" / "panel.parquet")
    assert len(effects.load_panel(tmp_path / "dir")) == 240


def test_load_panel_errors(tmp_path) -> None:
    with pytest.raises(WorkbenchError, match="panel file not found"):
        effects.load_panel(tmp_path / "missing.csv")
    (tmp_path / "p.xlsx").write_text("x")
    with pytest.raises(WorkbenchError, match="unknown file type '.xlsx'"):
        effects.load_panel(tmp_path / "p.xlsx")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(WorkbenchError, match="cannot read"):
        effects.load_panel(tmp_path / "bad.parquet")
    (tmp_path / "empty.csv").write_text("unit,time,y\n")
    with pytest.raises(WorkbenchError, match="no rows"):
        effects.load_panel(tmp_path / "empty.csv")


# --- canonical panel --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(synthetic_data):
    return synthetic_data


def test_canonical_frame_sums_levels(synthetic) -> None:
    frame = effects.canonical_frame(synthetic.panel, "online_rate", "old63")
    assert list(frame.columns) == ["unit", "time", "dossiers_online", "dossiers_received"]
    assert frame["unit"].nunique() == 63
    # Thái Nguyên, July 2022: the sum over its three levels, computed directly.
    p = synthetic.panel
    rows = p[(p["province"] == "Thái Nguyên") & (p["month"] == "2022-07-01")]
    assert len(rows) == 3
    got = frame[(frame["unit"] == "Thái Nguyên") & (frame["time"] == "2022-07-01")]
    assert got["dossiers_online"].item() == rows["dossiers_online"].sum()
    assert got["dossiers_received"].item() == rows["dossiers_received"].sum()
    assert frame["time"].max() == pd.Timestamp("2025-06-01")  # old63 stops at the merger

    new = effects.canonical_frame(synthetic.panel, "dossiers_received", "new34")
    assert list(new.columns) == ["unit", "time", "dossiers_received"]
    assert new["unit"].nunique() == 34
    assert new["time"].min() == frame["time"].min()  # the old rows are summed into new ones
    # Every dossier is counted once, whichever boundary it is summed on.
    before = new[new["time"] < "2025-07-01"]["dossiers_received"].sum()
    assert before == p[p["boundary"] == "old63"]["dossiers_received"].sum()


def test_canonical_frame_errors(synthetic) -> None:
    with pytest.raises(WorkbenchError, match="unknown rate or count column"):
        effects.canonical_frame(synthetic.panel, "speed")
    with pytest.raises(WorkbenchError, match="unknown boundary"):
        effects.canonical_frame(synthetic.panel, "online_rate", "old64")


def test_its_recovers_the_injected_thai_nguyen_effect(synthetic_dir) -> None:
    # The CLI's path: load the written panel, estimate with counts and a province spelling.
    data = effects.load_panel(synthetic_dir / "panel.parquet")
    results = effects.estimate(
        data,
        outcome="dossiers_online",
        denominator="dossiers_received",
        method="its",
        treated="Thai Nguyen",
        start="2022-07",
    )
    assert len(results) == 1 and results.skipped == {}
    result = results[0]
    assert result.method == "its"
    assert result.treated == ("Thái Nguyên",)
    assert result.outcome == "online_rate"
    assert result.unit == "pp"
    assert result.window.pre_start == pd.Timestamp("2020-01-01")
    assert result.window.post_start == pd.Timestamp("2022-07-01")
    truth = pd.read_csv(synthetic_dir / "ground_truth.csv")
    post = result.by_period.loc[result.by_period["post"], "period"]
    expected = synth.true_average_effect(
        truth, "thai-nguyen-fee-50", "online_rate", post, province="Thái Nguyên"
    )
    assert expected > 7  # 8 pp ramped in over 3 months, averaged over 24
    assert result.ci_low < expected < result.ci_high

    # The rate name works too, and the binomial model passes through as an option.
    binomial = effects.estimate(
        data,
        outcome="online_rate",
        method="its",
        treated="Thái Nguyên",
        start="2022-07",
        model="binomial",
    )[0]
    assert binomial.diagnostics["model"] == "binomial"
    assert binomial.ci_low < expected < binomial.ci_high


def test_its_json_shape(synthetic) -> None:
    results = effects.estimate(
        synthetic.panel, outcome="online_rate", method="its", treated="Thái Nguyên", start="2022-07"
    )
    data = json.loads(json.dumps(effects.to_json(results), ensure_ascii=False))
    assert isinstance(data, dict)  # one result: one object
    assert data["method"] == "its"
    assert len(data["ci"]) == 2 and data["ci"][0] < data["estimate"] < data["ci"][1]
    assert 0 <= data["p_value"] <= 1
    assert len(data["by_period"]) == 24
    assert data["by_period"][0] == {
        "period": "2022-07-01",
        "estimate": pytest.approx(results[0].by_period.query("post")["effect"].iloc[0]),
    }
    assert set(data["by_period"][0]) == {"period", "estimate"}
    assert "att_gt" not in data and "weights" not in data
    assert data["unit"] == "pp" and data["treated"] == ["Thái Nguyên"]
    assert data["summary"]["vi"].startswith("Biện pháp")
    # Several results: a list of objects.
    assert isinstance(effects.to_json([results[0], results[0]]), list)


def test_canonical_after_the_merger_uses_new34(synthetic) -> None:
    # A start from July 2025 runs on the 34 new provinces, with the old rows summed in.
    result = effects.estimate(
        synthetic.panel,
        outcome="online_rate",
        method="its",
        treated="Bắc Ninh",
        start="2025-09",
        post_months=6,
    )[0]
    assert result.treated == ("Bắc Ninh",)
    assert result.window.pre_start == pd.Timestamp("2020-01-01")
    assert result.window.post_start == pd.Timestamp("2025-09-01")


def test_canonical_needs_a_start(synthetic) -> None:
    with pytest.raises(WorkbenchError, match="needs --treated and --start"):
        effects.estimate(synthetic.panel, outcome="online_rate", method="its")
    with pytest.raises(WorkbenchError, match="not a rate of the canonical panel"):
        effects.estimate(
            synthetic.panel,
            outcome="dossiers_received",
            denominator="dossiers_online",
            treated="Thái Nguyên",
            start="2022-07",
        )


# --- generic panels ---------------------------------------------------------------------------


def test_its_on_a_generic_panel_noise_free() -> None:
    # Unit A: 30 + 0.3·t, + 5 from month 20; no noise: the level change is exactly 5.
    data = _panel(sd=0.0)
    result = effects.estimate(data, outcome="y", method="its", treated="A", start=START)[0]
    assert result.estimate == pytest.approx(5.0, abs=EXACT)
    assert result.unit == ""  # no denominator: the outcome's own units
    assert result.n_pre == 20 and result.n_post == 10


def test_its_with_counts_is_in_pp() -> None:
    data = _panel(counts=True)
    result = effects.estimate(
        data, outcome="online", denominator="received", method="its", treated="A", start=START
    )[0]
    assert result.unit == "pp"
    assert abs(result.estimate - 5.0) < PANEL_TOLERANCE


def test_all_on_a_single_unit_panel_runs_its_and_notes_the_rest() -> None:
    data = _panel()
    data = data[data["unit"] == "A"]
    results = effects.estimate(data, outcome="y", method="all", treated="A", start=START)
    assert [r.method for r in results] == ["its"]
    assert set(results.skipped) == {"did", "cs", "synth", "sdid"}
    assert all("no untreated units" in why for why in results.skipped.values())


def test_method_not_available(monkeypatch) -> None:
    monkeypatch.setitem(effects.DESIGNS, "did", ("analysis.designs.not_there", "fit_did"))
    with pytest.raises(WorkbenchError, match="method did not available"):
        effects.estimate(_panel(), outcome="y", method="did", treated="A", start=START)
    results = effects.estimate(_panel(), outcome="y", method="all", treated="A", start=START)
    assert "did" not in [r.method for r in results]
    assert "not available" in results.skipped["did"]


def _drop(data: pd.DataFrame) -> pd.DataFrame:
    return data.drop(index=37)


def _constant(data: pd.DataFrame) -> pd.DataFrame:
    return data.assign(y=5.0)


def _only_a(data: pd.DataFrame) -> pd.DataFrame:
    return data[data["unit"] == "A"]


def _same(data: pd.DataFrame) -> pd.DataFrame:
    return data


BAD = [
    ("unit not in panel", _same, {"treated": "Z"}, "treated unit 'Z' is not in the panel"),
    ("close name", _same, {"treated": "AA"}, "did you mean A"),
    ("start before data", _same, {"start": "2019-01"}, "outside the data"),
    ("start after data", _same, {"start": "2023-01"}, "outside the data"),
    ("few pre", _same, {"start": "2020-06"}, "only 5 periods before the start"),
    ("no controls", _only_a, {"method": "did"}, "no untreated units to compare with"),
    ("no controls synth", _only_a, {"method": "synth"}, "no untreated units"),
    ("constant", _constant, {}, "is constant"),
    ("missing period", _drop, {}, "has no row for period"),
    ("missing column", _same, {"outcome": "z"}, "columns missing: z"),
    ("method", _same, {"method": "rdd"}, "unknown method 'rdd'"),
    ("option", _same, {"bandwidth": 3}, r"unknown option\(s\) bandwidth"),
    ("no start", _same, {"start": None}, "no start"),
    ("no treated", _same, {"treated": None}, "no treated unit"),
    ("nothing", _same, {"treated": None, "start": None}, "no treatment given"),
    ("its two units", _same, {"treated": ["A", "B"]}, "exactly one treated unit"),
    ("cohort column", _same, {"treated": None, "start": None, "cohort_col": "g"}, "not in"),
]


@pytest.mark.parametrize(
    ("change", "kwargs", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input(change, kwargs, message: str) -> None:
    arguments = {"outcome": "y", "method": "its", "treated": "A", "start": START, **kwargs}
    with pytest.raises(WorkbenchError, match=message):
        effects.estimate(change(_panel()), **arguments)


def test_its_needs_months() -> None:
    yearly = _panel().assign(time=lambda d: d.groupby("unit").cumcount() + 1990)
    with pytest.raises(WorkbenchError, match="needs monthly periods"):
        effects.estimate(yearly, outcome="y", method="its", treated="A", start=2010)


# --- comparison designs (skipped until their modules exist) -----------------------------------


def test_did_dispatch() -> None:
    pytest.importorskip("analysis.designs.did")
    result = effects.estimate(_panel(), outcome="y", method="did", treated="A", start=START)[0]
    assert result.method == "did"
    assert result.treated == ("A",)
    assert abs(result.estimate - 5.0) < PANEL_TOLERANCE


def test_synth_dispatch_and_weights() -> None:
    pytest.importorskip("analysis.designs.synth_control")
    results = effects.estimate(_panel(), outcome="y", method="synth", treated="A", start=START)
    assert abs(results[0].estimate - 5.0) < PANEL_TOLERANCE
    data = json.loads(json.dumps(effects.to_json(results)))
    assert data["method"] == "synth"
    assert set(data["weights"]) == set(UNITS) - {"A"}
    assert sum(data["weights"].values()) == pytest.approx(1.0, abs=1e-6)


def test_sdid_dispatch_and_weights() -> None:
    pytest.importorskip("analysis.designs.sdid")
    results = effects.estimate(
        _panel(), outcome="y", method="sdid", treated="A", start=START, placebo_reps=50
    )
    assert abs(results[0].estimate - 5.0) < PANEL_TOLERANCE
    data = effects.to_json(results)
    assert set(data["weights"]) == set(UNITS) - {"A"}


def test_cs_dispatch_with_cohorts_and_att_gt() -> None:
    pytest.importorskip("analysis.designs.cs")
    results = effects.estimate(
        _staggered(),
        outcome="y",
        method="cs",
        cohort_col="first_treat",
        bootstrap=99,
        min_cohort=1,  # cohorts of 1 and 2 units: point estimates only (see test_cs)
    )
    result = results[0]
    assert result.method == "cs"
    assert abs(result.estimate - 5.0) < PANEL_TOLERANCE
    data = json.loads(json.dumps(effects.to_json(results)))
    assert data["att_gt"], "one row per group and time"
    assert set(data["att_gt"][0]) == {"group", "time", "att", "se"}
    assert {row["group"] for row in data["att_gt"]} == {"2021-09-01", "2022-01-01"}


def test_all_with_staggered_cohorts() -> None:
    pytest.importorskip("analysis.designs.did")
    pytest.importorskip("analysis.designs.cs")
    results = effects.estimate(
        _staggered(), outcome="y", method="all", cohort_col="first_treat", bootstrap=99
    )
    assert [r.method for r in results] == ["did"]
    # Two adoption dates: the one-start designs are left out, with the reason; cohorts of one
    # and two units are too small for Callaway–Sant'Anna's standard errors.
    assert set(results.skipped) == {"its", "cs", "synth", "sdid"}
    assert "at least 5 treated units" in results.skipped["cs"]
    assert "exactly one treated unit" in results.skipped["its"]


def test_all_then_triangulate() -> None:
    for name in ("did", "cs", "synth_control", "sdid"):
        pytest.importorskip(f"analysis.designs.{name}")
    # 25 units: the synthetic control's placebo p-value can reach 1/25 < 0.05.
    results = effects.estimate(
        _panel(n_units=25),
        outcome="y",
        method="all",
        treated="A",
        start=START,
        bootstrap=99,
        placebo_reps=50,
    )
    assert [r.method for r in results] == ["its", "did", "synth", "sdid"]
    assert "smallest cohort has 1 (A)" in results.skipped["cs"]
    assert all(isinstance(r, EffectResult) for r in results)
    out = effects.to_json(results)
    assert [o["method"] for o in out] == ["its", "did", "synth", "sdid"]
    json.dumps(out)
    tri = triangulate(results)
    assert tri.verdict in VERDICTS
    assert tri.verdict == "agree_effect"  # +5 with noise of sd 0.5: every design finds it
    assert tri.text["vi"] and tri.text["en"]
