"""The evaluation plan: exact shift by an injected effect, vectorised draws equal to the public
fits, stated power against fresh simulations (the generator of benchmarks/sim_plan.py, written
apart from synthetic/panel.py), and the document in vi and en for a large and a small province."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.designs.did import fit_did
from analysis.designs.its import fit_its
from analysis.documents import plan
from analysis.evaluation.effects import canonical_frame

ROOT = Path(__file__).resolve().parents[2]
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


# --- stated power against fresh simulations (benchmarks/sim_plan.py) ----------------------------


def _study():
    """benchmarks/sim_plan.py: the generator with known noise, written apart from synthetic/panel.py."""
    spec = importlib.util.spec_from_file_location("sim_plan", ROOT / "benchmarks" / "sim_plan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.simulation
def test_stated_power_matches_fresh_simulations_on_a_known_generator():
    """ITS at the sizes of 30, 60 and 90 % stated power, 400 fresh panels each. The same check
    for DiD and the one on fresh synthetic panels are known gaps (issue 17 report), measured by
    ``benchmarks/sim_plan.py`` rather than run as xfail tests that cannot fail."""
    rows = _study().known_generator("its")
    assert len(rows) == 3
    for design, d, stated, observed in rows:
        print(design, d, round(stated, 3), round(observed, 3))
        assert abs(observed - stated) <= 0.05 + 1e-9, (design, d, stated, observed)


@pytest.mark.render
def test_document_renders_large_and_small_province_vi_en(synthetic_dir, tmp_path):
    import pypdf

    from analysis import config
    from analysis.render.document import render

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
