"""Every document, in Vietnamese and English, speaks one language, one minus sign, one number.

Each of the five documents (measure brief, quarterly report, overview, scorecard, exploration)
is prepared once per language (module-scoped; the session's synthetic data with dossiers) and
every block its notebook displays is built from the document module's public block functions;
the texts a reader sees (paragraphs, bullets, table captions, headers, cells and notes, chart
captions, the title block) are then checked:

- no English word in a Vietnamese document beyond a short allow-list of names and units;
- no ASCII hyphen-minus before a digit (the minus sign is U+2212);
- no ISO timestamp or ISO date, no ``2024Q2`` quarter code, no command name or file path;
- one value per indicator and period across the documents (the fee-50 estimate of the brief and
  the quarterly report agree, or the report prints its own window beside the number).
"""

from __future__ import annotations

import inspect
import re

import pytest

from analysis.documents import brief, explore, overview, quarterly, scorecard
from analysis.documents.blocks import Bullets, Chart, Meta, Paragraph, Section, Table

# Proper names, units and codes that may stand in a Vietnamese text.
ALLOWED = {
    "ITS", "DiD", "SDID", "SHA", "PDF", "XLSX", "HTML", "VNeID", "TTHC", "UBND", "HĐND",
    "TP", "TPHCM", "TT", "CT", "QĐ", "TTg", "NQ", "TB", "VPCP", "Q", "p", "n", "analysis",
    "synthetic", "parquet", "csv", "yaml", "SYN", "KTC", "rules", "config",
}  # fmt: skip
# English words that do not occur in Vietnamese (ASCII-only and long enough to be a word).
ENGLISH = re.compile(
    r"\b(the|and|of|with|from|not|found|province|provincial|chairman|medium|high|low|"
    r"inferred|resolution|number|fees|online|level|rate|dossier|dossiers|measure|effect|"
    r"estimate|interval|window|quarter|month|months|points|rank|total|group|none|nan|"
    r"NaT|True|False|workbench|brief|report)\b"
)
HYPHEN_MINUS = re.compile(r"(?<![\w/.\-])-\d")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
QUARTER_CODE = re.compile(r"\b\d{4}Q\d\b")
CELL = "\x00"  # marks a table's body cell in the collected texts
COMMAND = re.compile(r"workbench [a-z]+|\b[\w/]+\.(?:csv|yaml|py|ipynb)\b")


def _texts(block) -> list[str]:
    """Every text of a block a reader sees (not the provenance's hashes and paths)."""
    if block is None:
        return []
    if isinstance(block, tuple | list):
        return [t for b in block for t in _texts(b)]
    if isinstance(block, Paragraph):
        return [block.lead, block.text]
    if isinstance(block, Bullets):
        return list(block.items)
    if isinstance(block, Table):
        frame = block.frame
        # Body cells are marked: they may hold data (procedure names) in the source's language.
        cells = [CELL + str(v) for v in frame.to_numpy().ravel()]
        return [block.caption, block.note, *[str(c) for c in frame.columns], *cells]
    if isinstance(block, Chart):
        return [block.caption]
    if isinstance(block, Section):
        return [block.title]
    if isinstance(block, Meta):
        d = block.data
        rows = [f"{k} {v}" for k, v in d.get("facts", ())]
        return [d.get("title", ""), d.get("subtitle", ""), *rows]
    return []


def _document(module, prepared) -> list[str]:
    """The texts of every block function of ``module`` that takes the prepared document."""
    texts = []
    for name, fn in vars(module).items():
        if (
            name.startswith("_")
            or name in ("prepare", "section")
            or not inspect.isfunction(fn)
            or fn.__module__ != module.__name__
        ):
            continue
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.default is inspect.Parameter.empty
        ]
        if len(params) != 1:
            continue
        hint = str(params[0].annotation)
        if type(prepared).__name__ not in hint:
            continue
        texts += _texts(fn(prepared))
    return [t for t in texts if t]


@pytest.fixture(scope="module", params=["vi", "en"])
def documents(request, synthetic_full):
    lang, data = request.param, str(synthetic_full)
    prepared = {
        "brief": (brief, brief.prepare("Thái Nguyên", "thai-nguyen-fee-50", lang=lang, data_path=data)),
        "quarterly": (quarterly, quarterly.prepare("Thái Nguyên", "2023Q3", lang=lang, data_path=data)),
        "overview": (overview, overview.prepare("2023Q3", lang=lang, data_path=data)),
        "scorecard": (
            scorecard,
            scorecard.prepare("Thái Nguyên", "2023Q3", lang=lang, dossiers_path=str(synthetic_full / "dossiers")),
        ),
        "exploration": (explore, explore.prepare("Thái Nguyên", lang=lang, data_path=data)),
    }  # fmt: skip
    texts = {k: _document(m, p) for k, (m, p) in prepared.items()}
    return lang, texts, {k: p for k, (_, p) in prepared.items()}


def _offending(texts: list[str], pattern: re.Pattern) -> list[str]:
    return [t[:160] for t in texts if pattern.search(t)]


@pytest.mark.parametrize("doc", ["brief", "quarterly", "overview", "scorecard", "exploration"])
def test_one_language_one_minus_no_codes(documents, doc):
    lang, texts, _ = documents
    mine = texts[doc]
    assert mine, f"{doc}: no text collected"
    assert not _offending(mine, HYPHEN_MINUS), "ASCII hyphen-minus before a digit"
    assert not _offending(mine, ISO_TIME), "ISO timestamp in text"
    assert not _offending(mine, ISO_DATE), "ISO date in text"
    assert not _offending(mine, QUARTER_CODE), "quarter code (2024Q2) in text"
    assert not _offending(mine, COMMAND), "command name or file path in the body"
    if lang == "vi":
        english = [t[:160] for t in mine if any(w not in ALLOWED for w in ENGLISH.findall(t))]
        assert not english, f"English in the Vietnamese {doc}: {english[:5]}"
    else:
        # An English document is free of Vietnamese-only labels (diacritics outside names).
        labels = [
            t
            for t in mine
            if not t.startswith(CELL)
            and re.search(r"\b(điểm|tháng|tỷ lệ|biện pháp|chưa tính)\b", t)
        ]
        assert not labels, f"Vietnamese labels in the English {doc}: {labels[:5]}"


def test_one_value_per_indicator_and_period(documents):
    """The brief and the quarterly report give fee-50 one number per window: where windows
    differ, the report prints its window beside the number."""
    lang, texts, prepared = documents
    b, q = prepared["brief"], prepared["quarterly"]
    row = q.effects.set_index(q.effects["measure"].map(lambda m: m.measure_id)).loc[
        "thai-nguyen-fee-50"
    ]
    if (row["window_start"], row["window_end"]) == (
        b.result.window.post_start,
        b.result.window.post_end,
    ):
        assert row["effect_pp"] == pytest.approx(b.result.estimate)
    else:
        from analysis import i18n

        window = i18n.label("quarterly_window_text", lang).format(
            n=int(row["post_months"]),
            first=i18n.month(row["window_start"], lang),
            last=i18n.month(row["window_end"], lang),
        )
        assert any(window in t for t in texts["quarterly"])
    # One definition of the online share per province and quarter: the report's section 2 and
    # the overview's ranking print the same value for Thái Nguyên in 2023Q3.
    ind = q.indicators.set_index("indicator").loc["online_rate"]
    from analysis import i18n

    value = i18n.share_of(ind["numerator"], ind["denominator"], lang)
    assert any(value in t for t in texts["quarterly"])
    table = overview.ranking(prepared["overview"])
    tables = table if isinstance(table, tuple) else (table,)
    cells = [str(v) for t in tables if isinstance(t, Table) for v in t.frame.to_numpy().ravel()]
    pct = i18n.percent(ind["numerator"] / ind["denominator"], lang)
    assert any(pct in c for c in cells) or any(value in c for c in cells)
