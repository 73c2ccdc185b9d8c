"""Evaluation designs, one per module, each returning an :class:`EffectResult`.

Every design follows the same life cycle: validate the input (raising ``WorkbenchError``),
fit, summarise into an ``EffectResult``.
"""

from analysis.designs.its import fit_its
from analysis.designs.result import EffectResult, Window, format_number

__all__ = ["EffectResult", "Window", "fit_its", "format_number"]
