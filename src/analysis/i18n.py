"""Words and numbers for readers: the translation table and vi_VN / en formatting.

Every label a reader sees comes from ``data/labels.yaml`` (one table, Vietnamese and English).
Numbers follow the language: ``79,4 %`` and ``1.234,5`` in Vietnamese, ``79.4%`` and
``1,234.5`` in English; dates are dd/mm/yyyy in both, as Vietnamese documents write them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import yaml
from babel.numbers import format_decimal

from analysis.config import PACKAGE_DATA
from analysis.errors import WorkbenchError

LANGUAGES = ("vi", "en")
_LOCALES = {"vi": "vi_VN", "en": "en_US"}
MISSING = "—"


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language, else raise a WorkbenchError."""
    if lang not in LANGUAGES:
        raise WorkbenchError(
            f"unknown language {lang!r}", hint="use --lang vi (Vietnamese) or --lang en (English)"
        )
    return lang


@lru_cache(maxsize=1)
def _labels() -> dict[str, dict[str, str]]:
    with open(PACKAGE_DATA / "labels.yaml", encoding="utf-8") as fh:
        return {str(k): v for k, v in yaml.safe_load(fh).items()}


def label(key: str, lang: str = "vi") -> str:
    """The reader's word for ``key`` in ``lang``.

    Parameters
    ----------
    key : str
        Name used in code (``online_rate``, ``level_commune``, ``section_finding`` …).
    lang : {"vi", "en"}

    Returns
    -------
    str
        The label; the key itself when the table has no entry (so a gap shows, not a crash).
    """
    entry = _labels().get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["vi"]


MINUS = "\u2212"


def number(x: float | None, lang: str = "vi", digits: int = 1) -> str:
    """Format a number with the language's separators (``1.234,5`` / ``1,234.5``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    text = format_decimal(x, format=pattern, locale=_LOCALES[lang])
    # One minus sign everywhere (U+2212, as change() and points() write it): Babel's is the
    # ASCII hyphen, which made "−0,3" and "-0,1 đến 0,6" sit side by side.
    if text.startswith("-"):
        # "−0,0" is no number a reader should see: a value that rounds to zero has no sign.
        return text[1:] if not any(c in "123456789" for c in text) else MINUS + text[1:]
    return text


def percent(share: float | None, lang: str = "vi", digits: int = 1) -> str:
    """Format a share in [0, 1] as a percentage: ``79,4 %`` (vi) or ``79.4%`` (en)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return MISSING
    value = number(100 * share, lang, digits)
    # Vietnamese typography separates the sign with a (non-breaking) space; English does not.
    return f"{value}\u00a0%" if lang == "vi" else f"{value}%"


def enough(denominator, minimum: int | None = None):
    """The small-number rule: may a rate on ``denominator`` dossiers be shown?

    The one home of the rule (a rate on fewer than ``config.MIN_DENOMINATOR`` dossiers, 20,
    swings between 0 % and 100 % on one case and shows "—"); every document asks it here.

    Parameters
    ----------
    denominator : number or pandas.Series
        Dossiers under the rate; missing (None, NaN, NA) is never enough.
    minimum : int, optional
        Another floor (default ``config.MIN_DENOMINATOR``).

    Returns
    -------
    bool or pandas.Series of bool
        Element-wise for a Series (missing -> False).
    """
    from analysis.config import MIN_DENOMINATOR

    floor = MIN_DENOMINATOR if minimum is None else minimum
    if hasattr(denominator, "fillna"):
        return (denominator >= floor).fillna(False).astype(bool)
    try:
        den = float(denominator)
    except (TypeError, ValueError):
        return False
    return not math.isnan(den) and den >= floor


def share_of(numerator, denominator, lang: str = "vi", minimum: int | None = None) -> str:
    """A rate from its counts, or "—" when the denominator is below ``minimum`` dossiers.

    A rate on a handful of dossiers swings between 0 % and 100 % on one case: it is not shown
    (default minimum: ``config.MIN_DENOMINATOR``, 20); the caller adds the note saying so.
    """
    try:
        den = float(denominator)
        num = float(numerator)
    except (TypeError, ValueError):
        return MISSING
    if math.isnan(num) or not enough(den, minimum) or den <= 0:
        return MISSING
    return percent(num / den, lang)


def change(x: float | None, lang: str = "vi", digits: int = 1) -> str:
    """A signed change without a unit: ``+2,8`` / ``−0.7`` (index points, counts)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    sign = "+" if x > 0 else (MINUS if x < 0 else "")
    return f"{sign}{number(abs(x), lang, digits)}"


def points(pp: float | None, lang: str = "vi", digits: int = 1, signed: bool = True) -> str:
    """Format a difference in percentage points: ``+8,1 điểm %`` / ``+8.1 pp``."""
    if pp is None or (isinstance(pp, float) and math.isnan(pp)):
        return MISSING
    unit = "điểm\u00a0%" if lang == "vi" else "pp"
    value = change(pp, lang, digits) if signed else number(abs(pp), lang, digits)
    return f"{value}\u00a0{unit}"


def p_value(p: float | None, lang: str = "vi") -> str:
    """Format a p-value, with ``< 0,001`` below a thousandth."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return MISSING
    if p < 0.001:
        return "< " + number(0.001, lang, 3)
    return number(p, lang, 3)


def interval(low: float | None, high: float | None, lang: str = "vi", digits: int = 1) -> str:
    """A confidence interval as ``−0,5 đến 13,7`` / ``−0.5 to 13.7`` (U+2212 minus)."""
    return label("range", lang).format(
        low=number(low, lang, digits), high=number(high, lang, digits)
    )


def date(d, lang: str = "vi") -> str:
    """Format a date as dd/mm/yyyy (both languages: the form of Vietnamese documents)."""
    import pandas as pd  # here: a batch worker lays out documents without pandas

    if d is None or (not isinstance(d, str) and pd.isna(d)):
        return MISSING
    return pd.Timestamp(d).strftime("%d/%m/%Y")


def month(d, lang: str = "vi") -> str:
    """Format a month as ``06/2023`` (vi) or ``Jun 2023`` (en)."""
    import pandas as pd  # here: a batch worker lays out documents without pandas

    if d is None or (not isinstance(d, str) and pd.isna(d)):
        return MISSING
    ts = pd.Timestamp(d)
    return ts.strftime("%m/%Y") if lang == "vi" else ts.strftime("%b %Y")
