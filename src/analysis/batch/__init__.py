"""Batch runs: one notebook over many parameter sets, resumable, on warm kernels or a cluster.

``workbench batch runs/2023Q3.yaml`` reads a run list (:mod:`analysis.batch.runlist`), skips
the documents whose inputs are unchanged since their last output, makes the others on warm
Jupyter kernels in a local process pool or on a Dask cluster (:mod:`analysis.batch.worker`),
writes them atomically with a manifest and a log, and keeps ``reports/<period>/index.html``
up to date (:mod:`analysis.batch.runner`, :mod:`analysis.batch.index`).
"""

from analysis.batch.runlist import Run, RunList, load
from analysis.batch.runner import BatchResult, run_batch, summary

__all__ = ["BatchResult", "Run", "RunList", "load", "run_batch", "summary"]
