"""The ``workbench`` command: parse, call the package, print what was written.

Every user mistake ends with one line on stderr and exit code 2 (see analysis.errors);
nothing here computes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from analysis import config
from analysis.errors import WorkbenchError

# Options several commands share, spelled once.
Lang = Annotated[str, typer.Option(help="vi (default) or en.")]
Formats = Annotated[str, typer.Option("--format", help="Comma-separated: html, pdf, xlsx, ipynb.")]
OutFolder = Annotated[Path | None, typer.Option(help="Output folder.")]
PanelData = Annotated[Path | None, typer.Option(help="Panel file or folder (default: synthetic).")]
PanelWithDossiers = Annotated[
    Path | None,
    typer.Option(help="Panel file or folder, dossiers/ beside it (default: synthetic)."),
]

app = typer.Typer(
    help="Workbench for the Decision 766 index: synthetic data, effect estimates, policy briefs.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _say(text: str) -> None:
    """Progress and notes go to stderr so stdout stays the list of outputs."""
    print(text, file=sys.stderr, flush=True)


@app.command()
def synth(
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same data.")
    ] = 766,
    out: Annotated[Path, typer.Option(help="Output folder.")] = config.SYNTH_DIR,
    end: Annotated[str, typer.Option(help="Last month (YYYY-MM).")] = "2026-09",
    dossiers: Annotated[
        int, typer.Option(help="Also write this many dossier records consistent with the panel.")
    ] = 0,
) -> None:
    """Write the embedded synthetic panel and its ground truth (labelled synthetic)."""
    from analysis.synthetic import panel as synthetic

    t0 = time.perf_counter()
    data = synthetic.generate(seed=seed, end=end)
    paths = synthetic.write(data, out)
    took = time.perf_counter() - t0
    _say(f"synthetic data (seed {seed}): {len(data.panel):,} rows in {took:.1f} s")
    if dossiers:
        from analysis.synthetic.dossiers import write_dossiers

        t0 = time.perf_counter()
        paths["dossiers"] = write_dossiers(out, dossiers, seed=seed, data=data)
        _say(f"synthetic dossiers: {dossiers:,} records in {time.perf_counter() - t0:.1f} s")
    for name, path in paths.items():
        print(f"{name}\t{path}")


@app.command()
def brief(
    measure: Annotated[str, typer.Option(help="Measure id from config/measures.csv.")],
    province: Annotated[
        str, typer.Option(help="Province, any common spelling (default: the measure's own).")
    ] = "",
    outcome: Annotated[str, typer.Option(help="Rate to evaluate.")] = "online_rate",
    lang: Lang = "vi",
    fmt: Formats = "html,pdf",
    out: OutFolder = None,
    data: PanelData = None,
    post_months: Annotated[int, typer.Option(help="Longest window after the measure.")] = 24,
) -> None:
    """Write the measure brief (HTML and PDF) for one province and one measure."""
    from analysis import i18n, measures, panel
    from analysis.sources import panel_path

    # Check everything the user typed before starting a kernel (light imports only): a
    # mistake comes back in a fraction of a second.
    i18n.check_lang(lang)
    panel.check_rate(outcome)
    the_measure, place = measures.target(measure, province or None)
    panel_path(data)
    _render(
        "brief",
        {
            "province": place.name,
            "measure": the_measure.measure_id,
            "outcome": outcome,
            "lang": lang,
            "data_path": str(data or ""),
            "post_months": post_months,
        },
        out,
        {"slug": place.slug},
        fmt,
        f"brief: {place.name} × {the_measure.measure_id} ({outcome}, {lang})",
    )


@app.command()
def effect(
    panel_file: Annotated[Path, typer.Argument(metavar="PANEL", help="Panel as CSV or Parquet.")],
    outcome: Annotated[
        str, typer.Option(help="Outcome column (the numerator with --denominator).")
    ],
    method: Annotated[str, typer.Option(help="its, did, cs, synth, sdid or all.")] = "all",
    denominator: Annotated[
        str | None, typer.Option(help="Denominator column: the effect is on the rate, in pp.")
    ] = None,
    unit_col: Annotated[str, typer.Option(help="Unit column.")] = "unit",
    time_col: Annotated[str, typer.Option(help="Period column (years or dates).")] = "time",
    treated: Annotated[str | None, typer.Option(help="Treated unit (with --start).")] = None,
    start: Annotated[str | None, typer.Option(help="First treated period.")] = None,
    cohort_col: Annotated[
        str | None, typer.Option(help="Column with each unit's first treated period (0 = never).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="ITS model: auto (default: on counts, binomial unless a line in pp forecast "
            "the pre-period clearly better), binomial or ols (a line in pp)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Estimate the effect of a measure on any panel (unit, period, outcome)."""
    import json

    from analysis.evaluation import effects

    frame = effects.load_panel(panel_file)
    results = effects.estimate(
        frame,
        outcome=outcome,
        method=method,
        denominator=denominator,
        unit_col=unit_col,
        time_col=time_col,
        treated=treated,
        start=start,
        cohort_col=cohort_col,
        **({"model": model} if model is not None else {}),
    )
    if as_json:
        print(json.dumps(effects.to_json(results), ensure_ascii=False, indent=2))
        return
    for r in results:
        print(f"{r.method}\t{r.summary('en')}")
    for name, why in results.skipped.items():
        print(f"{name}\tnot run: {why}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Files to import.")],
    kind: Annotated[
        str | None, typer.Option(help="monthly, scores or dossiers (default: recognised).")
    ] = None,
    quarantine: Annotated[
        bool, typer.Option(help="Write the valid rows; rejected rows go to a CSV beside them.")
    ] = False,
    out: OutFolder = None,
    keep_text: Annotated[
        bool,
        typer.Option(help="Keep dossiers' free text (procedure names), redacted; default: drop."),
    ] = False,
    province: Annotated[
        str | None, typer.Option(help="The province, for files that do not name it.")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="The month (2023-01) of tables that do not say it; the period of portal "
            "API responses (default: from the file name)."
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(help="province, district or commune, for files without a level column."),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Read only this worksheet.")] = None,
    hidden_rows: Annotated[
        bool, typer.Option(help="Import hidden rows of workbooks too (default: skipped).")
    ] = False,
) -> None:
    """Import monthly tables, portal index results or dossier records into data/processed."""
    from analysis.ingest import ingest as run_ingest

    result = run_ingest(
        files,
        kind=kind,
        quarantine=quarantine,
        out_dir=out,
        keep_text=keep_text,
        province=province,
        period=period,
        level=level,
        sheet=sheet,
        hidden_rows=hidden_rows,
    )
    _say(f"read {result.read} = accepted {result.accepted} + rejected {result.rejected}")
    if result.report:
        _say(result.report.render())
    for name, path in result.outputs.items():
        print(f"{name}\t{path}")


@app.command()
def score(
    dossiers: Annotated[
        Path, typer.Argument(metavar="DOSSIERS", help="Dossier Parquet file or folder (imported).")
    ],
    period: Annotated[str, typer.Option(help="2023-06, 2023Q2, 2023H1 or 2023.")],
    procedures: Annotated[Path | None, typer.Option(help="Procedure catalogue (optional).")] = None,
    feedback: Annotated[Path | None, typer.Option(help="Feedback table (optional).")] = None,
    by: Annotated[str, typer.Option(help="province, district, commune or agency.")] = "province",
    rules: Annotated[
        Path | None, typer.Option(help="Rules file (default: the shipped one).")
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(help="Split the period: month, quarter, half or year (one row each)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run the pass over the dossiers on Dask: a scheduler's address "
            "(tcp://HOST:PORT; every worker must read DOSSIERS at the same path), or 'local' "
            "for a cluster of --workers processes on this machine."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes of --scheduler local.")] = 2,
    progress: Annotated[
        bool, typer.Option(help="A bar with the time left on stderr (on by default).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the table: .csv, .parquet or .xlsx.")
    ] = None,
) -> None:
    """Compute the Decision 766 index per unit from dossier records.

    A period may be a range (2020..2024, 2023-04..2024-03) and split with --every; on a
    cluster (--scheduler) the numbers are the same as on this machine, to the last digit.
    """
    import json

    if dossiers.is_file() and dossiers.suffix.lower() != ".parquet":
        raise WorkbenchError(
            f"{dossiers} is not imported dossier records: score reads the Parquet that "
            "workbench ingest writes",
            hint=f"import it first (workbench ingest {dossiers} --kind dossiers --out DIR), "
            "then score DIR/dossiers",
        )
    options = dict(
        procedures=procedures, feedback=feedback, period=period, by=by, rules=rules, every=every
    )
    if scheduler:
        from analysis.batch.scoring import score_on_dask

        where = None if scheduler == "local" else scheduler
        result = score_on_dask(
            dossiers, **options, scheduler=where, workers=workers, progress=progress
        )
    else:
        from analysis.index766 import score as compute

        result = compute(dossiers, **options, progress=progress)
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    if out is not None:
        print(f"scores\t{result.to_file(out)}")
    if not as_json and out is None:
        for row in result.units.itertuples(index=False):
            # Commune names repeat across provinces ("Phường 1"): say whose it is.
            where = row.unit if row.unit == row.province else f"{row.province}\t{row.unit}"
            print(f"{where}\t{row.period}\t{row.total:.1f}/{row.max_total:.0f}")


@app.command()
def scorecard(
    unit: Annotated[str, typer.Option(help="Unit as the dossier records name it.")],
    period: Annotated[str, typer.Option(help="2024-06, 2024Q2, 2024H1 or 2024.")],
    by: Annotated[str, typer.Option(help="province, district, commune or agency.")] = "province",
    province: Annotated[
        str, typer.Option(help="The unit's province, when several have a unit of that name.")
    ] = "",
    lang: Lang = "vi",
    dossiers: Annotated[
        Path | None, typer.Option(help="Dossier Parquet file or folder (default: synthetic).")
    ] = None,
    procedures: Annotated[Path | None, typer.Option(help="Procedure catalogue.")] = None,
    feedback: Annotated[Path | None, typer.Option(help="Feedback table.")] = None,
    fmt: Formats = "html,pdf",
    out: OutFolder = None,
    portal: Annotated[
        Path | None,
        typer.Option(
            help="Folder of imported portal API responses (default: the import folder when "
            "it holds the period and no --dossiers is given)."
        ),
    ] = None,
) -> None:
    """Write the index scorecard (HTML and PDF) of one unit for one period."""
    from analysis import i18n
    from analysis.batch.runlist import unit_slug
    from analysis.index766 import parse_period

    i18n.check_lang(lang)
    label = parse_period(period).label
    portal_path = _portal_folder(portal, dossiers, unit, period)
    _render(
        "scorecard",
        {
            "unit": unit,
            "period": label,
            "by": by,
            "province": province,
            "lang": lang,
            "dossiers_path": str(dossiers or ""),
            "procedures": str(procedures or ""),
            "feedback": str(feedback or ""),
            "portal_path": str(portal_path or ""),
        },
        out,
        # A commune's name repeats across provinces: its province is in the slug (as in a batch).
        {"slug": unit_slug(unit, province) if province and by != "province" else _slug(unit)},
        fmt,
        f"scorecard: {unit} × {label} ({by}, {lang})",
    )


def _portal_folder(portal: Path | None, dossiers: Path | None, unit: str, period: str):
    """The portal data a scorecard uses, checked before a kernel starts; None for dossiers."""
    from analysis.ingest import DEFAULT_OUT
    from analysis.ingest.portal import UNITS_FILE

    if portal is None:
        if dossiers is not None or not (DEFAULT_OUT / UNITS_FILE).is_file():
            return None
        portal = DEFAULT_OUT
    from analysis.documents.scorecard_portal import portal_period
    from analysis.index766 import counts

    units, _ = counts.load(portal)
    label = portal_period(period)
    if portal == DEFAULT_OUT and not (units["period"] == label).any():
        return None  # imported portal data of other periods: the dossier scorecard as before
    counts.find_unit(units, unit, label)
    return portal


@app.command()
def explore(
    province: Annotated[str, typer.Option(help="Province, any common spelling (old or new).")],
    start: Annotated[str, typer.Option(help="First month (YYYY-MM).")] = "2021-01",
    end: Annotated[str, typer.Option(help="Last month (YYYY-MM; default: the data's last).")] = "",
    freq: Annotated[str, typer.Option(help="Trends by month (M) or by quarter (Q).")] = "Q",
    lang: Lang = "vi",
    fmt: Formats = "html,pdf,xlsx",
    out: OutFolder = None,
    data: PanelData = None,
) -> None:
    """Write the exploration of one province: every indicator against the national and
    regional medians, by level, across the 2025 merger."""
    from analysis import i18n, registry
    from analysis.sources import panel_path

    # Light checks before a kernel starts; months against the data are checked in the kernel.
    i18n.check_lang(lang)
    if freq not in ("M", "Q"):
        raise WorkbenchError(f"unknown frequency {freq!r}", hint="use --freq M or --freq Q")
    place = registry.resolve(province)
    panel_path(data)
    _render(
        "explore",
        {
            "province": place.name,
            "start": start,
            "end": end,
            "lang": lang,
            "data_path": str(data or ""),
            "freq": freq,
        },
        out,
        {"slug": place.slug},
        fmt,
        f"exploration: {place.name} ({start} – {end or 'latest'}, {freq}, {lang})",
    )


@app.command()
def report(
    province: Annotated[str, typer.Option(help="Province, any common spelling.")],
    quarter: Annotated[str, typer.Option(help="Quarter, e.g. 2023Q3.")],
    lang: Lang = "vi",
    fmt: Formats = "html,pdf,xlsx",
    out: OutFolder = None,
    data: PanelWithDossiers = None,
) -> None:
    """Write the quarterly evaluation report of one province (HTML, PDF, XLSX)."""
    from analysis import i18n
    from analysis.documents import quarterly
    from analysis.quarters import check_covered, parse_quarter
    from analysis.sources import month_span

    i18n.check_lang(lang)
    q = parse_quarter(quarter)
    place = quarterly.resolve_province(province, q)
    check_covered(q, *month_span(data))
    _render(
        "quarterly",
        {"province": place.name, "quarter": str(q), "lang": lang, "data_path": str(data or "")},
        out,
        {"slug": place.slug},
        fmt,
        f"quarterly report: {place.name} × {q} ({lang})",
    )


@app.command()
def overview(
    quarter: Annotated[str, typer.Option(help="Quarter, e.g. 2023Q3.")],
    lang: Lang = "vi",
    outcome: Annotated[str, typer.Option(help="Rate ranked and mapped.")] = "online_rate",
    measure_kind: Annotated[
        str, typer.Option(help="Kind of measure whose effects are compared.")
    ] = "fee_cut",
    fmt: Formats = "html,pdf,xlsx",
    out: OutFolder = None,
    data: PanelWithDossiers = None,
) -> None:
    """Write the national overview of a quarter: ranking, tile map, effects of one kind."""
    from analysis import i18n, panel
    from analysis.documents.overview import check_kind
    from analysis.quarters import boundary_of, check_covered, parse_quarter
    from analysis.sources import month_span

    i18n.check_lang(lang)
    panel.check_rate(outcome)
    check_kind(measure_kind)
    q = parse_quarter(quarter)
    boundary_of(q)
    check_covered(q, *month_span(data))
    _render(
        "overview",
        {
            "quarter": str(q),
            "lang": lang,
            "data_path": str(data or ""),
            "outcome": outcome,
            "measure_kind": measure_kind,
        },
        out,
        {},
        fmt,
        f"national overview: {q} ({lang})",
    )


PLAN_DESIGNS = (
    "its",
    "did",
    "synth",
    "sdid",
)  # analysis.documents.plan.DESIGNS, without importing it


@app.command()
def plan(
    province: Annotated[str, typer.Option(help="Province, any common spelling.")],
    start: Annotated[str, typer.Option(help="Planned first month of the measure (YYYY-MM).")],
    outcome: Annotated[str, typer.Option(help="Rate the measure should move.")] = "online_rate",
    design: Annotated[
        str, typer.Option(help="Comma-separated designs: its, did, synth, sdid.")
    ] = "its,did,synth,sdid",
    rollout: Annotated[str, typer.Option(help="all (at once) or staggered.")] = "all",
    units: Annotated[str, typer.Option(help="Staggered over districts or communes.")] = "districts",
    lang: Lang = "vi",
    fmt: Formats = "html,pdf,xlsx",
    out: OutFolder = None,
    data: PanelData = None,
) -> None:
    """Write the evaluation plan of a measure before it starts: the smallest effect each
    design could detect after 3–24 months, the months needed for 5 and 10 pp, the comparison
    provinces and the data the evaluation needs."""
    import re

    from analysis import i18n, panel, registry
    from analysis.sources import month_span

    i18n.check_lang(lang)
    panel.check_rate(outcome)
    if not re.fullmatch(r"\d{4}-\d{2}", start.strip()) or not 1 <= int(start[5:7]) <= 12:
        raise WorkbenchError(f"start {start!r} is not a month", hint="write it as YYYY-MM")
    designs = [d.strip() for d in design.split(",") if d.strip()]
    bad = [d for d in designs if d not in PLAN_DESIGNS]
    if bad or not designs:
        raise WorkbenchError(
            f"unknown design(s) {', '.join(bad) or '(none)'}",
            hint=f"use a comma-separated list of {', '.join(PLAN_DESIGNS)}",
        )
    if rollout not in ("all", "staggered"):
        raise WorkbenchError(f"unknown rollout {rollout!r}", hint="use --rollout all or staggered")
    if units not in ("districts", "communes"):
        raise WorkbenchError(f"unknown units {units!r}", hint="use --units districts or communes")
    boundary = "new34" if start >= config.MERGER_DATE[:7] else "old63"
    place = registry.resolve(province, boundary=boundary)
    first, _last = month_span(data)
    months = (int(start[:4]) - first.year) * 12 + int(start[5:7]) - first.month
    if months < 60:
        raise WorkbenchError(
            f"only {max(months, 0)} months of data before {start}",
            hint="a plan needs 60 months of history before the start (36 before and 24 after "
            "each pretend start)",
        )
    _render(
        "plan",
        {
            "province": place.name,
            "outcome": outcome,
            "start": start,
            "designs": ",".join(designs),
            "rollout": rollout,
            "units": units,
            "lang": lang,
            "data_path": str(data or ""),
        },
        out,
        {"slug": place.slug},
        fmt,
        f"evaluation plan: {place.name} from {start} ({outcome}, {lang})",
    )


def _check_config(notebooks) -> None:
    """Load (so validate) the configuration files the given notebooks read.

    Checked before a kernel starts (11-16 s), so that a mistake in them is one line naming the
    file and the line, not a failed notebook; which files each document reads is in the
    registry of documents (a notebook it does not know reads the measures).
    """
    from analysis.documents.registry import DOCUMENTS

    needed = {
        c
        for nb in notebooks
        for c in (DOCUMENTS[Path(nb).name].config if Path(nb).name in DOCUMENTS else ("measures",))
    }
    if "measures" in needed:
        from analysis import measures

        measures.load()
    if "rules" in needed:
        from analysis.index766.rules import load_rules

        load_rules()
    if needed & {"targets", "recommendations"}:
        from analysis.documents import quarterly

        quarterly.load_targets()
        quarterly.load_recommendations()


def _render(kind: str, parameters: dict, out: Path | None, fill: dict, fmt: str, what: str):
    """Run one document notebook, then list what was written (stdout) and how long it took.

    The notebook, the folder (unless ``out`` is given) and the file name come from the registry
    of documents, filled with the parameters and ``fill`` (``slug``, ``period``), so the batch
    writes the same document to the same place.
    """
    from analysis.documents.registry import document
    from analysis.render.document import render

    doc = document(kind)
    fill = parameters | {"period": parameters.get(doc.period, "")} | fill
    out_dir = out or doc.out_dir(config.REPORTS_DIR, **fill)
    stem = doc.file_stem(**fill)
    notebook = doc.notebook
    _check_config([notebook])
    formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
    _say(f"{what} …")
    done = render(config.NOTEBOOKS_DIR / notebook, parameters, out_dir, stem, formats)
    _say(f"done in {done.seconds['total']:.1f} s: {done.meta.get('title', '')}")
    for kind, path in done.outputs.items():
        print(f"{kind}\t{path}")


def _slug(name: str) -> str:
    """A file-system name for a unit: the registry's slug for a province, else ASCII-folded."""
    import re

    from analysis import registry

    try:
        return registry.resolve(name).slug
    except WorkbenchError:
        return re.sub(r"[^a-z0-9]+", "-", registry.normalise(name)).strip("-") or "unit"


@app.command("measures")
def list_measures() -> None:
    """List the measures of config/measures.csv."""
    from analysis import measures

    for m in measures.load().values():
        where = m.province_old or "(national)"
        print(f"{m.measure_id}\t{m.start.date()}\t{m.kind}\t{where}")


@app.command("provinces")
def list_provinces(
    boundary: Annotated[str, typer.Option(help="old63 (before 1/7/2025) or new34.")] = "new34",
) -> None:
    """List the provinces of a boundary with codes and slugs."""
    from analysis import registry

    for p in registry.provinces(boundary):
        print(f"{p.code}\t{p.name}\t{p.slug}")


@app.command()
def batch(
    runlist: Annotated[
        Path, typer.Argument(metavar="RUNLIST", help="Run list (YAML), e.g. runs/2023Q3.yaml.")
    ],
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: one per core).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler, tcp://HOST:PORT: run on that cluster instead."),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(help="Only the runs matching this pattern (run id, kind or province)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Rerun even documents that are up to date.")] = False,
    out: Annotated[Path | None, typer.Option(help="Reports folder (default: reports/).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Make every document of a run list: resumable, on warm kernels, locally or on Dask."""
    from analysis import batch as batches

    if workers is not None and workers < 1:
        raise WorkbenchError(f"--workers {workers}", hint="give at least 1 worker")
    if scheduler and "://" not in scheduler:
        raise WorkbenchError(
            f"--scheduler {scheduler!r} is not an address",
            hint="give the Dask scheduler's address, e.g. tcp://10.0.0.5:8786",
        )
    runs = batches.load(runlist, reports=out)
    _check_config({r.notebook.name for r in runs.runs})
    result = batches.run_batch(
        runs,
        only=only,
        workers=workers,
        scheduler=scheduler,
        force=force,
        reports=out,
        progress=progress,
        say=_say,
    )
    print(batches.summary(result))
    if result.failed:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit code 2."""
    from analysis.render.document import skip_iri_grammar

    skip_iri_grammar()
    try:
        app()
    except WorkbenchError as err:
        print(f"workbench: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as err:
        # A path the user gave that cannot be read or written (an --out naming an existing
        # file, a folder without write permission, a full disk) is their mistake to fix, not
        # a crash: one line naming the path, exit code 2.
        if err.filename is None:
            raise
        print(
            f"workbench: error: cannot use {err.filename}: {err.strerror or err} — "
            "give a folder you can write to (an --out must be a folder, not a file)",
            file=sys.stderr,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
