"""Triangulation across designs: verdicts, the agrees column, diagnostics read, prose, bad input.

Every result here is written by hand (estimate, interval, diagnostics), so the verdict follows
from the module's rules on paper: a result is a significant increase when its interval lies
above 0, a decrease when below, otherwise not significant. No tolerances: nothing is estimated.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.designs.result import EffectResult, Window
from analysis.designs.triangulate import VERDICTS, Triangulation, triangulate
from analysis.errors import WorkbenchError

START = pd.Timestamp("2022-07-01")
LABELS = {
    "its": {"vi": "Chuỗi thời gian ngắt quãng", "en": "Interrupted time series"},
    "did": {"vi": "Sai khác kép", "en": "Difference-in-differences"},
    "cs": {"vi": "Sai khác kép so le", "en": "Staggered difference-in-differences"},
    "synth": {"vi": "Đối chứng tổng hợp", "en": "Synthetic control"},
    "sdid": {"vi": "Sai khác kép tổng hợp", "en": "Synthetic difference-in-differences"},
}


def _result(
    method: str,
    estimate: float,
    low: float,
    high: float,
    p: float = 0.01,
    unit: str = "pp",
    outcome: str = "online_rate",
    **diagnostics,
) -> EffectResult:
    return EffectResult(
        method=method,
        outcome=outcome,
        treated=("Thái Nguyên",),
        start=START,
        window=Window(pd.Timestamp("2020-01-01"), pd.Timestamp("2022-06-01"), START, START),
        n_pre=30,
        n_post=1,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        ci_level=0.95,
        p_value=p,
        se=(high - low) / 3.92,
        by_period=pd.DataFrame(
            {
                "period": [START],
                "post": [True],
                "effect": [estimate],
                "effect_low": [low],
                "effect_high": [high],
            }
        ),
        diagnostics=diagnostics,
        assumptions={"vi": "…", "en": "…"},
        method_label=LABELS[method],
        unit=unit,
    )


def test_agree_effect() -> None:
    its = _result("its", 8.1, 5.2, 11.0, placebo_p_value=0.6)
    synth = _result("synth", 7.0, 4.0, 10.0, p=0.02, pre_rmspe=1.0, pre_r_squared=0.95)
    tri = triangulate([its, synth])
    assert isinstance(tri, Triangulation)
    assert tri.verdict == "agree_effect"
    assert tri.unit == "pp"
    assert tri.table["agrees"].tolist() == [True, True]
    assert tri.table["overlaps"].tolist() == [True, True]
    assert tri.table["method"].tolist() == ["its", "synth"]
    assert tri.table["label"].tolist() == ["Chuỗi thời gian ngắt quãng", "Đối chứng tổng hợp"]
    assert tri.table["issues"].tolist() == ["", ""]
    vi, en = tri.text["vi"], tri.text["en"]
    assert vi.startswith("Các phương pháp thống nhất: cả 2 phương pháp")
    assert "làm tăng tỷ lệ hồ sơ nộp trực tuyến" in vi
    assert "từ 7,0 đến 8,1 điểm phần trăm" in vi
    assert "Các khoảng tin cậy giao nhau" in vi
    assert "xu hướng trước đó của chính tỉnh" in vi and "các tỉnh so sánh" in vi
    assert "không phát hiện vấn đề" in vi
    assert en.startswith("The designs agree: all 2 (the interrupted time series and the synthetic")
    assert "increased the share of dossiers submitted online" in en
    assert "from 7.0 to 8.1 percentage points" in en
    assert "placebo in time" in en and "pre-period fit" in en
    assert tri.headline["vi"] == "Các phương pháp thống nhất: có tác động"


def test_agree_on_direction_not_size() -> None:
    # Both above zero, but [6, 10] and [1, 3] do not meet.
    tri = triangulate([_result("its", 8.0, 6.0, 10.0), _result("did", 2.0, 1.0, 3.0)])
    assert tri.verdict == "agree_effect"
    assert tri.table["agrees"].all()
    assert not tri.table["overlaps"].any()
    assert "không giao nhau" in tri.text["vi"]
    assert "agree on the direction but not on the size" in tri.text["en"]


def test_agree_no_effect() -> None:
    results = [
        _result("its", 0.8, -1.5, 3.1, p=0.5, placebo_p_value=0.4),
        _result("did", -0.4, -2.0, 1.2, p=0.6),
        _result("sdid", 0.2, -1.0, 1.4, p=0.7, pre_rmse=0.5),
    ]
    tri = triangulate(results, lang="en")
    assert tri.verdict == "agree_no_effect"
    assert tri.table["agrees"].all() and tri.table["overlaps"].all()
    assert not tri.table["significant"].any()
    assert "none of the 3" in tri.text["en"]
    assert "từ −0,4 đến 0,8 điểm phần trăm" in tri.text["vi"]
    assert "mọi khoảng tin cậy đều chứa 0" in tri.text["vi"]
    # A non-significant result's pre-fit error is not held against it.
    assert tri.table["issues"].tolist() == ["", "", ""]
    assert tri.table["label"].tolist()[0] == "Interrupted time series"


def test_disagree_sign_trusts_the_design_that_passes_its_checks() -> None:
    # The ITS finds +8 but its placebo in time fails: a concurrent shock is likely. The
    # synthetic control finds −3 with a good pre-period fit.
    its = _result("its", 8.0, 5.0, 11.0, placebo_p_value=0.01)
    synth = _result("synth", -3.0, -5.0, -1.0, p=0.03, pre_rmspe=0.8, pre_r_squared=0.97)
    tri = triangulate([its, synth])
    assert tri.verdict == "disagree_sign"
    # One each way: the tie goes to the result without warnings.
    assert tri.table["agrees"].tolist() == [False, True]
    assert tri.table["issues"][0] == (
        "kiểm định giả theo thời gian tìm thấy tác động không có thật (p = 0,010)"
    )
    vi, en = tri.text["vi"], tri.text["en"]
    assert vi.startswith("Các phương pháp mâu thuẫn về chiều tác động: chuỗi thời gian ngắt quãng")
    assert "cú sốc khác cùng thời điểm" in vi and "nhóm tỉnh so sánh chưa phù hợp" in vi
    assert "Nên tin cậy hơn vào đối chứng tổng hợp" in vi
    assert "concurrent shock" in en and "poor comparison group" in en
    assert "Give more weight to the synthetic control" in en
    assert "the placebo in time finds an effect where there is none (p = 0.010)" in en


def test_disagree_significance_with_a_failed_pretest() -> None:
    its = _result("its", 6.0, 3.0, 9.0, placebo_p_value=0.4)
    cs = _result("cs", 2.0, -1.0, 5.0, p=0.2, pretest_p_value=0.004)
    tri = triangulate([its, cs])
    assert tri.verdict == "disagree_significance"
    assert tri.table["agrees"].tolist() == [True, False]  # tie → the one without warnings
    assert "bác bỏ giả định xu hướng song song (p = 0,004)" in tri.text["vi"]
    assert "còn sai khác kép so le (Callaway–Sant'Anna) thì không" in tri.text["vi"]
    assert "the pre-trend test rejects parallel trends (p = 0.004)" in tri.text["en"]


def test_majority_decides_agrees() -> None:
    results = [
        _result("its", 6.0, 3.0, 9.0),
        _result("did", 5.0, 2.0, 8.0, n_treated=10, twfe_negative_weights=0),
        _result("synth", 0.5, -2.0, 3.0, p=0.4, pre_rmspe=1.0, pre_r_squared=0.9),
    ]
    tri = triangulate(results)
    assert tri.verdict == "disagree_significance"
    assert tri.table["agrees"].tolist() == [True, True, False]


def test_comparison_designs_only_disagree() -> None:
    results = [
        _result("did", 5.0, 2.0, 8.0, n_treated=1, twfe_negative_weights=0),
        _result("synth", -4.0, -6.0, -2.0, pre_rmspe=5.0, pre_r_squared=0.5),
    ]
    tri = triangulate(results, lang="en")
    assert tri.verdict == "disagree_sign"
    assert "use comparison provinces in different ways" in tri.text["en"]
    assert "own earlier trend" not in tri.text["en"]
    # Both flagged: few treated units for DiD; poor fit (R² and RMSPE ≥ |estimate|) for synth.
    assert "Every design has a warning" in tri.text["en"]
    assert "few treated units (1)" in tri.table["issues"][0]
    issues = tri.table["issues"][1]
    assert "(R² = 0.50)" in issues and "(5.0 percentage points)" in issues


def test_did_negative_weights_and_outside_range() -> None:
    results = [
        _result("did", 5.0, 2.0, 8.0, n_treated=12, twfe_negative_weights=3),
        _result("synth", 6.0, 3.0, 9.0, pre_rmspe=0.5, pre_outside_donor_range=0.4),
    ]
    tri = triangulate(results, lang="en")
    assert "gives 3 treated unit-periods a negative weight" in tri.table["issues"][0]
    assert "outside every comparison province's range in 40% of" in tri.table["issues"][1]


def test_single() -> None:
    tri = triangulate([_result("its", 8.1, 5.2, 11.0, p=0.001, placebo_p_value=0.5)])
    assert tri.verdict == "single"
    assert tri.text["vi"].startswith(
        "Chỉ có một phương pháp (chuỗi thời gian ngắt quãng) nên chưa thể đối chiếu"
    )
    assert "Biện pháp làm tăng tỷ lệ hồ sơ nộp trực tuyến 8,1 điểm phần trăm" in tri.text["vi"]
    assert "nothing to triangulate" in tri.text["en"]


def test_same_design_twice_uses_full_labels() -> None:
    results = [_result("its", 6.0, 3.0, 9.0), _result("its", 5.5, 2.5, 8.5)]
    tri = triangulate(results, lang="en")
    assert tri.verdict == "agree_effect"
    assert "Interrupted time series and Interrupted time series" in tri.text["en"]


def test_raw_units_and_panel_outcome_names() -> None:
    # Panel designs name the numerator column; in pp it is read as its rate.
    results = [
        _result("did", 5.0, 2.0, 8.0, outcome="dossiers_online"),
        _result("sdid", 4.0, 1.0, 7.0, outcome="dossiers_online"),
    ]
    assert "tỷ lệ hồ sơ nộp trực tuyến" in triangulate(results).text["vi"]
    raw = [
        _result("did", 50.0, 20.0, 80.0, unit="", outcome="cigsale"),
        _result("synth", 40.0, 10.0, 70.0, unit="", outcome="cigsale"),
    ]
    tri = triangulate(raw, lang="en")
    assert tri.unit == ""
    assert "from 40.0 to 50.0." in tri.text["en"]
    assert "percentage points" not in tri.text["en"]
    assert "the outcome" in tri.text["en"]


def test_synth_without_interval_uses_its_p_value() -> None:
    synth = _result("synth", 6.0, math.nan, math.nan, p=0.02, pre_rmspe=1.0)
    tri = triangulate([_result("its", 7.0, 4.0, 10.0), synth])
    assert tri.verdict == "agree_effect"
    assert tri.table["significant"].tolist() == [True, True]


def test_every_verdict_is_listed() -> None:
    assert set(VERDICTS) == {
        "agree_effect",
        "agree_no_effect",
        "disagree_sign",
        "disagree_significance",
        "single",
    }


def test_vietnamese_prose_is_precomposed_and_has_diacritics() -> None:
    tri = triangulate(
        [_result("its", 8.0, 5.0, 11.0, placebo_p_value=0.01), _result("did", -3.0, -5.0, -1.0)]
    )
    import unicodedata

    assert unicodedata.normalize("NFC", tri.text["vi"]) == tri.text["vi"]
    for word in ("phương pháp", "tỉnh", "giả định", "thời điểm", "cảnh báo", "nên tin cậy hơn"):
        assert word in tri.text["vi"].lower()


BAD = [
    ("empty", [], {}, "no results"),
    ("not a result", ["x"], {}, "not an EffectResult"),
    (
        "mixed units",
        [_result("its", 8.0, 5.0, 11.0), _result("did", 80.0, 50.0, 110.0, unit="")],
        {},
        "different units",
    ),
    ("no estimate", [_result("its", math.nan, 5.0, 11.0)], {}, "no estimate"),
    (
        "no inference",
        [_result("synth", 6.0, math.nan, math.nan, p=math.nan)],
        {},
        "neither an interval nor a p-value",
    ),
    ("language", [_result("its", 8.0, 5.0, 11.0)], {"lang": "fr"}, "unknown language"),
]


@pytest.mark.parametrize(
    ("results", "kwargs", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input(results, kwargs, message: str) -> None:
    with pytest.raises(WorkbenchError, match=message):
        triangulate(results, **kwargs)


def test_a_placebo_test_that_cannot_reject_is_flagged_as_uninformative() -> None:
    # 7 donors: the smallest placebo p-value is 1/8 = 0.125 > 0.05.
    synth = _result("synth", 5.0, -math.inf, math.inf, p=0.125, min_p_value=0.125)
    tri = triangulate([_result("its", 4.7, 3.8, 5.5), synth], lang="en")
    assert tri.verdict == "disagree_significance"
    assert tri.table["overlaps"].all()
    assert "cannot give a p-value below 0.125" in tri.text["en"]
    assert "không thể cho giá trị p nhỏ hơn 0,125" in tri.text["vi"]
