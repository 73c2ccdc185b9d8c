"""The one registry of documents: notebook, parameters, folder and file names, configuration.

``workbench brief`` / ``report`` / ``explore`` …, the batch's run lists and the tests all read
:data:`DOCUMENTS`, so a document made one way lands where it lands made the other way. Light
to import (the CLI reads it before a kernel starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

NATIONAL = "viet-nam"  # the folder of documents about the whole country


@dataclass(frozen=True)
class Document:
    """How one notebook's documents are named and placed.

    Attributes
    ----------
    name : str
        Document kind, the first part of the file name (``quarterly``, ``scorecard``, ``brief``).
    unit : str or None
        The parameter naming the province (or unit), if any.
    period : str or None
        The parameter naming the period, if any.
    data : dict
        Parameter -> sub-folder of a run list's ``data`` folder it receives.
    folder : str
        Output folder under the reports root (``{period}``, ``{slug}`` and parameters filled in).
    stem : str
        File name without extension, filled in the same way.
    notebook : str
        The notebook in ``notebooks/`` ("" for a notebook the batch guessed).
    config : tuple of str
        The configuration files it reads, checked before a kernel starts (``measures``,
        ``rules``, ``targets``, ``recommendations``).
    empty : dict
        Parameter -> the word a name shows when the parameter is empty (``end`` -> ``latest``).
    """

    name: str
    unit: str | None
    period: str | None
    data: dict
    folder: str = "{period}/{slug}"
    stem: str = "{kind}_{period}_{lang}"
    notebook: str = ""
    config: tuple[str, ...] = ("measures",)
    empty: dict = field(default_factory=dict)

    def place(self, fill: dict) -> tuple[str, str]:
        """(folder, stem) with ``fill``'s values (``kind`` is this document's name).

        Raises
        ------
        KeyError, IndexError, ValueError
            A placeholder ``fill`` does not give (the batch reports it with the entry).
        """
        fill = {"kind": self.name} | dict(fill)
        fill |= {k: v for k, v in self.empty.items() if not fill.get(k)}
        return self.folder.format(**fill), self.stem.format(**fill)

    def out_dir(self, reports: Path, **fill) -> Path:
        """The output folder under ``reports``."""
        return reports / self.place(fill)[0]

    def file_stem(self, **fill) -> str:
        """The file name without extension."""
        return self.place(fill)[1]


# fmt: off
_ALL = (
    # kind, the parameters naming the unit and the period, the data folders it receives; then
    # where it goes (default "{period}/{slug}", "{kind}_{period}_{lang}"), what it reads, its notebook
    Document("explore",   "province", None,      {"data_path": ""},
             folder="explore/{slug}", stem="explore_{start}_{end}_{freq}_{lang}",
             empty={"end": "latest"},                        notebook="10_explore_province.ipynb"),
    Document("brief",     "province", None,      {"data_path": ""},
             folder="briefs/{slug}", stem="{measure}_{outcome}_{lang}",
                                                             notebook="20_measure_brief.ipynb"),
    Document("quarterly", "province", "quarter", {"data_path": ""},
             config=("measures", "rules", "targets", "recommendations"),
                                                             notebook="30_quarterly_report.ipynb"),
    Document("scorecard", "unit",     "period",  {"dossiers_path": "dossiers"},
             config=("rules",),                              notebook="31_index_scorecard.ipynb"),
    Document("overview",  None,       "quarter", {"data_path": ""},
             folder="{period}/" + NATIONAL, config=("measures", "rules"),
                                                             notebook="40_national_overview.ipynb"),
    Document("plan",      "province", None,      {"data_path": ""},
             folder="plans/{slug}", stem="plan_{outcome}_{start}_{lang}",
                                                             notebook="50_evaluation_plan.ipynb"),
)
# fmt: on
# notebook file name -> its document
DOCUMENTS: dict[str, Document] = {d.notebook: d for d in _ALL}


def document(name: str) -> Document:
    """The document of a kind (``brief``, ``quarterly`` …) or of a notebook file name.

    Raises
    ------
    KeyError
        Neither a kind nor a notebook of the registry.
    """
    if name in DOCUMENTS:
        return DOCUMENTS[name]
    return next(d for d in _ALL if d.name == name)
