"""Import a large dossier export against pandas.read_csv of the same file, side by side in one run.

A realistic export is generated first (Vietnamese headers, dates dd/mm/yyyy, channels in words,
fees with thousands dots, booleans as x/1/có, and the personal columns real exports carry: name,
CCCD/CMND, phone, address, e-mail; 1 row in 1000 has an unknown channel, so the quarantine path
runs too: rejected rows re-read and written to their CSV, accepted rows streamed out). Then, each in its own subprocess so that peak memory is the
process's own (VmHWM from /proc/self/status):

- ``ingest``: :func:`analysis.ingest.dossiers.ingest_dossiers` in quarantine mode, CSV -> Parquet;
- ``pandas``: ``pandas.read_csv(path)`` with default options (the baseline: only reading).

The result (seconds, rows per second, peak RSS, and the ratios ingest / pandas) is printed as
JSON and written to benchmarks/results/ingest_dossiers.json.

    .venv/bin/python benchmarks/bench_ingest_dossiers.py              # 10 million rows
    .venv/bin/python benchmarks/bench_ingest_dossiers.py --rows 200000 # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 500_000

HEADER = [
    "STT",
    "Mã hồ sơ",
    "Tỉnh/Thành phố",
    "Đơn vị",
    "Cơ quan giải quyết",
    "Cấp",
    "Mã thủ tục",
    "Tên thủ tục",
    "Họ tên người nộp",
    "Số CCCD/CMND",
    "Số điện thoại",
    "Địa chỉ",
    "Email",
    "Ngày tiếp nhận",
    "Kênh nộp",
    "Toàn trình",
    "Hạn xử lý",
    "Ngày hoàn thành",
    "Số lần yêu cầu bổ sung",
    "Phí, lệ phí (VNĐ)",
    "Thanh toán trực tuyến",
    "Trả kết quả điện tử",
    "Thủ tục có kết quả",
    "Số hóa thành phần",
    "Số hóa kết quả",
    "Tái sử dụng dữ liệu",
    "Đồng bộ DVCQG",
    "Đánh giá",
]
# Names valid on both maps (the same province before and after 1 July 2025), in several spellings.
PROVINCES = [
    "Hà Nội",
    "TP. Hồ Chí Minh",
    "Huế",
    "Thanh Hóa",
    "Nghệ An",
    "Quảng Ninh",
    "Hải Phòng",
    "Đà Nẵng",
    "Cần Thơ",
    "Lạng Sơn",
    "Cao Bằng",
    "ha noi",
    "Lâm Đồng",
    "Thái Nguyên",
]
UNITS = ["Phường Bến Nghé", "Xã Tản Lĩnh", "Huyện Ba Vì", "Phường 1", "Xã An Bình", ""]
AGENCIES = [
    "Sở Tư pháp",
    "Sở Kế hoạch và Đầu tư",
    "Văn phòng đăng ký đất đai",
    "UBND xã",
    "Công an tỉnh",
    "Sở Giao thông vận tải",
]
PROCEDURES = [f"Thủ tục hành chính số {i}" for i in range(200)]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Lan", "Long", "Mai", "Nam", "Phúc", "Thảo"]
GIVEN_ASCII = ["an", "binh", "cuong", "dung", "ha", "huong", "lan", "long", "mai", "nam", "phuc"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt"]
FIRST_DAY = date(2024, 1, 1)
DAYS = 731  # 2024-01-01 .. 2025-12-31
MERGER_OFFSET = (date(2025, 7, 1) - FIRST_DAY).days


def _pool(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _pick(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    return pool.take(pa.array(idx))


def _digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    numbers = pa.array(rng.integers(0, 10**width, n, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(numbers, width, "0")


def _chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    """``n`` rows of a dossier export, vectorised in Arrow (generating 10 M rows takes ~1 min)."""
    dates = _pool([(FIRST_DAY + timedelta(d)).strftime("%d/%m/%Y") for d in range(DAYS + 70)])
    ymd = _pool([(FIRST_DAY + timedelta(d)).strftime("%y%m%d") for d in range(DAYS)])
    received = rng.integers(0, DAYS, n)
    after = received >= MERGER_OFFSET
    level = rng.choice(3, n, p=[0.2, 0.3, 0.5])
    level[after & (level == 1)] = 2  # districts were abolished on 1 July 2025
    channel = rng.choice(4, n, p=[0.35, 0.599, 0.05, 0.001])  # 1 in 1000 is not a channel
    online = channel == 1
    due = received + rng.integers(1, 30, n)
    finished = received + rng.integers(0, 35, n)
    in_progress = rng.random(n) < 0.1
    fee = rng.choice(4, n, p=[0.5, 0.2, 0.2, 0.1])
    issues = rng.random(n) < 0.9
    seq = pc.utf8_lpad(pa.array(np.arange(start, start + n)).cast(pa.string()), 8, "0")

    def join(*parts: pa.Array | str) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "")

    def yes_no(p: float, words: tuple[str, str]) -> pa.Array:
        return _pick(_pool(list(words)), (rng.random(n) >= p).astype(np.int64))

    cccd = join("0", _digits(rng, n, 11))
    cmnd = _digits(rng, n, 9)
    id_number = pc.if_else(pa.array(rng.random(n) < 0.8), cccd, cmnd)
    mobile = pc.if_else(
        pa.array(rng.random(n) < 0.7),
        join("09", _digits(rng, n, 8)),
        join("+849", _digits(rng, n, 8)),
    )
    given = rng.integers(0, len(GIVEN_ASCII), n)
    columns = {
        "STT": pa.array(np.arange(start + 1, start + n + 1)).cast(pa.string()),
        "Mã hồ sơ": join("000.00.12.H26-", _pick(ymd, received), "-", seq),
        "Tỉnh/Thành phố": _pick(_pool(PROVINCES), rng.integers(0, len(PROVINCES), n)),
        "Đơn vị": _pick(_pool(UNITS), rng.integers(0, len(UNITS), n)),
        "Cơ quan giải quyết": _pick(_pool(AGENCIES), rng.integers(0, len(AGENCIES), n)),
        "Cấp": _pick(_pool(["Cấp tỉnh", "Cấp huyện", "Cấp xã"]), level),
        "Mã thủ tục": join("1.00", _digits(rng, n, 4)),
        "Tên thủ tục": _pick(_pool(PROCEDURES), rng.integers(0, len(PROCEDURES), n)),
        "Họ tên người nộp": pc.binary_join_element_wise(
            _pick(_pool(FAMILY), rng.integers(0, len(FAMILY), n)),
            _pick(_pool(MIDDLE), rng.integers(0, len(MIDDLE), n)),
            _pick(_pool(GIVEN), given),
            " ",
        ),
        "Số CCCD/CMND": id_number,
        "Số điện thoại": mobile,
        "Địa chỉ": join(
            "Số ",
            pa.array(rng.integers(1, 300, n)).cast(pa.string()),
            ", đường ",
            _pick(_pool(STREETS), rng.integers(0, len(STREETS), n)),
        ),
        "Email": join(
            _pick(_pool(GIVEN_ASCII), given),
            pa.array(rng.integers(1, 9999, n)).cast(pa.string()),
            "@gmail.com",
        ),
        "Ngày tiếp nhận": _pick(dates, received),
        "Kênh nộp": _pick(_pool(["Trực tiếp", "Trực tuyến", "Bưu chính", "fax"]), channel),
        "Toàn trình": pc.if_else(pa.array(online & (rng.random(n) < 0.5)), "x", ""),
        "Hạn xử lý": _pick(dates, due),
        "Ngày hoàn thành": pc.if_else(pa.array(in_progress), "", _pick(dates, finished)),
        "Số lần yêu cầu bổ sung": _pick(_pool(["0", "0", "0", "1", "2"]), rng.integers(0, 5, n)),
        "Phí, lệ phí (VNĐ)": _pick(_pool(["0", "50.000", "100000", "20.000"]), fee),
        "Thanh toán trực tuyến": pc.if_else(pa.array((fee > 0) & (rng.random(n) < 0.4)), "1", "0"),
        "Trả kết quả điện tử": pc.if_else(pa.array(issues & (rng.random(n) < 0.5)), "có", "không"),
        "Thủ tục có kết quả": pc.if_else(pa.array(issues), "có", "không"),
        "Số hóa thành phần": yes_no(0.7, ("x", "")),
        "Số hóa kết quả": yes_no(0.6, ("x", "")),
        "Tái sử dụng dữ liệu": yes_no(0.2, ("true", "false")),
        "Đồng bộ DVCQG": yes_no(0.95, ("1", "0")),
        "Đánh giá": _pick(
            _pool(["Hài lòng", "Rất hài lòng", "Không hài lòng", "", "", ""]),
            rng.integers(0, 6, n),
        ),
    }
    return pa.table(columns)


def generate(path: Path | str, rows: int, seed: int = 766) -> Path:
    """Write a dossier export of ``rows`` rows (UTF-8, comma-separated) to ``path``."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    options = pcsv.WriteOptions(quoting_style="needed")
    with pcsv.CSVWriter(
        path, pa.schema([(h, pa.string()) for h in HEADER]), write_options=options
    ) as writer:
        for start in range(0, rows, CHUNK):
            writer.write_table(_chunk(rng, start, min(CHUNK, rows - start)))
    return path


# Each measured step runs in a fresh interpreter and prints its own seconds and peak RSS.
_CHILD = r"""
import json, sys, time
from pathlib import Path

def peak_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

kind, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if kind == "ingest":
    from analysis.ingest.dossiers import ingest_dossiers
    from analysis.ingest.problems import ProblemReport
    result = ingest_dossiers(src, Path(out), quarantine=True, report=ProblemReport())
    rows = result.read
    extra = {"accepted": result.accepted, "rejected": result.rejected}
else:
    import pandas as pd
    rows = len(pd.read_csv(src))
    extra = {}
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rows": rows, "peak_rss_mib": peak_mib(), **extra}))
"""


def _measure(kind: str, src: Path, out: Path) -> dict:
    # The salt of a throw-away installation, not the real one.
    env = dict(os.environ, WORKBENCH_HOME=str(out.parent / "home"))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(src), str(out)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--tmp", default=None, help="folder for the generated file (default: /tmp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="bench_dossiers_") as tmp:
        tmp = Path(tmp)
        src = tmp / "dossiers.csv"
        t0 = time.perf_counter()
        generate(src, args.rows)
        generated = time.perf_counter() - t0
        size_mib = src.stat().st_size / 2**20
        ingest = _measure("ingest", src, tmp / "out")
        parquet_mib = sum(p.stat().st_size for p in (tmp / "out").rglob("*.parquet")) / 2**20
        baseline = _measure("pandas", src, tmp / "out")

    result = {
        "rows": args.rows,
        "csv_mib": round(size_mib, 1),
        "parquet_mib": round(parquet_mib, 1),
        "generate_seconds": round(generated, 1),
        "ingest_seconds": round(ingest["seconds"], 2),
        "ingest_rows_per_second": round(ingest["rows"] / ingest["seconds"]),
        "ingest_peak_rss_mib": round(ingest["peak_rss_mib"]),
        "ingest_accepted": ingest["accepted"],
        "ingest_rejected": ingest["rejected"],
        "pandas_read_csv_seconds": round(baseline["seconds"], 2),
        "pandas_rows_per_second": round(baseline["rows"] / baseline["seconds"]),
        "pandas_peak_rss_mib": round(baseline["peak_rss_mib"]),
        "ratio_seconds_ingest_to_pandas": round(ingest["seconds"] / baseline["seconds"], 2),
        "ratio_peak_rss_ingest_to_pandas": round(
            ingest["peak_rss_mib"] / baseline["peak_rss_mib"], 3
        ),
        "peak_rss_under_2_gib": ingest["peak_rss_mib"] < 2048,
        "cpus": os.cpu_count(),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_dossiers.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
