"""The evaluation plan: exact shift by an injected effect, vectorised draws equal to the public
fits, stated power against fresh simulations (a generator written here, apart from synthetic/panel.py,
and the synthetic panel), and the document in vi and en for a large and a small province."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.calendar import tet_days
from analysis.designs.did import fit_did
from analysis.designs.its import fit_its
from analysis.documents import plan
from analysis.evaluation.effects import canonical_frame
from analysis.synthetic import panel as synth

OUTCOME = "online_rate"
W = plan.PRE_WINDOW


@pytest.fixture(scope="module")
def frame(synthetic_dir):
    from analysis.sources import open_panel

    f = canonical_frame(open_panel(synthetic_dir).frame, OUTCOME, "new34")
    return f


def _rate(frame):
    f = frame.assign(r=100 * frame["dossiers_online"] / frame["dossiers_received"])
    wide = f.pivot(index="unit", columns="time", values="r")
    return wide, pd.DatetimeIndex(wide.columns)


@pytest.mark.parametrize("design", plan.DESIGNS)
def test_injected_effect_shifts_every_estimate_exactly(frame, design):
    """Brute force: refit with d pp injected; the estimate must be the placebo + d."""
    months = pd.DatetimeIndex(sorted(frame["time"].unique()))
    pairs = [("Lai Châu", 40), ("Hà Nội", 52)]
    base = plan.fitted_draws(frame, design, pairs, OUTCOME, months)
    shifted = plan.fitted_draws(frame, design, pairs, OUTCOME, months, effect=7.5)
    np.testing.assert_allclose(shifted, base + 7.5, atol=1e-6)


def test_vectorised_draws_equal_the_public_fits(frame):
    wide, months = _rate(frame)
    starts = plan._starts(months)
    its = plan.its_draws(wide.to_numpy(), months, starts)
    did = plan.did_draws(wide.to_numpy(), starts)
    n = len(wide)
    for i_start, unit_row, h in [(0, 3, 6), (5, 20, 24), (len(starts) - 1, 0, 12)]:
        s, unit = starts[i_start], wide.index[unit_row]
        cut = frame[(frame["time"] >= months[s - W]) & (frame["time"] < months[s + h])]
        rows = cut[cut["unit"] == unit]
        series = pd.DataFrame(
            {
                "month": rows["time"].to_numpy(),
                "numerator": rows["dossiers_online"].to_numpy(float),
                "denominator": rows["dossiers_received"].to_numpy(float),
            }
        )
        r = fit_its(series, months[s], placebo=False, post_months=h, model="ols")
        assert its[i_start * n + unit_row, h - 1] == pytest.approx(r.estimate, abs=1e-8)
        d = fit_did(
            cut,
            outcome="dossiers_online",
            denominator="dossiers_received",
            treated=unit,
            start=months[s],
        )
        assert did[i_start * n + unit_row, h - 1] == pytest.approx(d.estimate, abs=1e-8)


def test_power_helpers_by_hand():
    draws = np.arange(-10, 10.5, 0.5)  # 41 draws, |e| quantile 95 % = 9.5 (by hand)
    assert plan.critical_value(draws) == pytest.approx(9.5)
    # d = 0: the two draws with |e| = 10 exceed 9.5 → 2/41.
    assert plan.power(draws, [0.0])[0] == pytest.approx(2 / 41)
    # d = 10: e + 10 > 9.5 for e ≥ 0 (21 draws) and < -9.5 for none → 21/41.
    assert plan.power(draws, [10.0])[0] == pytest.approx(21 / 41)


# --- a generator with known noise, written apart from synthetic/panel.py --------------------------


def _generate(rng, n_units, months, effect=0.0, start=None):
    """Rates in pp: unit level and trend, Tết dip, AR(1) noise (phi 0.5, sd 1.5)."""
    t = np.arange(len(months))
    level = np.linspace(30, 70, n_units)[:, None]
    trend = np.linspace(0.1, 0.4, n_units)[:, None] * t
    tet = -0.4 * tet_days(months).to_numpy(float)[None, :]
    e = np.zeros((n_units, len(months)))
    shocks = rng.normal(0, 1.5, (n_units, len(months)))
    e[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.25)
    for k in range(1, len(months)):
        e[:, k] = 0.5 * e[:, k - 1] + shocks[:, k]
    y = level + trend + tet + e
    if effect:
        y[0, start:] += effect
    return y


def _long(y, months):
    n = y.shape[0]
    return pd.DataFrame(
        {
            "unit": np.repeat([f"u{i:02d}" for i in range(n)], len(months)),
            "time": np.tile(months, n),
            "outcome": y.ravel(),
        }
    )


def _sizes(draws):
    """Three effect sizes where the stated power is near 30 %, 60 % and 90 %."""
    pw = plan.power(draws, plan.GRID)
    return [float(plan.GRID[np.argmax(pw >= target)]) for target in (0.3, 0.6, 0.9)]


DID_GAP = pytest.mark.xfail(
    reason="known gap (issue 17 report): DiD at ~90 % stated power, fresh panels reject 0.835 "
    "(400 simulations) where the plan states 0.911; 30 % and 60 % agree within 5 points",
    strict=False,
)


@pytest.mark.simulation
@pytest.mark.parametrize("design", ["its", pytest.param("did", marks=DID_GAP)])
def test_stated_power_matches_fresh_simulations_on_a_known_generator(design):
    rng = np.random.default_rng(17)
    n_units, h, n_sim = 30, 12, 400
    months = pd.date_range("2018-01-01", periods=84 + h, freq="MS")
    history = months[:84]
    draws = plan.linear_draws(design, _generate(rng, n_units, history), history, 0)[:, h - 1]
    c = plan.critical_value(draws)
    for d in _sizes(draws):
        stated = plan.power(draws, [d])[0]
        rejected = 0
        for _ in range(n_sim):
            y = _generate(rng, n_units, months, effect=d, start=84)
            if design == "its":
                series = pd.DataFrame({"month": months, "value": y[0]})
                est = fit_its(
                    series, months[84], outcome="value", placebo=False, post_months=h, pre_months=W
                ).estimate
            else:
                window = _long(y[:, 84 - W :], months[84 - W :])
                est = fit_did(window, treated="u00", start=months[84]).estimate
            rejected += abs(est) > c
        observed = rejected / n_sim
        print(design, d, round(stated, 3), round(observed, 3))
        assert abs(observed - stated) <= 0.05 + 1e-9, (design, d, stated, observed)


@pytest.mark.simulation
@pytest.mark.xfail(
    reason="known gap (issue 17 report): on synthetic/panel.py's panel the stated ITS power for Lai Châu "
    "is 0.30 where fresh panels reject 0.16 at the same size; the placebo windows mix trend "
    "misfits that, in fresh panels of the same expected path, are one fixed misfit",
    strict=False,
)
def test_stated_power_matches_fresh_synthetic_panels():
    """Plan on seed 766 for a start of 2025-10; fresh panels of synth.generate (other seeds),
    the same province treated with d pp from 2025-10, the ITS refitted on each. The measures
    synth.py injected are taken out with its ground truth first (in both), so that the only
    effect in the fresh panels is d."""
    h, seeds = 12, range(1, 151)
    start = pd.Timestamp("2025-10-01")

    def rates(seed):
        data = synth.generate(seed=seed)
        wide, months = _rate(canonical_frame(data.panel, OUTCOME, "new34"))
        truth = data.truth[(data.truth["boundary"] == "new34") & (data.truth["outcome"] == OUTCOME)]
        known = truth.pivot_table(
            index="province", columns="month", values="effect_pp", aggfunc="sum"
        )
        return wide.sub(known.reindex_like(wide).fillna(0.0)), months

    wide, months = rates(766)
    keep = months < start
    hist = months[keep]
    names = list(wide.index)
    fresh = [rates(s) for s in seeds]
    checked = 0
    for province in ("Lai Châu", "Hà Nội"):
        own = names.index(province)
        draws = plan.linear_draws("its", wide.to_numpy()[:, keep], hist, own)[:, h - 1]
        c = plan.critical_value(draws)
        for d in _sizes(draws):
            stated = plan.power(draws, [d])[0]
            hits = []
            for w, m in fresh:
                y = w.loc[province].to_numpy()[: len(hist) + h].copy()
                y[len(hist) :] += d
                series = pd.DataFrame({"month": m[: len(hist) + h], "value": y})
                est = fit_its(
                    series, start, outcome="value", placebo=False, post_months=h, pre_months=W
                )
                hits.append(abs(est.estimate) > c)
            observed = float(np.mean(hits))
            print(province, d, round(stated, 3), round(observed, 3))
            checked += 1
            assert abs(observed - stated) <= 0.05 + 1e-9, (province, d, stated, observed)
    assert checked == 6


@pytest.mark.render
def test_document_renders_large_and_small_province_vi_en(synthetic_dir, tmp_path):
    import pypdf

    from analysis import config
    from analysis.report.render import render

    for province, lang in [("Hà Nội", "vi"), ("Lai Châu", "en")]:
        out = tmp_path / province
        done = render(
            config.NOTEBOOKS_DIR / "50_evaluation_plan.ipynb",
            {
                "province": province,
                "start": "2027-01",
                "lang": lang,
                "data_path": str(synthetic_dir),
                "designs": "its,did,synth",
            },
            out,
            f"plan_{lang}",
            ("html", "pdf", "xlsx"),
        )
        for kind in ("html", "pdf", "xlsx"):
            assert done.outputs[kind].is_file()
        text = "".join(p.extract_text() for p in pypdf.PdfReader(done.outputs["pdf"]).pages)
        assert province in text
        if lang == "vi":
            assert "Tác động nhỏ nhất có thể phát hiện" in text
            assert "điểm phần trăm" in text
        else:
            assert "Minimum detectable effect" in text
            assert "Tác động" not in text
