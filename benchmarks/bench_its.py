"""Time the interrupted time series (with its inference) against statsmodels, side by side.

Both fit the same segmented model to the same 72-month series: ours with the AR(1)/REML
covariance, the Satterthwaite df, the counterfactual band and the placebo-in-time refit;
statsmodels the bare OLS with Newey–West errors (what a hand-written analysis would run). The
binomial model is timed too. Medians of ``--repeat`` runs; JSON to benchmarks/results/its.json.

    .venv/bin/python benchmarks/bench_its.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.designs.its import design_matrix, fit_its

ROOT = Path(__file__).resolve().parents[1]


def series(seed: int = 766, n: int = 72, start: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=n, freq="MS")
    t = np.arange(n)
    rate = 0.10 + 0.005 * t + 0.06 * (t >= start) + rng.normal(0, 0.01, n)
    den = rng.integers(15_000, 25_000, n)
    return pd.DataFrame({"month": months, "numerator": rng.binomial(den, rate), "denominator": den})


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    data = series()
    start = data["month"].iloc[42]
    y = 100 * data["numerator"] / data["denominator"]
    x = design_matrix(pd.DatetimeIndex(data["month"]), start)

    def baseline():
        sm.OLS(y.to_numpy(), x.to_numpy()).fit(cov_type="HAC", cov_kwds={"maxlags": 3})

    ours = timed(lambda: fit_its(data, start, post_months=30), args.repeat)
    binomial = timed(lambda: fit_its(data, start, post_months=30, model="binomial"), args.repeat)
    base = timed(baseline, args.repeat)
    result = {
        "months": len(data),
        "fit_its_seconds": round(ours, 4),
        "fit_its_binomial_seconds": round(binomial, 4),
        "statsmodels_ols_hac_seconds": round(base, 4),
        "ratio_fit_its_to_statsmodels": round(ours / base, 1),
        "note": "fit_its includes REML for rho, the counterfactual band and the placebo refit",
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "its.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
