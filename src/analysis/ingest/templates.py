"""Templates for analysts: a monthly table and a scores table, as XLSX and CSV.

Run ``python -m analysis.ingest.templates [OUT_DIR]`` (default ``data/templates/``) to write
them again. Headers are the first (Vietnamese) spelling of each field in
``analysis/data/ingest_headers.yaml``, so a template always imports; each holds one filled
example row whose figures are consistent (parts never exceed their totals, the total score is
the sum of the groups). The files are byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from pathlib import Path

from analysis import config, panel
from analysis.files import atomic_write
from analysis.ingest import reading, scores

TEMPLATES_DIR = config.DATA_DIR / "templates"
MONTHLY_STEM = "mau_bang_thang_monthly_template"
SCORES_STEM = "mau_diem_chi_so_scores_template"

# The example rows: Thái Nguyên's provincial agencies in June 2024 (made-up, consistent figures).
MONTHLY_EXAMPLE: dict[str, object] = {
    "province": "Thái Nguyên",
    "level": "Cấp tỉnh",
    "month": "06/2024",
    "dossiers_received": 1250,
    "dossiers_online": 980,
    "dossiers_fully_online": 610,
    "dossiers_handled": 1200,
    "dossiers_on_time": 1176,
    "dossiers_synced": 1240,
    "dossiers_fee_bearing": 400,
    "dossiers_paid_online": 230,
    "dossiers_result_issuing": 1100,
    "dossiers_e_result": 900,
    "dossiers_digitised": 1000,
    "ratings": 300,
    "ratings_satisfied": 291,
}
SCORES_EXAMPLE: dict[str, object] = {
    "unit": "Thái Nguyên",
    "level": "Cấp tỉnh",
    "province": "",
    "period": "05/2024",
    "publicity": 15.5,
    "timeliness": 18.2,
    "online_service": 10.1,
    "online_payment": 8.4,
    "satisfaction": 17.6,
    "digitisation": 19.3,
    "total": 89.1,
}

# What each column means, for the instructions sheet: (Vietnamese, English, required).
_MEANING = {
    "province": ("Tên tỉnh, viết kiểu nào cũng được", "Province, any common spelling", True),
    "level": ("Cấp tỉnh, Cấp huyện (đến 06/2025) hoặc Cấp xã", "Level of the agency", True),
    "month": ("Tháng: 06/2024, T6/2024, 2024-06", "Month", True),
    "unit": ("Tên đơn vị (tỉnh, hoặc xã)", "Unit (province, or commune)", True),
    "period": ("Kỳ: 05/2024, Quý 1/2024, Năm 2024", "Period", True),
    "total": ("Tổng điểm (100)", "Total score (out of 100)", True),
}
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def _headers(kind: str, names: list[str]) -> list[str]:
    return [reading.spellings(kind, n)[0] for n in names]


def monthly_columns() -> list[str]:
    """Canonical fields of the monthly template, in order."""
    return ["province", "level", "month", *panel.COUNT_COLUMNS]


def scores_columns() -> list[str]:
    """Canonical fields of the scores template, in order."""
    return ["unit", "level", "province", "period", *scores.GROUPS, scores.TOTAL]


def _csv_bytes(headers: list[str], row: list[object]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # Excel's own line ends
    writer.writerow(headers)
    writer.writerow(row)
    # UTF-8 with BOM: Excel opens it with a double click and shows the diacritics.
    return buffer.getvalue().encode("utf-8-sig")


def _reproducible(raw: bytes) -> bytes:
    """An XLSX with fixed timestamps inside, so the same template gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                    rb"\g<1>2024-01-01T00:00:00Z\g<2>",
                    data,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)
    return out.getvalue()


def _xlsx_bytes(
    sheet: str, headers: list[str], row: list[object], kind: str, names: list[str]
) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    data = book.active
    data.title = sheet
    data.append(headers)
    data.append(row)
    for cell in data[1]:
        cell.font = Font(bold=True)
    for cell in data[2]:
        if isinstance(cell.value, str):
            cell.number_format = "@"  # text: Excel must not turn "06/2024" into a date
    for i, header in enumerate(headers):
        data.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = max(
            12, len(header) + 2
        )
    data.freeze_panes = "A2"
    guide = book.create_sheet("Huong dan - Guide")
    guide.append(["Cột", "Ý nghĩa", "Meaning", "Bắt buộc / Required"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for header, name in zip(headers, names, strict=True):
        vi, en, required = _MEANING.get(name, ("Số đếm hoặc điểm", "Count or score", False))
        if kind == "monthly" and name in panel.COUNT_COLUMNS:
            vi, en = "Số hồ sơ / lượt (số nguyên)", f"{name} (whole number)"
        if kind == "scores" and name in scores.GROUPS:
            vi, en, required = "Điểm nhóm", f"{name} score", True
        guide.append([f"» {header}", vi, en, "có / yes" if required else "không / no"])
    guide.column_dimensions["A"].width = 34
    guide.column_dimensions["B"].width = 44
    guide.column_dimensions["C"].width = 40
    book.properties.creator = "analysis.ingest.templates"
    buffer = io.BytesIO()
    book.save(buffer)
    return _reproducible(buffer.getvalue())


def write(out_dir: Path | str = TEMPLATES_DIR) -> list[Path]:
    """Write the four templates and return their paths.

    Parameters
    ----------
    out_dir : path-like, default ``data/templates``

    Returns
    -------
    list of Path
        Monthly CSV and XLSX, scores CSV and XLSX.
    """
    out_dir = Path(out_dir)
    written = []
    for kind, stem, names, example, sheet in (
        ("monthly", MONTHLY_STEM, monthly_columns(), MONTHLY_EXAMPLE, "Bang thang"),
        ("scores", SCORES_STEM, scores_columns(), SCORES_EXAMPLE, "Diem chi so"),
    ):
        headers = _headers(kind, names)
        row = [example[n] for n in names]
        written.append(atomic_write(out_dir / f"{stem}.csv", _csv_bytes(headers, row)))
        written.append(
            atomic_write(out_dir / f"{stem}.xlsx", _xlsx_bytes(sheet, headers, row, kind, names))
        )
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis.ingest.templates [OUT_DIR]``."""
    args = sys.argv[1:] if argv is None else argv
    for path in write(args[0] if args else TEMPLATES_DIR):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
