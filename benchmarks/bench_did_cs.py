"""Time the DiD designs on a province-month panel and check TWFE against independent fits.

The panel is random (``numpy.random.default_rng(766)``): 63 provinces × 72 months
(2020-01 to 2025-12), binomial online submissions out of about 20,000 dossiers a month, four
adoption cohorts and 23 never-treated provinces. The same is timed on the embedded synthetic
panel (``synth.generate(seed=766)``, old63 boundary, 2020-01 to 2025-06: 66 months, the last
month before the merger), with random cohorts.

Timed, each the median of ``--repeat`` runs in this process:

* ``fit_cs`` with 999 bootstrap draws (target: at most 2 s);
* ``fit_did`` (TWFE by two-way demeaning, unit-clustered standard error);
* statsmodels OLS on unit and month dummies with ``cov_type="cluster"``: the same estimator,
  so the coefficient and standard error must agree to rounding; the ratio of times is printed;
* pyfixest ``feols("y ~ d | unit + month", vcov={"CRV1": "unit"})`` when it can be imported
  (it is not a project dependency: ``pip install --target /tmp/pyfx pyfixest`` and pass
  ``--pyfixest-path /tmp/pyfx``; skipped otherwise). Its default small-sample correction does
  not count the unit fixed effects in K (they are nested in the clusters: K = T + 1 instead
  of G + T), so its standard error is smaller by sqrt((N − G − T)/(N − T − 1)); with
  ``ssc(fixef_k="full")`` it must match.

Results are printed and written to benchmarks/results/did_cs.json.

    .venv/bin/python benchmarks/bench_did_cs.py [--repeat 5] [--pyfixest-path /tmp/pyfx]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from analysis import panel
from analysis.designs.cs import fit_cs
from analysis.designs.did import fit_did
from analysis.synthetic import panel as synth

ROOT = Path(__file__).resolve().parents[1]
COHORT_MONTHS = ["2022-01-01", "2022-07-01", "2023-03-01", "2024-01-01"]


def random_panel(seed: int = 766, n_units: int = 63, n_months: int = 72) -> pd.DataFrame:
    """Counts with an online share on unit-specific levels and a common trend, +4 pp effect."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=n_months, freq="MS")
    units = [f"P{i:02d}" for i in range(n_units)]
    cohorts = pd.to_datetime(
        [COHORT_MONTHS[i % 4] if i < 40 else None for i in range(n_units)]
    ).to_numpy(dtype="datetime64[ns]")
    level = rng.uniform(20, 60, n_units)[:, None]
    trend = 0.3 * np.arange(n_months)[None, :]
    treated = (~np.isnat(cohorts))[:, None] & (months.values[None, :] >= cohorts[:, None])
    share = np.clip(level + trend + 4.0 * treated + rng.normal(0, 1.5, treated.shape), 1, 99)
    received = rng.poisson(20_000, treated.shape)
    online = rng.binomial(received, share / 100)
    return pd.DataFrame(
        {
            "province": np.repeat(units, n_months),
            "month": np.tile(months, n_units),
            "dossiers_online": online.ravel(),
            "dossiers_received": received.ravel(),
            "first_treat": np.repeat(cohorts, n_months),
        }
    )


def synthetic_panel(seed: int = 766) -> pd.DataFrame:
    data = panel.aggregate(synth.generate(seed=seed).panel, levels="sum")
    data = data[(data["boundary"] == "old63") & (data["month"] <= "2025-06-01")]
    rng = np.random.default_rng(seed)
    provinces = sorted(data["province"].unique())
    first = {
        p: (pd.Timestamp(rng.choice(COHORT_MONTHS)) if rng.random() < 0.6 else pd.NaT)
        for p in provinces
    }
    return data.assign(first_treat=data["province"].map(first))[
        ["province", "month", "dossiers_online", "dossiers_received", "first_treat"]
    ]


def median_time(fn, repeat: int) -> tuple[float, object]:
    out = fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def with_rate(data: pd.DataFrame) -> pd.DataFrame:
    frame = data.copy()
    frame["y"] = 100 * frame["dossiers_online"] / frame["dossiers_received"]
    frame["d"] = (frame["first_treat"].notna() & (frame["month"] >= frame["first_treat"])).astype(
        float
    )
    frame["unit_code"] = frame["province"].astype("category").cat.codes
    return frame


def bench(data: pd.DataFrame, repeat: int, pyfixest_path: str | None) -> dict:
    kwargs = dict(
        unit="province",
        time="month",
        outcome="dossiers_online",
        denominator="dossiers_received",
        cohort="first_treat",
    )
    n_units, n_months = data["province"].nunique(), data["month"].nunique()
    cs_s, cs = median_time(lambda: fit_cs(data, bootstrap=999, seed=766, **kwargs), repeat)
    did_s, did = median_time(lambda: fit_did(data, **kwargs), repeat)
    frame = with_rate(data)

    def statsmodels_fit():
        return smf.ols("y ~ d + C(province) + C(month)", data=frame).fit(
            cov_type="cluster", cov_kwds={"groups": frame["unit_code"]}, use_t=True
        )

    sm_s, sm = median_time(statsmodels_fit, repeat)
    n_obs = n_units * n_months
    result = {
        "panel": {"units": n_units, "months": n_months, "cohorts": cs.diagnostics["n_groups"]},
        "fit_cs_seconds_999_draws": round(cs_s, 4),
        "fit_cs_estimate": cs.estimate,
        "fit_did_seconds": round(did_s, 4),
        "statsmodels_dummies_seconds": round(sm_s, 4),
        "ratio_statsmodels_to_fit_did": round(sm_s / did_s, 1),
        "did_coefficient": did.estimate,
        "did_se": did.se,
        "statsmodels_coefficient": float(sm.params["d"]),
        "statsmodels_se": float(sm.bse["d"]),
        "abs_diff_coefficient_vs_statsmodels": abs(did.estimate - float(sm.params["d"])),
        "rel_diff_se_vs_statsmodels": abs(did.se / float(sm.bse["d"]) - 1),
    }
    if pyfixest_path:
        sys.path.append(pyfixest_path)
    try:
        import pyfixest as pf
    except ImportError as exc:
        result["pyfixest"] = {"skipped": f"not importable ({exc})"}
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def pyfixest_fit():
            return pf.feols("y ~ d | province + month", data=frame, vcov={"CRV1": "province"})

        pf_s, fit = median_time(pyfixest_fit, repeat)
        full = pf.feols(
            "y ~ d | province + month",
            data=frame,
            vcov={"CRV1": "province"},
            ssc=pf.ssc(fixef_k="full"),
        )
    pf_coef, pf_se = float(fit.coef()["d"]), float(fit.se()["d"])
    result["pyfixest"] = {
        "version": pf.__version__,
        "seconds": round(pf_s, 4),
        "ratio_pyfixest_to_fit_did": round(pf_s / did_s, 1),
        "coefficient": pf_coef,
        "se_default_ssc": pf_se,
        "se_fixef_k_full": float(full.se()["d"]),
        "abs_diff_coefficient": abs(did.estimate - pf_coef),
        "ratio_se_default_to_ours": pf_se / did.se,
        "expected_ratio_nested_fixef_k": math.sqrt(
            (n_obs - n_units - n_months) / (n_obs - n_months - 1)
        ),
        "rel_diff_se_fixef_k_full": abs(float(full.se()["d"]) / did.se - 1),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pyfixest-path", default="/tmp/pyfx")
    args = parser.parse_args()
    path = args.pyfixest_path if Path(args.pyfixest_path).is_dir() else None
    result = {
        "random_63x72": bench(random_panel(), args.repeat, path),
        "synthetic_old63_66_months": bench(synthetic_panel(), args.repeat, path),
        "repeat": args.repeat,
        "cpu_count": __import__("os").cpu_count(),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "did_cs.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
