"""What each design assumes and found, in Vietnamese and English: the text of
``EffectResult.assumptions``, apart from the numerics that compute the facts it states."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.designs.data import PanelInput
from analysis.designs.placebo import min_placebos
from analysis.designs.result import format_number, format_p_value, outcome_label
from analysis.designs.rules import (
    CI_AVERAGE,
    CI_CONSTANT,
    FEW_CLUSTERS,
    FEW_CONTROLS,
    FEW_TREATED,
    POOR_FIT_R2,
    SMALL_COHORT,
    WALD_UNITS_PER_TEST,
    wald_reliable,
)
from analysis.panel import RATES


def month_text(ts: pd.Timestamp, lang: str) -> str:
    """A month in a sentence: "tháng 6/2023" (vi) or "2023-06" (en)."""
    return f"tháng {ts.month}/{ts.year}" if lang == "vi" else f"{ts:%Y-%m}"


def its_assumptions(
    data: Any,  # analysis.designs.its._Series: the validated window
    outcome: str,
    seasonality: str,
    diagnostics: dict[str, Any],
    post_months: int | None,
    model: str = "ols",
) -> dict[str, str]:
    """The interrupted time series' assumptions and checks, in Vietnamese and English.

    Returns
    -------
    dict of str to str
        ``{"vi": ..., "en": ...}``: the model and its errors, the seasonality, the window, the
        placebo-in-time result and the warnings the diagnostics call for.
    """
    n_pre, lags = data.n_pre, diagnostics["hac_lags"]
    season_vi = {
        "tet": " (đã tính đến số ngày nghỉ Tết)",
        "tet+month": " (đã tính đến số ngày nghỉ Tết và mùa vụ theo tháng)",
        "none": "",
    }[seasonality]
    season_en = {
        "tet": " (allowing for the Tết holiday days)",
        "tet+month": " (allowing for the Tết holiday days and the month of the year)",
        "none": "",
    }[seasonality]
    scale_vi = " trên thang log-odds (logit)" if model == "binomial" else ""
    scale_en = " on the log-odds (logit) scale" if model == "binomial" else ""
    vi = [
        f"Phương pháp giả định rằng nếu không có biện pháp, {outcome_label(outcome, 'vi')} sẽ "
        f"tiếp tục theo xu hướng tuyến tính{scale_vi} của {n_pre} tháng trước đó{season_vi}, "
        "và không có sự kiện nào khác cùng thời điểm (biện pháp khác, thay đổi cách thống kê, "
        "sáp nhập) làm thay đổi chỉ tiêu này."
    ]
    en = [
        f"The design assumes that without the measure the {outcome_label(outcome, 'en')} would "
        f"have continued the linear trend{scale_en} of the {n_pre} months before{season_en}, "
        "and that no other event at the same time (another measure, a change in recording, a "
        "merger) moved it."
    ]
    if model == "binomial":
        phi = diagnostics.get("dispersion", math.nan)
        vi.append(
            "Mô hình hồi quy logistic trên số hồ sơ giữ tỷ lệ dự báo trong khoảng 0–100 %, phù "
            "hợp khi tỷ lệ gần 0 % hoặc 100 %; tác động được quy đổi ra điểm phần trăm. Biến "
            "động vượt mức của phân phối nhị thức (hệ số phân tán "
            f"{format_number(phi, 'vi', 1)}) được ước lượng từ phần dư Pearson."
        )
        en.append(
            "A logistic model of the counts keeps predicted rates within 0–100 %, which suits "
            "rates near 0 or 100 %; effects are converted to percentage points. Variation "
            f"beyond binomial sampling (dispersion {format_number(phi, 'en', 1)}) is estimated "
            "from the Pearson residuals."
        )
    rho = diagnostics.get("ar1_rho", math.nan)
    if diagnostics["cov_type"] == "hac":
        vi.append(
            "Tương quan của sai số theo thời gian được xử lý bằng sai số chuẩn Newey–West "
            f"({lags} độ trễ)."
        )
        en.append(f"Correlation of errors over time is handled with Newey–West ({lags} lags).")
    elif math.isfinite(rho):
        vi.append(
            "Tương quan của sai số theo thời gian được mô hình hóa bằng quá trình tự hồi quy bậc "
            f"một (ρ = {format_number(rho, 'vi', 2)}, ước lượng bằng REML trên các tháng trước biện pháp)."
        )
        en.append(
            "Correlation of errors over time is modelled as a first-order autoregressive "
            f"process (ρ = {format_number(rho, 'en', 2)}, estimated by REML on the months before the measure)."
        )
    p = diagnostics.get("placebo_p_value", math.nan)
    if "placebo_start" in diagnostics and math.isfinite(p):
        fake = diagnostics["placebo_start"]
        if p < 0.05:
            vi.append(
                "Cảnh báo: kiểm định giả (placebo) với thời điểm giả "
                f"{month_text(fake, 'vi')} tìm thấy một tác động không có thật "
                f"({format_p_value(p, 'vi')}): xu hướng trước biện pháp không ổn định, cần thận "
                "trọng khi diễn giải kết quả."
            )
            en.append(
                f"Warning: a placebo test with a fake start in {month_text(fake, 'en')} finds "
                f"an effect where there is none ({format_p_value(p, 'en')}): the trend before "
                "the measure is not stable, so read the estimate with caution."
            )
        else:
            vi.append(
                "Kiểm định giả (placebo) với thời điểm giả "
                f"{month_text(fake, 'vi')} không tìm thấy tác động ({format_p_value(p, 'vi')}), "
                "phù hợp với giả định xu hướng ổn định."
            )
            en.append(
                f"A placebo test with a fake start in {month_text(fake, 'en')} finds no effect "
                f"({format_p_value(p, 'en')}), consistent with a stable trend."
            )
    elif "placebo_skipped" not in diagnostics:
        vi.append("Không thực hiện được kiểm định giả (placebo) vì giai đoạn trước quá ngắn.")
        en.append("The placebo test could not be run: the pre-period is too short.")
    if n_pre < 24:
        vi.append(
            f"Giai đoạn trước chỉ có {n_pre} tháng (dưới 24), nên xu hướng ước lượng kém chắc chắn."
        )
        en.append(f"The pre-period has only {n_pre} months (under 24), so the trend is uncertain.")
    dw = diagnostics.get("durbin_watson", math.nan)
    if math.isfinite(dw) and (dw < 1.5 or dw > 2.5):
        vi.append(
            f"Thống kê Durbin–Watson bằng {format_number(dw, 'vi', 2)} cho thấy phần dư còn tự "
            "tương quan; khoảng tin cậy đã tính đến điều này"
            + (" nhưng có thể vẫn hơi hẹp." if diagnostics["cov_type"] == "hac" else ".")
        )
        en.append(
            f"The Durbin–Watson statistic of {format_number(dw, 'en', 2)} shows autocorrelated "
            "residuals; the interval allows for it"
            + (" but may still be somewhat narrow." if diagnostics["cov_type"] == "hac" else ".")
        )
    if data.post_truncated and post_months is not None:
        n_post = len(data.y) - n_pre
        vi.append(f"Chỉ có {n_post} tháng sau biện pháp (yêu cầu {post_months} tháng).")
        en.append(f"Only {n_post} months after the measure are available ({post_months} asked).")
    return {"vi": " ".join(vi), "en": " ".join(en)}


def rate_article(outcome: str) -> str:
    """The article before a rate's English label; none before a bare column name."""
    return " the" if outcome in RATES else ""


def did_assumptions(
    outcome: str, diagnostics: dict[str, Any], staggered: bool, n_pre: int, step: dict[str, str]
) -> dict[str, str]:
    """Difference-in-differences' assumptions and checks, in Vietnamese and English.

    Returns
    -------
    dict of str to str
        ``{"vi": ..., "en": ...}``: parallel trends and its pre-trend test, the inference used
        (few treated units, few clusters) and the warnings the diagnostics call for.
    """
    n_t, n_c = diagnostics["n_treated"], diagnostics["n_control"]
    vi = [
        "Phương pháp so sánh thay đổi của "
        f"{outcome_label(outcome, 'vi')} ở {n_t} đơn vị áp dụng biện pháp với thay đổi ở "
        f"{n_c} đơn vị đối chứng, và giả định rằng nếu không có biện pháp thì hai nhóm sẽ biến "
        "động song song (giả định xu hướng song song), rằng chỉ tiêu không thay đổi trước khi "
        "biện pháp có hiệu lực vì được biết trước (không có tác động đón trước), và rằng tác "
        "động như nhau ở mọi đơn vị và mọi thời điểm (tác động đồng nhất).",
    ]
    en = [
        f"The design compares the change in{rate_article(outcome)} {outcome_label(outcome, 'en')} in the {n_t} "
        f"units with the measure with the change in {n_c} comparison units, and assumes that "
        "without the measure both groups would have moved in parallel (parallel trends), that "
        "the outcome did not move before the measure because it was expected (no "
        "anticipation), and that the effect is the same in every unit and period (homogeneous "
        "effects).",
    ]
    if staggered:
        neg = diagnostics["twfe_negative_weights"]
        vi.append(
            "Các đơn vị áp dụng biện pháp vào những thời điểm khác nhau: khi đó hồi quy hiệu ứng "
            "cố định hai chiều bị chệch nếu tác động khác nhau giữa các nhóm hoặc thay đổi theo "
            "thời gian, vì nó dùng các đơn vị đã áp dụng làm đối chứng"
            + (f" ({neg} ô đơn vị–kỳ được điều trị có trọng số âm)" if neg else "")
            + "; nên dùng phương pháp Callaway & Sant'Anna (fit_cs) để kiểm tra."
        )
        en.append(
            "The units adopted the measure at different times: two-way fixed effects are then "
            "biased when effects differ between cohorts or change over time, because already "
            "treated units serve as comparisons"
            + (f" ({neg} treated unit-periods get a negative weight)" if neg else "")
            + "; use the Callaway & Sant'Anna design (fit_cs) to check."
        )
    else:
        vi.append(
            "Nếu tác động tăng dần theo thời gian, ước lượng là mức trung bình của giai đoạn sau."
        )
        en.append("If the effect builds up over time, the estimate is its post-period average.")
    if not math.isfinite(diagnostics["se"]):
        vi.append(
            "Không ước lượng được độ bất định: sai số chuẩn cụm bằng 0 (thường do chỉ có một "
            "đơn vị áp dụng và một đơn vị đối chứng), nên không có khoảng tin cậy và giá trị p."
        )
        en.append(
            "The uncertainty cannot be estimated: the clustered standard error is zero (usually "
            "one treated and one comparison unit), so there is no interval and no p-value."
        )
    elif n_t < FEW_TREATED and diagnostics.get("inference") == "placebo":
        vi.append(
            f"Chỉ có {n_t} đơn vị áp dụng biện pháp, nên sai số chuẩn cụm không dùng được; khoảng "
            f"tin cậy lấy từ độ phân tán của {diagnostics['n_placebos']} lần ước lượng giả "
            "(chuyển biện pháp sang các đơn vị đối chứng)."
        )
        en.append(
            f"Only {n_t} units have the measure, so clustered errors cannot be used; the interval "
            f"comes from the spread of {diagnostics['n_placebos']} placebo estimates (the measure "
            "moved to comparison units)."
        )
    elif n_t < FEW_TREATED:
        vi.append(
            f"Chỉ có {n_t} đơn vị áp dụng biện pháp: sai số chuẩn cụm theo đơn vị khi đó thường "
            "quá nhỏ và khoảng tin cậy quá hẹp; nên đối chiếu với phương pháp đối chứng tổng hợp "
            "hoặc kiểm định giả (placebo) trên các đơn vị đối chứng."
        )
        en.append(
            f"Only {n_t} units have the measure: unit-clustered standard errors are then "
            "usually too small and the interval too narrow; compare with a synthetic control "
            "or placebo runs on the comparison units."
        )
    elif diagnostics["n_clusters"] < FEW_CLUSTERS:
        vi.append(
            f"Sai số chuẩn được tính theo cụm với {diagnostics['n_clusters']} đơn vị (dưới "
            f"{FEW_CLUSTERS}), nên có thể hơi nhỏ."
        )
        en.append(
            f"Standard errors are clustered on {diagnostics['n_clusters']} units (under "
            f"{FEW_CLUSTERS}), so they may be somewhat small."
        )
    added = diagnostics.get("sampling_var_added", math.nan)
    if math.isfinite(diagnostics["se"]) and math.isfinite(added) and added > 0:
        before = diagnostics["se_without_sampling"]
        vi.append(
            "Đơn vị áp dụng biện pháp có ít hồ sơ hơn các đơn vị đối chứng, nên sai số chuẩn "
            "được cộng thêm phương sai lấy mẫu nhị thức của chính nó (phần vượt so với đơn vị "
            f"đối chứng): sai số chuẩn tăng từ {format_number(before, 'vi', 2)} lên "
            f"{format_number(diagnostics['se'], 'vi', 2)}."
        )
        en.append(
            "The treated units have fewer dossiers than the comparison units, so their own "
            "binomial sampling variance (its excess over the comparison units') is added: the "
            f"standard error rises from {format_number(before, 'en', 2)} to "
            f"{format_number(diagnostics['se'], 'en', 2)}."
        )
    gap = diagnostics["pre_gap_rmse"]
    vi.append(
        f"Trước biện pháp ({n_pre} {step['vi']}), chênh lệch giữa giá trị quan sát và kịch bản "
        f"đối chứng của nhóm áp dụng có độ lớn trung bình {format_number(gap, 'vi', 2)} (căn "
        "bậc hai của trung bình bình phương): chênh lệch này càng nhỏ và không có xu hướng thì "
        "giả định xu hướng song song càng đáng tin."
    )
    en.append(
        f"Before the measure ({n_pre} {step['en']}) the treated group's observed values differ from "
        f"its counterfactual by {format_number(gap, 'en', 2)} on average (root mean square): the "
        "smaller and more trendless this gap, the more credible the parallel trends."
    )
    return {"vi": " ".join(vi), "en": " ".join(en)}


def sdid_assumptions(
    pi: PanelInput,
    treated: tuple[str, ...],
    t0: int,
    tau: float,
    se: float,
    diagnostics: dict[str, Any],
) -> dict[str, str]:
    """Synthetic difference-in-differences' assumptions and checks, in Vietnamese and English.

    Returns
    -------
    dict of str to str
        ``{"vi": ..., "en": ...}``: the weights, the placebo variance and its controls, the
        treated units' own sampling noise.
    """
    name = ", ".join(treated)
    n0, n1 = diagnostics["n_controls"], diagnostics["n_treated"]
    out_vi, out_en = outcome_label(pi.outcome, "vi"), outcome_label(pi.outcome, "en")
    vi = [
        f"Phương pháp sai khác kép tổng hợp so sánh {name} với bình quân có trọng số của {n0} "
        "đơn vị đối chứng: trọng số đơn vị được chọn để nhóm đối chứng có xu hướng song song với "
        f"{name} trong {t0} kỳ trước biện pháp (cho phép chênh lệch về mức), và trọng số thời gian "
        "nhấn mạnh những kỳ trước biện pháp giống giai đoạn sau nhất. Phương pháp giả định rằng "
        f"nếu không có biện pháp, chênh lệch giữa {name} và nhóm đối chứng có trọng số về "
        f"{out_vi} sẽ giữ nguyên; các đơn vị đối chứng không chịu tác động của biện pháp, cũng "
        "không có biện pháp tương tự trong cùng giai đoạn; và không có thay đổi nào xảy ra trước "
        "khi biện pháp có hiệu lực."
    ]
    en = [
        f"Synthetic difference-in-differences compares {name} with a weighted average of {n0} "
        "comparison units: unit weights make the comparison group's trend parallel to "
        f"{name}'s over the {t0} periods before the measure (a difference in level is allowed), "
        "and time weights stress the pre-measure periods most like the period after. The design "
        f"assumes that without the measure the difference in {out_en} between {name} and the "
        "weighted comparison group would have stayed the same; that the comparison units were "
        "not affected by the measure and had no similar measure in the same period; and that "
        "nothing changed before the measure took effect."
    ]
    reps = diagnostics["placebo_reps"]
    if reps and math.isfinite(se):
        vi.append(
            "Sai số chuẩn được ước lượng bằng phương pháp giả (placebo) của Arkhangelsky và cộng "
            f"sự (2021): {reps} lần gán biện pháp ngẫu nhiên cho {n1} đơn vị đối chứng. Cách này "
            "giả định đơn vị chịu biện pháp có mức dao động như các đơn vị đối chứng."
        )
        en.append(
            "The standard error comes from the placebo method of Arkhangelsky et al. (2021): "
            f"{reps} random reassignments of the measure to {n1} comparison units. It assumes "
            "that the treated units vary as much as the comparison units do."
        )
        added = diagnostics["sampling_var_added"]
        if math.isfinite(added) and added > 0:
            before = diagnostics["se_without_sampling"]
            vi.append(
                "Đơn vị chịu biện pháp có ít hồ sơ hơn các đơn vị đối chứng, nên sai số chuẩn "
                "được cộng thêm phương sai lấy mẫu nhị thức của chính nó (phần vượt so với đơn vị "
                f"đối chứng): sai số chuẩn tăng từ {format_number(before, 'vi', 2)} lên "
                f"{format_number(se, 'vi', 2)}."
            )
            en.append(
                "The treated units have fewer dossiers than the comparison units, so their own "
                "binomial sampling variance (its excess over the comparison units') is added: the "
                f"standard error rises from {format_number(before, 'en', 2)} to "
                f"{format_number(se, 'en', 2)}."
            )
        if n0 < FEW_CONTROLS:
            vi.append(f"Chỉ có {n0} đơn vị đối chứng nên sai số chuẩn này còn thô.")
            en.append(f"With only {n0} comparison units this standard error is rough.")
    else:
        vi.append("Không có sai số chuẩn: cần nhiều đơn vị đối chứng hơn số đơn vị chịu biện pháp.")
        en.append("No standard error: it needs more comparison units than treated units.")
    did, sc = diagnostics["did_estimate"], diagnostics["sc_estimate"]
    vi.append(
        f"Để đối chiếu: sai khác kép thông thường cho {format_number(did, 'vi', 2)}, đối chứng "
        f"tổng hợp cho {format_number(sc, 'vi', 2)} (sai khác kép tổng hợp: "
        f"{format_number(tau, 'vi', 2)})."
    )
    en.append(
        f"For comparison: plain difference-in-differences gives {format_number(did, 'en', 2)}, "
        f"synthetic control {format_number(sc, 'en', 2)} (synthetic DiD: "
        f"{format_number(tau, 'en', 2)})."
    )
    if math.isfinite(se) and se > 0 and abs(did - tau) > 2 * se:
        vi.append(
            "Sai khác kép thông thường khác xa kết quả này: xu hướng trước biện pháp của các đơn "
            "vị không song song nếu không có trọng số."
        )
        en.append(
            "Plain difference-in-differences differs widely from this: without weights the "
            "units' trends before the measure are not parallel."
        )
    return {"vi": " ".join(vi), "en": " ".join(en)}


def synth_assumptions(
    pi: PanelInput, name: str, s: int, diagnostics: dict[str, Any], level: float
) -> dict[str, str]:
    """Synthetic control's assumptions and checks, in Vietnamese and English.

    Returns
    -------
    dict of str to str
        ``{"vi": ..., "en": ...}``: the pre-period fit, the donors, the placebo inference and
        which interval (``CI_CONSTANT`` or ``CI_AVERAGE``) was given, and why.
    """
    out_vi, out_en = outcome_label(pi.outcome, "vi"), outcome_label(pi.outcome, "en")
    n_donors = diagnostics["n_donors"]
    vi = [
        f"Phương pháp đối chứng tổng hợp so sánh {name} với một đơn vị “tổng hợp”: bình quân có "
        f"trọng số của {n_donors} đơn vị khác (trọng số không âm, tổng bằng 1), chọn sao cho "
        f"{out_vi} của nó bám sát {name} trong {s} kỳ trước biện pháp. Phương pháp giả định "
        f"rằng nếu không có biện pháp, {name} sẽ tiếp tục đi cùng đơn vị tổng hợp này; các đơn "
        "vị đối chứng không chịu tác động của biện pháp, cũng không có biện pháp tương tự trong "
        "cùng giai đoạn; và không có thay đổi nào xảy ra trước khi biện pháp có hiệu lực."
    ]
    en = [
        f"The synthetic control compares {name} with a “synthetic” unit: a weighted average of "
        f"{n_donors} other units (weights non-negative, summing to 1) chosen so that its "
        f"{out_en} follows {name}'s over the {s} periods before the measure. The design assumes "
        f"that without the measure {name} would have kept moving with this synthetic unit; that "
        "the comparison units were not affected by the measure and had no similar measure in "
        "the same period; and that nothing changed before the measure took effect."
    ]
    rmspe, r2 = diagnostics["pre_rmspe"], diagnostics["pre_r_squared"]
    vi.append(
        f"Trước biện pháp, sai số dự báo bình phương trung bình gốc (RMSPE) là "
        f"{format_number(rmspe, 'vi', 2)}"
        + (
            f" ({format_number(100 * r2, 'vi', 0)} % biến động được tái tạo)."
            if math.isfinite(r2)
            else "."
        )
    )
    en.append(
        f"Before the measure the root mean squared prediction error (RMSPE) is "
        f"{format_number(rmspe, 'en', 2)}"
        + (
            f" ({format_number(100 * r2, 'en', 0)}% of the variation reproduced)."
            if math.isfinite(r2)
            else "."
        )
    )
    outside = diagnostics["pre_outside_donor_range"]
    if math.isfinite(r2) and r2 < POOR_FIT_R2:
        vi.append(
            "Cảnh báo: đơn vị tổng hợp bám kém đơn vị chịu biện pháp trước khi có biện pháp, nên "
            "ước lượng kém tin cậy."
        )
        en.append(
            "Warning: the synthetic unit follows the treated unit poorly before the measure, so "
            "the estimate is unreliable."
        )
    if outside > 0.25:
        pct_vi, pct_en = (
            format_number(100 * outside, "vi", 0),
            format_number(100 * outside, "en", 0),
        )
        vi.append(
            f"Ở {pct_vi} % số kỳ trước biện pháp, {name} nằm ngoài khoảng giá trị của mọi đơn vị "
            "đối chứng; không tổ hợp nào của chúng tái tạo được mức này."
        )
        en.append(
            f"In {pct_en}% of the periods before the measure {name} lies outside the range of "
            "every comparison unit; no combination of them can reproduce that level."
        )
    if "placebo_rank" in diagnostics:
        rank, n_all = diagnostics["placebo_rank"], diagnostics["n_placebos"] + 1
        pct = round(100 * level)
        vi.append(
            "Phương pháp này không có sai số chuẩn hay khoảng tin cậy theo nghĩa thông thường. "
            "Giá trị p lấy từ kiểm định giả (placebo) theo không gian: lặp lại phương pháp với "
            f"từng đơn vị đối chứng như thể nó chịu biện pháp; {name} đứng thứ {rank} trong "
            f"{n_all} đơn vị theo tỷ số RMSPE sau/trước biện pháp (giá trị p nhỏ nhất có thể là "
            f"1/{n_all})."
        )
        en.append(
            "This design has no standard error or confidence interval in the usual sense. The "
            "p-value comes from the placebo-in-space test: the design is rerun with each "
            f"comparison unit as if it had the measure; {name} ranks {rank} of {n_all} by the "
            f"ratio of post- to pre-period RMSPE (the smallest possible p-value is 1/{n_all})."
        )
        method = diagnostics["ci_method"]
        if method == CI_CONSTANT:
            vi.append(
                f"Khoảng {pct} % đi kèm là tập các tác động không đổi mà kiểm định này không bác "
                "bỏ (Firpo và Possebom 2018), không phải khoảng tin cậy theo phân phối chuẩn."
            )
            en.append(
                f"The {pct}% interval is the set of constant effects this test does not reject "
                "(Firpo and Possebom 2018), not a normal-theory confidence interval."
            )
        elif method == CI_AVERAGE:
            if diagnostics["ci_constant_effect_empty"]:
                vi.append(
                    "Không có tác động không đổi nào phù hợp với dữ liệu: tác động thay đổi mạnh "
                    "theo thời gian."
                )
                en.append("No constant effect fits the data: the effect varies strongly over time.")
            vi.append(
                f"Khoảng {pct} % là khoảng của tác động trung bình sau biện pháp, lấy từ phân phối "
                "chênh lệch trung bình sau biện pháp của các kiểm định giả, mỗi chênh lệch được "
                f"quy về độ khớp trước biện pháp của {name} (nhân với tỷ số RMSPE trước biện "
                "pháp); khoảng này không cần giả định tác động không đổi theo thời gian."
            )
            en.append(
                f"The {pct}% interval is that of the average effect after the start, from the "
                "placebos' mean post-period gaps, each scaled to the pre-period fit of "
                f"{name} (times the ratio of pre-period RMSPEs); it does not assume an effect "
                "constant over time."
            )
        else:
            need = min_placebos(level)
            n_pl = diagnostics["n_placebos"]
            vi.append(
                "Không có tác động không đổi nào phù hợp với dữ liệu, và với "
                f"{n_pl} kiểm định giả (cần ít nhất {need}) không thể lập khoảng {pct} % cho tác "
                "động trung bình: không có khoảng nào được đưa ra."
            )
            en.append(
                f"No constant effect fits the data, and {n_pl} placebos (at least {need} are "
                f"needed) cannot give a {pct}% interval of the average effect: no interval is "
                "given."
            )
        if diagnostics["ci_infinite"]:
            vi.append(
                f"Có quá ít đơn vị đối chứng để kiểm định ở mức {pct} %, nên khoảng là vô hạn."
            )
            en.append(
                f"There are too few comparison units to test at {pct}%, so the interval is unbounded."
            )
    else:
        vi.append("Chưa chạy kiểm định giả (placebo), nên không có giá trị p và khoảng.")
        en.append("The placebo test was not run, so there is no p-value or interval.")
    return {"vi": " ".join(vi), "en": " ".join(en)}


def cs_assumptions(
    outcome: str, diagnostics: dict[str, Any], control: str, step: dict[str, str]
) -> dict[str, str]:
    """Callaway–Sant'Anna's assumptions and checks, in Vietnamese and English.

    Returns
    -------
    dict of str to str
        ``{"vi": ..., "en": ...}``: the comparison group, parallel trends and the pre-test used
        (Wald or sup-t, ``wald_reliable``), small cohorts.
    """
    n_groups, n_never = diagnostics["n_groups"], diagnostics["n_never_treated"]
    if control == "never":
        comp_vi = f"{n_never} đơn vị chưa từng áp dụng"
        comp_en = f"the {n_never} units that never adopted it"
    else:
        comp_vi = "các đơn vị chưa áp dụng tại thời điểm so sánh (kể cả đơn vị áp dụng muộn hơn)"
        comp_en = "the units not yet treated at the time (including later adopters)"
    vi = [
        f"Phương pháp chia các đơn vị thành {n_groups} nhóm theo thời điểm bắt đầu áp dụng biện "
        f"pháp và so sánh thay đổi của {outcome_label(outcome, 'vi')} ở mỗi nhóm với {comp_vi}. "
        "Phương pháp giả định rằng nếu không có biện pháp thì mỗi nhóm sẽ biến động song song "
        "với nhóm đối chứng (xu hướng song song) và "
        + (
            f"chỉ tiêu chỉ có thể thay đổi sớm nhất {diagnostics['anticipation']} {step['vi']} "
            "trước khi biện pháp có hiệu lực (cho phép tác động đón trước)"
            if diagnostics["anticipation"]
            else "chỉ tiêu không thay đổi trước khi biện pháp có hiệu lực (không có tác động "
            "đón trước)"
        )
        + ". Khác với hồi quy hiệu ứng cố định hai chiều, phương pháp cho phép tác động khác "
        "nhau giữa các nhóm và thay đổi theo thời gian, và không dùng đơn vị đã áp dụng làm "
        "đối chứng. Ước lượng chính là tác động bình quân của các kỳ sau khi áp dụng, có trọng "
        "số theo số đơn vị của từng nhóm.",
    ]
    en = [
        f"The design splits the units into {n_groups} cohorts by when they adopted the measure "
        f"and compares the change in{rate_article(outcome)} {outcome_label(outcome, 'en')} in each cohort with "
        f"{comp_en}. It assumes that without the measure each cohort would have moved in "
        "parallel with its comparison group (parallel trends) and that the outcome did not "
        + (
            f"move earlier than {diagnostics['anticipation']} {step['en']} before the measure "
            "(anticipation allowed)"
            if diagnostics["anticipation"]
            else "move before the measure (no anticipation)"
        )
        + ". Unlike two-way fixed effects, it allows the effect to differ between cohorts and "
        "to change over time, and never uses already treated units as comparisons. The main "
        "estimate is the average effect over the periods after adoption, weighted by cohort "
        "size.",
    ]
    p, df = diagnostics["pretest_p_value"], diagnostics["pretest_df"]
    test_vi = f"kiểm định Wald xu hướng trước ({df} so sánh trước khi áp dụng"
    test_en = f"the Wald pre-trend test ({df} comparisons before adoption"
    unreliable = bool(df) and not wald_reliable(df, diagnostics["n_units"])
    if unreliable or (df and not math.isfinite(p)):
        p = diagnostics["pretest_sup_t_p_value"]
        test_vi = "kiểm định xu hướng trước trên dải tin cậy đồng thời (bootstrap"
        test_en = "the pre-trend test on the uniform band (bootstrap"
    if unreliable:
        vi.append(
            f"Kiểm định Wald cho {df} so sánh trước khi áp dụng không đáng tin với "
            f"{diagnostics['n_units']} đơn vị (cần ít nhất {WALD_UNITS_PER_TEST} đơn vị cho mỗi "
            "so sánh)"
            + (", nên dùng kiểm định trên dải tin cậy đồng thời." if math.isfinite(p) else ".")
        )
        en.append(
            f"The Wald test of the {df} comparisons before adoption is not reliable with "
            f"{diagnostics['n_units']} units (it needs {WALD_UNITS_PER_TEST} units per "
            "comparison)" + ("; the uniform band is used instead." if math.isfinite(p) else ".")
        )
    if math.isfinite(p):
        if p < 0.05:
            vi.append(
                f"Cảnh báo: {test_vi}, {format_p_value(p, 'vi')}) bác bỏ giả định xu hướng "
                "song song; cần thận trọng khi diễn giải kết quả."
            )
            en.append(
                f"Warning: {test_en}, {format_p_value(p, 'en')}) rejects parallel trends; "
                "read the estimate with caution."
            )
        else:
            vi.append(
                f"{test_vi[:1].upper()}{test_vi[1:]}, {format_p_value(p, 'vi')}) không bác bỏ "
                "giả định xu hướng song song."
            )
            en.append(
                f"{test_en[:1].upper()}{test_en[1:]}, {format_p_value(p, 'en')}) does not "
                "reject parallel trends."
            )
    smallest = diagnostics["smallest_group_size"]
    if smallest < SMALL_COHORT:
        vi.append(
            f"Nhóm nhỏ nhất chỉ có {smallest} đơn vị: sai số chuẩn của nhóm đó gần như chỉ phản "
            "ánh biến động của nhóm đối chứng nên khoảng tin cậy có thể quá hẹp; nên đối chiếu "
            "với phương pháp đối chứng tổng hợp."
        )
        en.append(
            f"The smallest cohort has only {smallest} units: its standard errors reflect "
            "almost only the comparison group's variation, so intervals may be too narrow; "
            "compare with a synthetic control."
        )
    if diagnostics["dropped_last_cohort"]:
        vi.append(
            "Không có đơn vị nào chưa từng áp dụng: nhóm áp dụng muộn nhất được dùng làm đối "
            "chứng và các kỳ từ khi nhóm này áp dụng bị loại."
        )
        en.append(
            "No unit never adopted the measure: the last cohort serves as the comparison group "
            "and the periods from its adoption on are dropped."
        )
    return {"vi": " ".join(vi), "en": " ".join(en)}
