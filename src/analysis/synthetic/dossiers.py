"""Synthetic dossier records consistent with the synthetic panel, at any size.

The Decision 766 index engine reads dossier records (one row per dossier, the Parquet schema of
:data:`analysis.ingest.dossiers.OUTPUT_SCHEMA`). No real dossier export can ship with the
workbench, so this module writes synthetic ones that the engine reads exactly as it reads an
import, and that agree with the synthetic monthly panel of :mod:`analysis.synthetic.panel`: summed back to
province x level x month they give the panel's rates, up to sampling noise.

How the records are drawn
-------------------------
- **Allocation.** The ``n`` dossiers are shared over the panel's cells (province x level x
  month, after the ``months`` / ``provinces`` restriction) in proportion to
  ``dossiers_received``, rounded by largest remainder (deterministic, sums to ``n`` exactly).
  Rows come in cell order (month, boundary, province code, level), so Parquet row-group
  statistics on ``received_month`` prune well.
- **Flags**, each drawn per dossier with the rate of its cell (``panel.RATES``):
  channel online with ``dossiers_online / dossiers_received`` (the rest direct, 4 % postal);
  ``fully_online`` among online dossiers with ``dossiers_fully_online / dossiers_online``;
  fee-bearing with ``dossiers_fee_bearing / dossiers_received`` and ``paid_online`` among those
  with the panel's online-payment rate; ``issues_result`` with
  ``dossiers_result_issuing / dossiers_received`` and ``e_result`` among those with the panel's
  electronic-result rate; digitised (components **and** result) with the digitisation rate;
  ``synced`` with the sync rate; rated with ``ratings / dossiers_received`` and satisfied among
  the rated with the satisfaction rate (the others 60 % neutral, 40 % not satisfied).
  Online payment and electronic results are more frequent among online dossiers (a lift of
  1.4, the cell's overall rate kept), and a fully online dossier of a result-issuing procedure
  has an electronic result whenever the cell's rate allows it, so the index's rule "online =
  submitted online and, where the procedure issues a result, an electronic result" is
  exercised with realistic overlap. The channel share itself is the panel's ``online_rate``;
  the rule-based count the engine makes is lower, as it should be.
- **Timeliness.** Each dossier's final status is drawn with ``dossiers_on_time /
  dossiers_handled``. On-time dossiers finish between received and due date with 0 or 1
  supplement request. Overdue ones are either late (finished after the due date, 3 % never
  finished) or overdue **by rule**: 2-4 supplement requests, half of them finished before the
  due date by the calendar, so only the rule makes them overdue. Dossiers that would finish
  after the last day of the last month generated are in progress (``finished_date`` null);
  a late dossier not yet due on that day becomes overdue by rule, so that the final status
  reads back exactly as drawn: ``supplement_requests <= 1 and (finished_date <= due_date or
  (finished_date is null and due_date >= last day))``. Ratings exist for finished dossiers.
- **Units and procedures** are fixed per seed, whatever ``n`` or the restriction: a national
  catalogue of 2,000 procedures (codes ``1.0xxxxx`` / ``2.0xxxxx``, Vietnamese names from a
  small list, a fixed fee, whether a result is issued, a legal handling time, a Zipf-like
  popularity); per old province 7-20 districts (``Huyện <k>``) and 80-300 communes, per new
  province 39-169 communes (``Xã <k>`` / ``Phường <k>``), with log-normal volumes. A dossier
  picks a procedure of its level among those with its drawn fee and result flags, so the
  procedure's properties stay fixed and the cell's shares are kept. Province-level dossiers
  have no ``unit``; their ``agency`` is the procedure's department (renamed after the July
  2025 mergers of departments); district and commune dossiers are handled by
  ``UBND huyện`` / ``UBND xã`` / ``UBND phường``. After July 2025 communes also handle the
  former district procedures.
- **Nothing personal.** ``applicant_key`` is a token in the importer's format (32 letters a-p)
  derived from a pseudo-random applicant number (some applicants file several dossiers; 1 %
  have none), never from a person. ``dossier_id`` is ``SYN-<seed>-<k>`` and ``source_row`` is
  ``k``, the running number from 1.

Determinism and memory
----------------------
Rows are generated in chunks of :data:`CHUNK_ROWS`, each chunk from its own seed
``(seed, chunk index)``, with vectorised NumPy and Arrow kernels only; the content is a function
of (seed, n, panel, months, provinces), not of the file size. :func:`write_dossiers` generates
the next chunk in a thread while the previous one is written (NumPy and Arrow release the GIL),
so at most three chunks are alive: peak RSS grows by about 360 MB whatever ``n`` (measured for
5 M and 20 M rows). Throughput on 2 cores: about 2 M rows/s generated, 1.5 M rows/s generated
and written (zstd Parquet, about 27 bytes a row).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Full, Queue

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis import registry
from analysis.errors import WorkbenchError
from analysis.files import atomic_write, sha256
from analysis.ingest.dossiers import DICTIONARY_COLUMNS, OUTPUT_SCHEMA, PARQUET_SCHEMA_VERSION
from analysis.ingest.personal import KEY_HEX_DIGITS
from analysis.panel import COUNT_COLUMNS, KEY_COLUMNS
from analysis.synthetic.panel import SynthData

# Bump when the same seed and n would give different records.
VERSION = "1"
DOSSIERS_DIR = "dossiers"
MANIFEST_FILE = "dossiers_manifest.json"
FILE_PATTERN = "synthetic-{:05d}.parquet"
CHUNK_ROWS = 1 << 18  # rows generated at a time (262,144): also the Parquet row-group size
DEFAULT_ROW_GROUP = 1_000_000  # rows per file


# --- behaviour constants (shares not in the panel) ---
POSTAL_SHARE = 0.04  # of the dossiers not submitted online
LIFT = 1.4  # online payment / electronic result: rate among online dossiers over the cell rate
SUPPLEMENT_ONE_ON_TIME = 0.12  # on-time dossiers with one supplement request
SUPPLEMENT_ONE_LATE = 0.20  # late dossiers with one supplement request
RULE_OVERDUE_SHARE = 0.30  # overdue dossiers that are overdue by the supplement rule
RULE_FINISHED_EARLY = 0.5  # of those, finished on or before the due date by the calendar
STUCK_SHARE = 0.03  # late dossiers never finished
LATE_DELAY_P = 0.15  # days late ~ geometric(p): mean about a week
NOT_SATISFIED_SHARE = 0.4  # of the ratings that are not "satisfied"
COMPONENTS_ONLY = 0.5  # not digitised dossiers with digitised components (result not digitised)
RESULT_ONLY = 0.3  # of the remaining ones, result digitised only
REUSE_DIGITISED, REUSE_PARTIAL = 0.4, 0.15  # data reused: among digitised, components-only
NO_APPLICANT_KEY = 0.01
APPLICANTS_PER_DOSSIER = 0.6  # applicant pool size / dossiers of the province

CHANNELS = ("direct", "online", "postal")
RATINGS = ("satisfied", "neutral", "not_satisfied")
LEVEL_CODE = {"province": 0, "district": 1, "commune": 2}

# --- catalogue ---
# Provincial departments, (old63 name, new34 name): the July 2025 mergers of departments.
DEPARTMENTS = (
    ("Sở Tư pháp", "Sở Tư pháp"),
    ("Sở Kế hoạch và Đầu tư", "Sở Tài chính"),
    ("Sở Tài nguyên và Môi trường", "Sở Nông nghiệp và Môi trường"),
    ("Sở Giao thông vận tải", "Sở Xây dựng"),
    ("Sở Lao động - Thương binh và Xã hội", "Sở Nội vụ"),
    ("Sở Y tế", "Sở Y tế"),
    ("Sở Công Thương", "Sở Công Thương"),
    ("Công an tỉnh", "Công an tỉnh"),
)
# What each department issues (procedure name = action + object).
DEPARTMENT_OBJECTS = (
    ("Phiếu lý lịch tư pháp", "giấy đăng ký hoạt động Văn phòng công chứng",
     "chứng chỉ hành nghề đấu giá"),
    ("giấy chứng nhận đăng ký doanh nghiệp", "giấy chứng nhận đăng ký đầu tư",
     "giấy chứng nhận đăng ký hoạt động chi nhánh"),
    ("giấy chứng nhận quyền sử dụng đất", "giấy phép môi trường",
     "giấy phép khai thác nước mặt"),
    ("giấy phép lái xe", "giấy phép kinh doanh vận tải bằng xe ô tô", "giấy phép xây dựng"),
    ("giấy phép lao động cho người nước ngoài", "giấy phép hoạt động dịch vụ việc làm"),
    ("chứng chỉ hành nghề khám bệnh, chữa bệnh",
     "giấy chứng nhận đủ điều kiện kinh doanh dược"),
    ("giấy phép kinh doanh rượu", "giấy phép bán lẻ sản phẩm thuốc lá"),
    ("hộ chiếu phổ thông", "giấy chứng nhận đăng ký xe"),
)  # fmt: skip
ACTIONS = ("Cấp", "Cấp lại", "Cấp đổi", "Điều chỉnh", "Gia hạn")
DISTRICT_PROCEDURES = (
    "Đăng ký thành lập hộ kinh doanh",
    "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
    "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "Đăng ký biến động quyền sử dụng đất",
    "Đăng ký kết hôn có yếu tố nước ngoài",
    "Đăng ký khai sinh có yếu tố nước ngoài",
    "Chứng thực bản sao từ bản chính giấy tờ do cơ quan nước ngoài cấp",
    "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
    "Giải quyết chế độ trợ cấp ưu đãi người có công",
)
COMMUNE_PROCEDURES = (
    "Đăng ký khai sinh",
    "Đăng ký kết hôn",
    "Đăng ký khai tử",
    "Đăng ký nhận cha, mẹ, con",
    "Cấp bản sao trích lục hộ tịch",
    "Cấp Giấy xác nhận tình trạng hôn nhân",
    "Chứng thực bản sao từ bản chính",
    "Chứng thực chữ ký",
    "Chứng thực hợp đồng, giao dịch",
    "Đăng ký thường trú",
    "Giải quyết trợ cấp xã hội hằng tháng",
    "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em",
)
N_PROCEDURES = {"province": 1_100, "district": 500, "commune": 400}
HANDLING_DAYS = {  # legal handling time, working days
    "province": (3, 5, 7, 10, 15, 20, 30),
    "district": (3, 5, 7, 10, 15),
    "commune": (1, 2, 3, 5),
}
FEES = (10_000, 20_000, 30_000, 50_000, 100_000, 150_000, 200_000, 300_000, 500_000)
FEE_WEIGHTS = (0.15, 0.15, 0.1, 0.2, 0.15, 0.08, 0.07, 0.05, 0.05)
OTHER_AGENCIES = ("UBND huyện", "UBND xã", "UBND phường")
OLD_DISTRICTS, OLD_COMMUNES, NEW_COMMUNES = (7, 20), (80, 300), (39, 169)
WARD_SHARE = (0.1, 0.35)

# Seed-sequence tags, so that each part draws from its own stream.
_CATALOGUE, _UNITS, _ROWS, _KEYS = 1, 2, 3, 4
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# --- catalogue and units (fixed per seed) ------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    code: pa.Array  # string, one per procedure
    name: pa.Array  # string
    fee: np.ndarray  # int64 VND
    due_days: np.ndarray  # int64 calendar days from received to due
    department: np.ndarray  # int64 index into DEPARTMENTS (-1: not provincial)
    # Sampling: pool x fee x result segments. pools: 0 province, 1 district, 2 old commune,
    # 3 new commune (district + commune procedures).
    seg_proc: np.ndarray  # procedure index of each segment entry
    seg_cum: np.ndarray  # segment id + cumulative weight within the segment (last = id + 1)
    seg_end: np.ndarray  # one past each segment's last entry


def _segments(segment_of: np.ndarray, weight: np.ndarray, n_segments: int):
    """Entries sorted by segment, with the cumulative trick of :func:`_pick`."""
    order = np.lexsort((np.arange(len(segment_of)), segment_of))
    seg = segment_of[order]
    w = weight[order]
    totals = np.bincount(seg, weights=w, minlength=n_segments)
    if (totals <= 0).any():
        raise ValueError("an empty sampling segment")
    cum = np.cumsum(w)
    starts = np.concatenate([[0.0], np.cumsum(totals)[:-1]])
    within = (cum - starts[seg]) / totals[seg]
    within[np.r_[seg[1:] != seg[:-1], True]] = 1.0  # exact ends
    end = np.cumsum(np.bincount(seg, minlength=n_segments))
    return order, seg + within, end


def _pick(seg_cum: np.ndarray, seg_end: np.ndarray, segment: np.ndarray, u: np.ndarray):
    """Entry index drawn by weight within each row's segment (u uniform in [0, 1))."""
    pos = np.searchsorted(seg_cum, segment + u, side="right")
    return np.minimum(pos, seg_end[segment] - 1)


def _catalogue(seed: int) -> _Catalogue:
    rng = np.random.default_rng(np.random.SeedSequence([seed, _CATALOGUE]))
    levels = np.repeat(
        [LEVEL_CODE[k] for k in N_PROCEDURES], [N_PROCEDURES[k] for k in N_PROCEDURES]
    )
    n = len(levels)
    numbers = rng.choice(np.arange(1_000, 14_000), size=n, replace=False)
    prefix = np.where(rng.random(n) < 0.7, "1.", "2.")
    code = [f"{p}{x:06d}" for p, x in zip(prefix, numbers, strict=True)]

    names, department, due_days = [], np.full(n, -1, dtype=np.int64), np.zeros(n, np.int64)
    for i, lv in enumerate(levels):
        if lv == 0:
            d = int(rng.integers(len(DEPARTMENTS)))
            obj = DEPARTMENT_OBJECTS[d][int(rng.integers(len(DEPARTMENT_OBJECTS[d])))]
            names.append(f"{ACTIONS[int(rng.integers(len(ACTIONS)))]} {obj}")
            department[i] = d
            days = HANDLING_DAYS["province"]
        elif lv == 1:
            names.append(DISTRICT_PROCEDURES[int(rng.integers(len(DISTRICT_PROCEDURES)))])
            days = HANDLING_DAYS["district"]
        else:
            names.append(COMMUNE_PROCEDURES[int(rng.integers(len(COMMUNE_PROCEDURES)))])
            days = HANDLING_DAYS["commune"]
        working = int(days[int(rng.integers(len(days)))])
        due_days[i] = -(-working * 7 // 5)  # working days -> calendar days, at least 1

    # Fee and result flags: random, but every (level, fee, result) class holds procedures.
    has_fee = rng.random(n) < 0.5
    issues = rng.random(n) < 0.8
    for lv in range(3):
        first = np.flatnonzero(levels == lv)[:4]
        has_fee[first] = [False, False, True, True]
        issues[first] = [False, True, False, True]
    fee = np.where(has_fee, rng.choice(FEES, size=n, p=FEE_WEIGHTS), 0).astype(np.int64)
    # Zipf-like popularity: a few procedures take most dossiers.
    rank = rng.permutation(n) + 1
    weight = 1.0 / rank**0.9

    pools = {0: [0], 1: [1], 2: [2], 3: [1, 2]}  # pool -> procedure levels
    entries_proc, entries_seg = [], []
    for pool, lvs in pools.items():
        members = np.flatnonzero(np.isin(levels, lvs))
        entries_proc.append(members)
        entries_seg.append(pool * 4 + has_fee[members] * 2 + issues[members])
    proc = np.concatenate(entries_proc)
    seg = np.concatenate(entries_seg).astype(np.int64)
    order, seg_cum, seg_end = _segments(seg, weight[proc], 16)
    return _Catalogue(
        code=pa.array(code, pa.string()),
        name=pa.array(names, pa.string()),
        fee=fee,
        due_days=due_days,
        department=department,
        seg_proc=proc[order],
        seg_cum=seg_cum,
        seg_end=seg_end,
    )


def _units(seed: int, boundary: str, code: str, level: str) -> tuple[list[str], np.ndarray]:
    """A province's districts or communes: names and volume weights (fixed per seed)."""
    tag = [seed, _UNITS, 0 if boundary == "old63" else 1, int(code), LEVEL_CODE[level]]
    rng = np.random.default_rng(np.random.SeedSequence(tag))
    if level == "district":
        k = int(rng.integers(OLD_DISTRICTS[0], OLD_DISTRICTS[1] + 1))
        return [f"Huyện {i}" for i in range(1, k + 1)], rng.lognormal(0.0, 0.5, k)
    low, high = OLD_COMMUNES if boundary == "old63" else NEW_COMMUNES
    k = int(rng.integers(low, high + 1))
    ward = rng.random(k) < rng.uniform(*WARD_SHARE)
    names, counts = [], {True: 0, False: 0}
    for w in ward:
        counts[bool(w)] += 1
        names.append(f"{'Phường' if w else 'Xã'} {counts[bool(w)]}")
    return names, rng.lognormal(0.0, 0.7, k) * np.where(ward, 1.5, 1.0)


# --- the plan: cells, their counts and rates ---------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    seed: int
    n: int
    cum: np.ndarray  # cumulative dossiers per cell
    boundary: pa.Array  # per cell, string
    province_code: pa.Array
    province: pa.Array
    level: pa.Array
    level_code: np.ndarray
    is_new: np.ndarray
    month_start: np.ndarray  # int64 days since epoch
    month_days: np.ndarray
    end_day: int  # last day of the last month
    p: dict[str, np.ndarray]  # per-cell probabilities
    unit_pool: np.ndarray  # per cell, -1 for the province level
    unit_cum: np.ndarray
    unit_end: np.ndarray
    unit_name: pa.Array
    unit_ward: np.ndarray
    applicant_slot: np.ndarray  # per cell, a stable province number
    applicant_pool: np.ndarray  # per cell, applicants of its province
    catalogue: _Catalogue
    agency: pa.Array  # departments old, departments new, OTHER_AGENCIES


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return np.clip(np.nan_to_num(out), 0.0, 1.0)


def _split(t: np.ndarray, w: np.ndarray, lift: float) -> tuple[np.ndarray, np.ndarray]:
    """Rates (a inside a group of share w, b outside) with a >= b and w a + (1 - w) b = t."""
    w = np.clip(w, 0.0, 1.0)
    a = np.minimum(1.0, lift * t)
    out = 1.0 - w
    b = np.where(out > 0, (t - w * a) / np.where(out > 0, out, 1), 0.0)
    short = b < 0  # the group alone already exceeds t: all of it inside
    a = np.where(short, np.where(w > 0, t / np.where(w > 0, w, 1), 0.0), a)
    b = np.where(short, 0.0, b)
    big = b > 1  # cannot happen with a = min(1, lift t) >= t, kept as a guard
    b = np.where(big, 1.0, b)
    a = np.where(w >= 1, t, a)
    b = np.where(w <= 0, t, b)
    return np.clip(a, 0.0, 1.0), np.clip(b, 0.0, 1.0)


def _select(panel: pd.DataFrame, months, provinces) -> pd.DataFrame:
    missing = [c for c in KEY_COLUMNS + COUNT_COLUMNS if c not in panel.columns]
    if missing:
        raise WorkbenchError(
            f"the panel lacks column(s) {', '.join(missing)}",
            hint="give the SynthData of analysis.synthetic.panel.generate",
        )
    out = panel
    if months is not None:
        try:
            start, end = (pd.Period(str(m), freq="M").to_timestamp() for m in months)
        except (TypeError, ValueError) as exc:
            raise WorkbenchError(
                f"cannot read months {months!r} ({exc})",
                hint='give (first, last) as "YYYY-MM", e.g. ("2024-01", "2024-06")',
            ) from None
        if end < start:
            raise WorkbenchError(f"months {months!r}: the last is before the first")
        month = pd.to_datetime(out["month"])
        out = out[(month >= start) & (month <= end)]
    if provinces is not None:
        if isinstance(provinces, str):
            provinces = [provinces]
        keys = set()
        for name in provinces:
            found = []
            for boundary in ("old63", "new34"):
                try:
                    p = registry.resolve(str(name), boundary=boundary)
                except WorkbenchError:
                    continue
                found.append((boundary, p.code))
            if not found:
                raise WorkbenchError(
                    f"unknown province {name!r}", hint="`workbench provinces` lists the names"
                )
            keys.update(found)
        pairs = list(zip(out["boundary"], out["province_code"], strict=True))
        out = out[[pair in keys for pair in pairs]]
    if out.empty:
        raise WorkbenchError(
            "no panel cells for these months and provinces",
            hint="check the span (the synthetic panel runs 2020-01 to 2026-09) and the names",
        )
    order = out.assign(
        _m=pd.to_datetime(out["month"]), _l=out["level"].map(LEVEL_CODE).fillna(9)
    ).sort_values(["_m", "boundary", "province_code", "_l"], kind="stable")
    return order.drop(columns=["_m", "_l"]).reset_index(drop=True)


def _allocate(n: int, weight: np.ndarray) -> np.ndarray:
    """n shared in proportion to weight, largest remainder (ties to the earlier cell)."""
    total = weight.sum()
    if total <= 0:
        raise WorkbenchError("the selected panel cells hold no dossiers")
    exact = n * (weight / total)
    base = np.floor(exact).astype(np.int64)
    short = n - int(base.sum())
    if short > 0:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


def _plan(n: int, seed: int, data: SynthData | None, months, provinces) -> _Plan:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise WorkbenchError(f"cannot write {n!r} dossiers", hint="give a whole number >= 0")
    if data is None:
        from analysis.synthetic import panel as synth

        data = synth.generate(seed=seed)
    cells = _select(data.panel, months, provinces)

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(cells[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    received = np.nan_to_num(col("dossiers_received"))
    counts = _allocate(int(n), received)

    online = _ratio(col("dossiers_online"), received)
    full = _ratio(col("dossiers_fully_online"), col("dossiers_online"))
    pay = _ratio(col("dossiers_paid_online"), col("dossiers_fee_bearing"))
    result = _ratio(col("dossiers_result_issuing"), received)
    e_rate = _ratio(col("dossiers_e_result"), col("dossiers_result_issuing"))
    pay_online, pay_other = _split(pay, online, LIFT)
    # Electronic results: fully online dossiers first, then online over the rest.
    w_full = online * full
    e_full = np.where(w_full > 0, np.minimum(1.0, e_rate / np.where(w_full > 0, w_full, 1)), 0)
    rest = np.clip(e_rate - w_full * e_full, 0.0, 1.0)
    rest_share = 1.0 - w_full
    t_rest = np.where(rest_share > 0, rest / np.where(rest_share > 0, rest_share, 1), 0.0)
    partial = np.where(
        rest_share > 0, online * (1 - full) / np.where(rest_share > 0, rest_share, 1), 0
    )
    e_partial, e_offline = _split(np.clip(t_rest, 0, 1), partial, LIFT)
    p = {
        "online": online,
        "full": full,
        "fee": _ratio(col("dossiers_fee_bearing"), received),
        "pay_online": pay_online,
        "pay_other": pay_other,
        "result": result,
        "e_full": e_full,
        "e_partial": e_partial,
        "e_offline": e_offline,
        "digitised": _ratio(col("dossiers_digitised"), received),
        "synced": _ratio(col("dossiers_synced"), received),
        "on_time": _ratio(col("dossiers_on_time"), col("dossiers_handled")),
        "rated": _ratio(col("ratings"), received),
        "satisfied": _ratio(col("ratings_satisfied"), col("ratings")),
    }
    p = {k: v.astype(np.float64) for k, v in p.items()}

    month = pd.to_datetime(cells["month"]).to_numpy().astype("datetime64[M]")
    month_start = month.astype("datetime64[D]").astype(np.int64)
    month_days = (month + 1).astype("datetime64[D]").astype(np.int64) - month_start
    end_day = int((month_start + month_days).max() - 1)

    boundary = cells["boundary"].astype(str).to_numpy()
    code = cells["province_code"].astype(str).to_numpy()
    level = cells["level"].astype(str).to_numpy()
    bad = sorted(set(level) - set(LEVEL_CODE))
    if bad:
        raise WorkbenchError(
            f"panel level(s) {', '.join(bad)} cannot hold dossiers",
            hint="give a panel with one row per province, level and month",
        )
    level_code = np.array([LEVEL_CODE[x] for x in level], dtype=np.int64)
    is_new = boundary == "new34"

    # Unit pools, per (boundary, province, level) present.
    pool_index: dict[tuple[str, str, str], int] = {}
    names: list[str] = []
    ward: list[bool] = []
    seg_of, weights = [], []
    unit_pool = np.full(len(cells), -1, dtype=np.int64)
    for i, key in enumerate(zip(boundary, code, level, strict=True)):
        if key[2] == "province":
            continue
        if key not in pool_index:
            pool_index[key] = len(pool_index)
            unit_names, w = _units(seed, *key)
            names.extend(unit_names)
            ward.extend(x.startswith("Phường") for x in unit_names)
            seg_of.append(np.full(len(unit_names), pool_index[key]))
            weights.append(w)
        unit_pool[i] = pool_index[key]
    if pool_index:
        order, unit_cum, unit_end = _segments(
            np.concatenate(seg_of), np.concatenate(weights), len(pool_index)
        )
        unit_name = pa.array(names, pa.string()).take(pa.array(order))
        unit_ward = np.asarray(ward, dtype=bool)[order]
    else:
        unit_cum, unit_end = np.zeros(0), np.zeros(0, np.int64)
        unit_name, unit_ward = pa.array([], pa.string()), np.zeros(0, bool)

    slot = np.where(is_new, 100, 0) + code.astype(np.int64)
    per_slot = np.bincount(slot, weights=counts, minlength=200)
    pool_size = np.maximum(100, np.round(APPLICANTS_PER_DOSSIER * per_slot)).astype(np.int64)

    agencies = [d[0] for d in DEPARTMENTS] + [d[1] for d in DEPARTMENTS] + list(OTHER_AGENCIES)
    return _Plan(
        seed=int(seed),
        n=int(n),
        cum=np.cumsum(counts),
        boundary=pa.array(boundary, pa.string()),
        province_code=pa.array(code, pa.string()),
        province=pa.array(cells["province"].astype(str).to_numpy(), pa.string()),
        level=pa.array(level, pa.string()),
        level_code=level_code,
        is_new=is_new,
        month_start=month_start,
        month_days=month_days,
        end_day=end_day,
        p=p,
        unit_pool=unit_pool,
        unit_cum=unit_cum,
        unit_end=unit_end,
        unit_name=unit_name,
        unit_ward=unit_ward,
        applicant_slot=slot,
        applicant_pool=pool_size[slot],
        catalogue=_catalogue(seed),
        agency=pa.array(agencies, pa.string()),
    )


# --- rows --------------------------------------------------------------------------------------


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
    return x ^ (x >> np.uint64(31))


def _applicant_keys(seed: int, slot: np.ndarray, number: np.ndarray, none: np.ndarray):
    """32 letters a-p from (seed, province slot, applicant number): no person behind them."""
    base = np.uint64(np.random.SeedSequence([seed, _KEYS]).generate_state(1, np.uint64)[0])
    x = _splitmix(base ^ (slot.astype(np.uint64) << np.uint64(40)) ^ number.astype(np.uint64))
    y = _splitmix(x ^ np.uint64(0x632BE59BD9B4E019))
    raw = np.stack([x, y], axis=1).astype("<u8").view(np.uint8)  # (n, 16)
    half = KEY_HEX_DIGITS // 2
    raw = raw[:, :half]
    letters = np.empty((len(raw), 2 * half), dtype=np.uint8)
    letters[:, 0::2] = (raw >> 4) + ord("a")
    letters[:, 1::2] = (raw & 0x0F) + ord("a")
    keys = pa.array(letters.view(f"S{2 * half}").ravel(), pa.binary(2 * half), mask=none)
    return keys.cast(pa.string())


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), pa.date32(), mask=null)


def _chunk(plan: _Plan, k: int) -> pa.Table:
    r0 = k * CHUNK_ROWS
    r1 = min(plan.n, r0 + CHUNK_ROWS)
    n = r1 - r0
    starts = plan.cum - np.diff(np.r_[0, plan.cum])
    lo = int(np.searchsorted(plan.cum, r0, side="right"))
    hi = int(np.searchsorted(plan.cum, r1 - 1, side="right"))
    span = np.arange(lo, hi + 1)
    inside = np.minimum(plan.cum[span], r1) - np.maximum(starts[span], r0)
    c = np.repeat(span, inside)
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, _ROWS, k]))
    p = plan.p

    def draw() -> np.ndarray:
        return rng.random(n)

    # Channel.
    u = draw()
    online = u < p["online"][c]
    postal = ~online & (u >= 1 - (1 - p["online"][c]) * POSTAL_SHARE)
    channel = np.where(online, 1, np.where(postal, 2, 0))
    full = online & (draw() < p["full"][c])

    # Procedure: by level pool, fee and result flags drawn with the cell's shares.
    fee_bearing = draw() < p["fee"][c]
    issues = draw() < p["result"][c]
    level = plan.level_code[c]
    pool = np.where(level == 2, np.where(plan.is_new[c], 3, 2), level)
    cat = plan.catalogue
    segment = pool * 4 + fee_bearing * 2 + issues
    proc = cat.seg_proc[_pick(cat.seg_cum, cat.seg_end, segment, draw())]

    # Unit and agency.
    unit_pool = plan.unit_pool[c]
    has_unit = unit_pool >= 0
    unit = np.zeros(n, dtype=np.int64)
    if has_unit.any():
        unit[has_unit] = _pick(plan.unit_cum, plan.unit_end, unit_pool[has_unit], draw()[has_unit])
    n_dep = len(DEPARTMENTS)
    ward = plan.unit_ward[unit] if len(plan.unit_ward) else np.zeros(n, bool)
    agency = np.where(
        level == 0,
        cat.department[proc] + np.where(plan.is_new[c], n_dep, 0),
        np.where(level == 1, 2 * n_dep, 2 * n_dep + 1 + ward),
    )

    # Payment and results.
    fee = np.where(fee_bearing, cat.fee[proc], 0)
    paid = fee_bearing & (draw() < np.where(online, p["pay_online"][c], p["pay_other"][c]))
    e_prob = np.where(full, p["e_full"][c], np.where(online, p["e_partial"][c], p["e_offline"][c]))
    e_result = issues & (draw() < e_prob)

    # Digitisation and sync.
    u = draw()
    digitised = u < p["digitised"][c]
    rest = (u - p["digitised"][c]) / np.maximum(1e-12, 1 - p["digitised"][c])  # U(0,1) if not
    components = digitised | (~digitised & (rest < COMPONENTS_ONLY))
    result_dig = digitised | (
        ~digitised
        & (rest >= COMPONENTS_ONLY)
        & (rest < COMPONENTS_ONLY + (1 - COMPONENTS_ONLY) * RESULT_ONLY)
    )
    reuse_p = np.where(digitised, REUSE_DIGITISED, np.where(components, REUSE_PARTIAL, 0.0))
    reused = draw() < reuse_p
    synced = draw() < p["synced"][c]

    # Dates: received on any day online, on a weekday at the counter or by post.
    start, length = plan.month_start[c], plan.month_days[c]
    received = start + (draw() * length).astype(np.int64)
    dow = (received + 3) % 7  # Monday 0
    weekend = ~online & (dow >= 5)
    back = received - (dow - 4)  # Saturday -> Friday, Sunday -> Friday
    forward = received + (7 - dow)  # -> Monday
    received = np.where(weekend, np.where(back >= start, back, forward), received)
    due = received + cat.due_days[proc]
    allowed = due - received

    u = draw()
    on_time = u < p["on_time"][c]
    v = np.where(on_time, 0.0, (u - p["on_time"][c]) / np.maximum(1e-12, 1 - p["on_time"][c]))
    by_rule = ~on_time & (v < RULE_OVERDUE_SHARE)
    late = ~on_time & ~by_rule
    early_finish = received + ((draw() ** 1.3) * (allowed + 1)).astype(np.int64)
    late_finish = due + rng.geometric(LATE_DELAY_P, n)
    # Overdue by rule: half finished by the calendar date, half late.
    early = on_time | (by_rule & (draw() < RULE_FINISHED_EARLY))
    finished = np.where(early, np.minimum(early_finish, due), late_finish)
    # A late dossier not yet due on the last day cannot be overdue by the calendar: by rule.
    not_yet_due = late & (due >= plan.end_day)
    by_rule |= not_yet_due
    late &= ~not_yet_due
    stuck = late & (draw() < STUCK_SHARE)
    x = draw()
    in_progress = stuck | (finished > plan.end_day)
    supplements = np.where(
        by_rule,
        2 + (x >= 0.7) + (x >= 0.95),
        np.where(on_time, x < SUPPLEMENT_ONE_ON_TIME, x < SUPPLEMENT_ONE_LATE),
    ).astype(np.int64)

    # Ratings on finished dossiers.
    u = draw()
    rated = ~in_progress & (u < p["rated"][c])
    s = u / np.maximum(1e-12, p["rated"][c])  # U(0,1) among the rated
    satisfied = s < p["satisfied"][c]
    t = (s - p["satisfied"][c]) / np.maximum(1e-12, 1 - p["satisfied"][c])
    rating = np.where(satisfied, 0, np.where(t < NOT_SATISFIED_SHARE, 2, 1))

    # Applicants.
    u = draw()
    number = (draw() * plan.applicant_pool[c]).astype(np.int64)
    keys = _applicant_keys(plan.seed, plan.applicant_slot[c], number, u < NO_APPLICANT_KEY)

    rows = np.arange(r0 + 1, r1 + 1, dtype=np.int64)
    ids = pc.binary_join_element_wise(f"SYN-{plan.seed}-", pc.cast(pa.array(rows), pa.string()), "")
    cell = pa.array(c)
    month = start.astype("datetime64[D]")
    columns = {
        "dossier_id": ids,
        "boundary": plan.boundary.take(cell),
        "province_code": plan.province_code.take(cell),
        "province": plan.province.take(cell),
        "unit": plan.unit_name.take(pa.array(unit, mask=~has_unit))
        if has_unit.any()
        else pa.nulls(n, pa.string()),
        "agency": plan.agency.take(pa.array(agency)),
        "level": plan.level.take(cell),
        "procedure_code": cat.code.take(pa.array(proc)),
        "procedure_name": cat.name.take(pa.array(proc)),
        "received_date": _dates(received),
        "received_month": pa.array(month, pa.date32()),
        "channel": pa.array(CHANNELS, pa.string()).take(pa.array(channel)),
        "fully_online": pa.array(full),
        "due_date": _dates(due),
        "finished_date": _dates(finished, in_progress),
        "supplement_requests": pa.array(supplements),
        "fee_vnd": pa.array(fee.astype(np.int64)),
        "paid_online": pa.array(paid),
        "e_result": pa.array(e_result),
        "issues_result": pa.array(issues),
        "components_digitised": pa.array(components),
        "result_digitised": pa.array(result_dig),
        "data_reused": pa.array(reused),
        "synced": pa.array(synced),
        "rating": pa.array(RATINGS, pa.string()).take(pa.array(rating, mask=~rated)),
        "applicant_key": keys,
        "source_row": pa.array(rows),
    }
    return pa.Table.from_arrays([columns[f] for f in OUTPUT_SCHEMA.names], schema=OUTPUT_SCHEMA)


def generate_dossiers(
    n: int,
    *,
    seed: int = 766,
    data: SynthData | None = None,
    months: tuple[str, str] | None = None,
    provinces: Sequence[str] | None = None,
    chunks: range | None = None,
) -> Iterator[pa.Table]:
    """Synthetic dossier records, in chunks of at most :data:`CHUNK_ROWS` rows.

    Parameters
    ----------
    n : int
        Dossiers in all (exactly).
    seed : int, default 766
        The same seed (and the same other arguments) gives the same rows.
    data : SynthData, optional
        The panel to be consistent with; default ``analysis.synthetic.panel.generate(seed=seed)``.
    months : (str, str), optional
        First and last month ("YYYY-MM"), inclusive; default the panel's span. The last day of
        the last month is the "end": dossiers still open then are in progress.
    provinces : sequence of str, optional
        Province names (any spelling :func:`analysis.registry.resolve` understands), matched on
        both maps: "Bắc Ninh" selects old and new Bắc Ninh. Default every province.
    chunks : range, optional
        Only these chunks of the ``ceil(n / CHUNK_ROWS)`` (default all): each is the same rows
        as in the whole run, so processes given disjoint ranges generate one set in parallel.

    Yields
    ------
    pyarrow.Table
        In :data:`analysis.ingest.dossiers.OUTPUT_SCHEMA`; rows in cell order.

    Raises
    ------
    WorkbenchError
        For a bad ``n``, span or province, or a selection without dossiers.
    """
    plan = _plan(n, seed, data, months, provinces)  # errors now, not at the first chunk
    every = range(-(-plan.n // CHUNK_ROWS))
    return (
        _chunk(plan, k) for k in (every if chunks is None else every[chunks.start : chunks.stop])
    )


# --- writing -----------------------------------------------------------------------------------


def _ours(path: Path, listed: set[str]) -> bool:
    """A file of an earlier synthetic set: listed in its manifest, or named and marked so."""
    if path.name in listed:
        return True
    if not re.fullmatch(r"synthetic-\d{5}\.parquet", path.name):
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return False
    return metadata.get(b"synthetic") == b"true"


def _replaceable(target: Path, manifest: Path) -> None:
    """Refuse to replace a dossier folder that holds anything but an earlier synthetic set."""
    if not target.exists():
        return
    listed: set[str] = set()
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        if doc.get("synthetic") is True:
            listed = set(doc.get("files") or {})
    except (OSError, ValueError, AttributeError):
        pass
    others = sorted(p.name for p in target.iterdir() if not _ours(p, listed))
    if others:
        raise WorkbenchError(
            f"{target} holds files that are not synthetic dossiers "
            f"({len(others)}, e.g. {others[0]})",
            hint="write synthetic dossiers to another folder; imported dossiers are never replaced",
        )


class _Files:
    """Parquet files of at most ``row_group`` rows in ``folder``, each under a temporary name
    until complete, with their SHA-256."""

    def __init__(self, folder: Path, schema: pa.Schema, row_group: int) -> None:
        self.folder, self.schema, self.row_group = folder, schema, row_group
        self.digests: dict[str, str] = {}
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None
        self._filled = 0

    def _open(self) -> None:
        name = FILE_PATTERN.format(len(self.digests))
        self._tmp = self.folder / f".{name}.tmp"
        self._writer = pq.ParquetWriter(
            self._tmp, self.schema, compression="zstd", use_dictionary=DICTIONARY_COLUMNS
        )
        self._filled = 0

    def _finish(self) -> None:
        assert self._writer is not None and self._tmp is not None
        self._writer.close()
        name = self._tmp.name[1:-4]
        os.replace(self._tmp, self.folder / name)
        self.digests[name] = sha256(self.folder / name)
        self._writer = self._tmp = None

    def write(self, table: pa.Table) -> None:
        offset = 0
        while offset < table.num_rows:
            if self._writer is None:
                self._open()
            take = min(self.row_group - self._filled, table.num_rows - offset)
            self._writer.write_table(table.slice(offset, take), row_group_size=CHUNK_ROWS)
            self._filled += take
            self.rows += take
            offset += take
            if self._filled == self.row_group:
                self._finish()

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # already failing; the folder goes anyway
                self._writer.close()
            self._writer = None

    def close(self) -> None:
        if self._writer is None and not self.digests:
            self._open()  # no rows: one empty file, so that readers find the schema
            self._writer.write_table(self.schema.empty_table())
        if self._writer is not None:
            self._finish()


def _prefetch(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The chunks, generated one ahead in a thread while the caller writes the previous one.

    NumPy and Arrow release the GIL in their kernels, so generating and writing overlap on two
    cores. At most three chunks are alive: one being written, one queued, one being made.
    """
    queue: Queue = Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for table in chunks:
                while not stop.is_set():
                    try:
                        queue.put(table, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)

    thread = threading.Thread(target=produce, name="synth-dossiers", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        thread.join()


def write_dossiers(
    out_dir: Path | str,
    n: int,
    *,
    seed: int = 766,
    data: SynthData | None = None,
    months: tuple[str, str] | None = None,
    provinces: Sequence[str] | None = None,
    row_group: int = DEFAULT_ROW_GROUP,
) -> Path:
    """Write ``n`` synthetic dossiers to ``out_dir/dossiers/`` and ``out_dir/dossiers_manifest.json``.

    The dataset is written into a temporary folder beside the target (each file under a
    temporary name, then renamed) and moved into place as a whole, so a crash leaves the old
    set or the new one, never half of one. An earlier synthetic set in ``out_dir/dossiers/`` is
    replaced; a folder holding anything else (imported dossiers) is refused. The manifest
    ``{"synthetic": true, "seed", "rows", "files": {name: sha256}, ...}`` is written last.

    Parameters
    ----------
    out_dir : path-like
        E.g. ``config.SYNTH_DIR``.
    n, seed, data, months, provinces
        As for :func:`generate_dossiers`.
    row_group : int, default 1,000,000
        Rows per file at most (files ``synthetic-00000.parquet``, ...; Parquet row groups of at
        most :data:`CHUNK_ROWS`). The rows do not depend on it.

    Returns
    -------
    pathlib.Path
        The folder ``out_dir/dossiers``.
    """
    if isinstance(row_group, bool) or not isinstance(row_group, int) or row_group < 1:
        raise WorkbenchError(f"row_group {row_group!r} is not a whole number >= 1")
    out_dir = Path(out_dir)
    target = out_dir / DOSSIERS_DIR
    manifest_path = out_dir / MANIFEST_FILE
    _replaceable(target, manifest_path)
    chunks = generate_dossiers(n, seed=seed, data=data, months=months, provinces=provinces)
    metadata = {
        "source": "synthetic",
        "schema": PARQUET_SCHEMA_VERSION,
        "synthetic": "true",
        "seed": str(seed),
        "generator": f"analysis.synth_dossiers/{VERSION}",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{DOSSIERS_DIR}.", suffix=".tmp"))
    try:
        files = _Files(work, OUTPUT_SCHEMA.with_metadata(metadata), row_group)
        try:
            for table in _prefetch(chunks):
                files.write(table)
            files.close()
        except BaseException:
            files.abort()
            raise
        manifest_path.unlink(missing_ok=True)
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{DOSSIERS_DIR}.", suffix=".old"))
            os.replace(target, old / DOSSIERS_DIR)
            os.replace(work, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    rows, files = files.rows, files.digests
    manifest = {
        "synthetic": True,
        "seed": seed,
        "rows": rows,
        "files": files,
        "generator": "analysis.synth_dossiers",
        "version": VERSION,
        "schema": PARQUET_SCHEMA_VERSION,
        "months": list(months) if months is not None else None,
        "provinces": list(provinces) if provinces is not None else None,
        "row_group": row_group,
    }
    atomic_write(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return target
