"""Write the corpus of malformed import files, one per failure kind.

Run ``python tests/ingest_corpus/make_corpus.py`` from the project root; the files are
committed beside this script, and ``tests/test_ingest_monthly.py`` / ``test_ingest_scores.py``
check that each one fails with a message naming the right row and column. Every file is
small and readable: the good rows are the templates' example, the bad cell is the only change.
Names start with ``m`` (monthly tables) or ``s`` (portal scores and their settings).
"""

from __future__ import annotations

import io
import json
import unicodedata
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận,Hồ sơ trực tuyến"
GOOD = "Thái Nguyên,Cấp tỉnh,06/2024,1250,980"
PORTAL_HEADER = "ID,TEN,CKMB,TDGQ,TTTT,CLGQ,MDHL,MDSH,TONG_SCORE"
PORTAL_GOOD = "19,Thái Nguyên,15.5,18.2,8.4,10.1,17.6,19.3,89.1"
VN_SCORES_HEADER = (
    "Đơn vị,Kỳ,Công khai minh bạch,Tiến độ kết quả giải quyết,Dịch vụ công trực tuyến,"
    "Thanh toán trực tuyến,Mức độ hài lòng,Số hóa hồ sơ,Tổng điểm"
)


def record(ten: str = "Thái Nguyên", **change) -> dict:
    """One portal record (TTTT = online payment, CLGQ = online service, as configured)."""
    rec = {
        "ID": "19",
        "TEN": ten,
        "CKMB": 15.5,
        "TDGQ": 18.2,
        "TTTT": 8.4,
        "CLGQ": 10.1,
        "MDHL": 17.6,
        "MDSH": 19.3,
        "TONG_SCORE": 89.1,
    }
    rec.update(change)
    return rec


# The five Vietnamese tone marks as combining characters: grave, acute, tilde, hook, dot below.
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def encode_cp1258(text: str) -> bytes:
    """Text -> Windows-1258 bytes, tone marks as combining characters the way the code page
    writes them (it has no precomposed letters for most toned vowels)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            # Keep the vowel's own mark (â, ơ, ...) precomposed; the tone goes after it.
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(c for c in parts if c in _TONES)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
            out.append(base.encode("cp1258") + tones.encode("cp1258"))
    return b"".join(out)


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _xlsx(sheets: dict[str, list[list[object]]], merges: dict[str, list[str]] | None = None):
    import openpyxl

    from analysis.ingest.templates import _reproducible

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for span in (merges or {}).get(title, []):
            sheet.merge_cells(span)
    buffer = io.BytesIO()
    book.save(buffer)
    return _reproducible(buffer.getvalue())


def _zip_of_text() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bao_cao.txt", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, "không phải bảng")
    return buffer.getvalue()


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def corpus() -> dict[str, bytes]:
    """File name -> bytes of every corpus file."""
    files: dict[str, bytes] = {
        # monthly tables ----------------------------------------------------------------------
        "m01_unknown_province.csv": _csv(HEADER, GOOD, "Tỉnh Xyz,Cấp tỉnh,06/2024,100,50"),
        "m02_unknown_level.csv": _csv(HEADER, GOOD, "Bắc Ninh,Cấp bộ,06/2024,100,50"),
        "m03_duplicate_conflict.csv": _csv(
            HEADER,
            GOOD,
            "Bắc Ninh,Cấp tỉnh,06/2024,100,50",
            "Thái Nguyên,Cấp tỉnh,T6/2024,1300,980",
        ),
        "m04_numerator_gt_denominator.csv": _csv(
            HEADER, GOOD, "Bắc Ninh,Cấp tỉnh,06/2024,1200,1500"
        ),
        "m05_negative_count.csv": _csv(HEADER, GOOD, "Bắc Ninh,Cấp tỉnh,06/2024,-5,0"),
        "m06_rate_out_of_range.csv": _csv(
            "Tỉnh,Cấp,Tháng,Hồ sơ giải quyết,Tỷ lệ đúng hạn (%)",
            "Thái Nguyên,Cấp tỉnh,06/2024,1200,98",
            "Bắc Ninh,Cấp tỉnh,06/2024,900,-3",
        ),
        "m07_month_in_future.csv": _csv(HEADER, "Thái Nguyên,Cấp tỉnh,12/2099,1250,980"),
        "m08_month_before_range.csv": _csv(HEADER, GOOD, "Bắc Ninh,Cấp tỉnh,06/2012,100,50"),
        "m09_missing_columns.csv": _csv("Tỉnh,Hồ sơ tiếp nhận", "Thái Nguyên,1250"),
        "m10_empty.csv": b"",
        "m11_no_matching_sheet.xlsx": _xlsx(
            {
                "Ghi chú": [["Báo cáo tình hình giải quyết TTHC"], ["Số liệu gửi kèm công văn"]],
                "Biểu đồ": [["Tháng", "Giá trị"], ["6", "12"]],
            }
        ),
        # The file was cut in the middle of row 3: two of five columns made it.
        "m12_truncated.csv": _csv(HEADER, GOOD)[:-1] + b"\nB\xe1\xba\xafc Ninh,C\xe1\xba\xa5p t",
        "m13_png_as_csv.csv": PNG,
        "m14_zip_as_csv.csv": _zip_of_text(),
        # UTF-8 except row 3's province, pasted in from a Windows-1258 file.
        "m15_bad_encoding.csv": _csv(HEADER, GOOD)
        + encode_cp1258("Bắc Ninh")
        + ",Cấp tỉnh,06/2024,100,50\n".encode(),
        # A merged group header over two columns, and no row of sub-headers beneath it.
        "m16_missing_subheader.xlsx": _xlsx(
            {
                "T6": [
                    ["Tỉnh", "Cấp", "Tháng", "Hồ sơ tiếp nhận", None, "Hồ sơ giải quyết", None],
                    ["Thái Nguyên", "Cấp tỉnh", "06/2024", 1250, 980, 1200, 1176],
                ]
            },
            merges={"T6": ["D1:E1", "F1:G1"]},
        ),
        "m17_percent_over_100.csv": (
            "Tỉnh;Cấp;Tháng;Hồ sơ tiếp nhận;Tỷ lệ trực tuyến\n"
            "Thái Nguyên;Cấp tỉnh;06/2024;1.250;78,4%\n"
            "Bắc Ninh;Cấp tỉnh;06/2024;900;112,5%\n"
        ).encode(),
        "m18_text_in_number.csv": _csv(HEADER, GOOD, "Bắc Ninh,Cấp tỉnh,06/2024,900,khoảng 300"),
        "m19_district_after_reform.csv": _csv(HEADER, "Thái Nguyên,Cấp huyện,08/2025,1250,980"),
        "m20_merged_province_after_reform.csv": _csv(
            HEADER, "Thái Nguyên,Cấp tỉnh,08/2025,1250,980", "Hà Giang,Cấp tỉnh,08/2025,300,200"
        ),
        "m21_bad_month.csv": _csv(HEADER, GOOD, "Bắc Ninh,Cấp tỉnh,Tháng 13/2024,100,50"),
        "m22_old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        "m23_unterminated_quote.csv": _csv(HEADER, GOOD, '"Bắc Ninh,Cấp tỉnh,06/2024,100,50'),
        "m24_province_code_mismatch.csv": _csv(
            "Mã tỉnh,Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận",
            "19,Thái Nguyên,Cấp tỉnh,06/2024,1250",
            "01,Bắc Ninh,Cấp tỉnh,06/2024,900",
        ),
        "m25_not_whole.csv": (
            "Tỉnh;Cấp;Tháng;Hồ sơ tiếp nhận;Hồ sơ trực tuyến\n"
            "Thái Nguyên;Cấp tỉnh;06/2024;1.250;980\n"
            "Bắc Ninh;Cấp tỉnh;06/2024;900,5;300\n"
        ).encode(),
        "m26_rate_without_total.csv": _csv(
            "Tỉnh,Cấp,Tháng,Tỷ lệ trực tuyến", "Thái Nguyên,Cấp tỉnh,06/2024,78.4"
        ),
        "m27_header_only.csv": _csv(HEADER),
        "m28_missing_value.csv": _csv(HEADER, GOOD, "Bắc Ninh,Cấp tỉnh,06/2024,,50"),
        # portal scores --------------------------------------------------------------------------
        "s01_score_above_max_2024-05.json": json.dumps(
            [record(), record("Bắc Ninh", ID="27", CKMB=19.5, TONG_SCORE=93.1)],
            ensure_ascii=False,
            indent=1,
        ).encode(),
        "s02_total_mismatch_2024-05.csv": _csv(
            PORTAL_HEADER,
            PORTAL_GOOD,
            "27,Bắc Ninh,15.0,18.0,8.0,10.0,17.0,19.0,95.0",
        ),
        "s03_settings_unknown_group.yaml": (
            b"columns:\n  CKMB: publicity\n  TDGQ: timeliness\n  TTTT: thanh_toan\n"
            b"  CLGQ: online_service\n  MDHL: satisfaction\n  MDSH: digitisation\n"
            b"  TONG_SCORE: total\nmax_points: {publicity: 18, timeliness: 20, online_service: 12,"
            b" online_payment: 10, satisfaction: 18, digitisation: 22}\n"
        ),
        "s04_settings_without_tttt.yaml": (
            b"columns:\n  CKMB: publicity\n  TDGQ: timeliness\n"
            b"  CLGQ: online_service\n  MDHL: satisfaction\n  MDSH: digitisation\n"
            b"  TONG_SCORE: total\nmax_points: {publicity: 18, timeliness: 20, online_service: 12,"
            b" online_payment: 10, satisfaction: 18, digitisation: 22}\n"
        ),
        "s04_unmapped_column_2024-05.csv": _csv(PORTAL_HEADER, PORTAL_GOOD),
        "s05_unknown_province.json": json.dumps(
            {
                "period": "2024-05",
                "data": [record(), record("Bắc Ninh", ID="27"), record("Tỉnh Bắc Trung", ID="99")],
            },
            ensure_ascii=False,
        ).encode(),
        "s06_missing_columns_2024-05.csv": _csv(
            "ID,TEN,CKMB,TDGQ,TTTT,CLGQ,MDHL,TONG_SCORE",
            "19,Thái Nguyên,15.5,18.2,8.4,10.1,17.6,89.1",
        ),
        "s07_period_before_range.csv": _csv(
            VN_SCORES_HEADER,
            "Thái Nguyên,05/2021,15.5,18.2,10.1,8.4,17.6,19.3,89.1",
        ),
        "s08_text_in_number.csv": _csv(
            VN_SCORES_HEADER,
            'Thái Nguyên,Tháng 5/2024,"15,5","18,2","10,1","8,4","17,6","19,3","89,1"',
            'Bắc Ninh,Tháng 5/2024,"15,5","18,2","10,1","8,4",mười tám,"19,3","89,1"',
        ),
        "s09_truncated_2024-05.json": json.dumps(
            [record(), record("Bắc Ninh", ID="27")], ensure_ascii=False, indent=1
        ).encode()[:-40],
        "s10_no_period.json": json.dumps([record()], ensure_ascii=False).encode(),
        "s11_negative_score_2024-05.csv": _csv(
            PORTAL_HEADER, PORTAL_GOOD, "27,Bắc Ninh,-1,18,8,10,17,19,71"
        ),
        "s12_unknown_level.csv": _csv(
            "Đơn vị,Cấp,Kỳ,CKMB,TDGQ,TTTT,CLGQ,MDHL,MDSH,TONG_SCORE",
            "Thái Nguyên,Cấp tỉnh,2024-05,15.5,18.2,8.4,10.1,17.6,19.3,89.1",
            "Bộ Tư pháp,Cấp bộ,2024-05,15.5,18.2,8.4,10.1,17.6,19.3,89.1",
        ),
        "s13_duplicate_conflict_2024-05.json": json.dumps(
            [
                record(),
                record("Bắc Ninh", ID="27"),
                record("Thái nguyên", CKMB=14.5, TONG_SCORE=88.1),
            ],
            ensure_ascii=False,
        ).encode(),
        "s14_period_in_future.json": json.dumps(
            {"period": "2099-01", "data": [record()]}, ensure_ascii=False
        ).encode(),
        "s15_payment_above_max_2024-05.csv": _csv(
            # TTTT holds online service (11.5 > 10): the settings have TTTT/CLGQ the wrong way.
            PORTAL_HEADER,
            "19,Thái Nguyên,15.5,18.2,11.5,7.0,17.6,19.3,89.1",
        ),
    }
    return files


def main() -> None:
    for name, data in corpus().items():
        (HERE / name).write_bytes(data)
    print(f"{len(corpus())} files written to {HERE}")


if __name__ == "__main__":
    main()
