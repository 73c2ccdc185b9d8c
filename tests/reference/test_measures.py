"""The measures file: the shipped one loads; each mistake names file, line, column, value."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import measures
from analysis.errors import WorkbenchError

HEADER = ",".join(measures.COLUMNS)
GOOD = (
    "m1,Thái Nguyên,Thái Nguyên,fee_cut,0.5,2022-07-01,,doc,scope,medium: why,"
    "văn bản,phạm vi,trung bình: vì sao,src"
)


def test_shipped_measures_load():
    all_ = measures.load()
    tn = all_["thai-nguyen-fee-50"]
    assert tn.start == pd.Timestamp("2022-07-01")
    assert tn.intensity == 0.5
    assert tn.province_old == "Thái Nguyên"
    assert tn.confidence_level == "medium"
    assert all_["bac-ninh-directive-10"].kind == "directive"
    assert all_["national-zero-fee"].is_national
    # Hải Dương joined Hải Phòng: the old and the new province differ.
    hd = all_["hai-duong-fee-0"]
    assert (hd.province_old, hd.province_new) == ("Hải Dương", "Hải Phòng")


def test_every_shipped_measure_has_its_texts_in_both_languages():
    for m in measures.load().values():
        for field in measures.READER_TEXTS:
            assert m.text(field, "vi") and m.text(field, "en")
    bn = measures.get("bac-ninh-directive-10")
    assert bn.text("document", "vi").startswith("Chỉ thị 10/CT-UBND")
    assert "provincial chairman" not in bn.text("document", "vi")


def test_unknown_id_suggests_close_ids():
    with pytest.raises(WorkbenchError, match="thai-nguyen-fee-50"):
        measures.get("thai-nguyen-fee50")


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        (GOOD.replace("fee_cut", "tax"), "kind", "tax"),
        (GOOD.replace("2022-07-01", "07/2022"), "start", "07/2022"),
        (GOOD.replace(",0.5,", ",1.5,"), "intensity", "1.5"),
        (GOOD.replace("medium: why", "sure"), "confidence", "sure"),
        (GOOD.replace("Thái Nguyên,Thái", "Thai Nguyenn,Thái"), "province_old", "Thai Nguyenn"),
        (GOOD.replace("2022-07-01,,", "2022-07-01,2021-01-01,"), "end", "2021-01-01"),
        (GOOD.replace("phạm vi", ""), "scope_vi", ""),
        # Hải Dương joined Hải Phòng: a measure of Hải Dương is not followed into Hà Nội.
        (GOOD.replace("Thái Nguyên,Thái Nguyên", "Hải Dương,Hà Nội"), "province_new", "Hà Nội"),
    ],
)
def test_bad_rows_name_line_column_and_value(tmp_path, row, column, value):
    path = tmp_path / "measures.csv"
    path.write_text(f"{HEADER}\n{GOOD.replace('m1', 'm0')}\n{row}\n", encoding="utf-8")
    with pytest.raises(WorkbenchError) as err:
        measures.load(path)
    text = str(err.value)
    assert "line 3" in text and repr(column) in text and value in text


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "measures.csv"
    path.write_text("measure_id,kind\nm1,fee_cut\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="start"):
        measures.load(path)


def test_duplicate_ids(tmp_path):
    path = tmp_path / "measures.csv"
    path.write_text(f"{HEADER}\n{GOOD}\n{GOOD}\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="duplicate"):
        measures.load(path)


def test_new_province_must_be_the_successor(tmp_path):
    path = tmp_path / "measures.csv"
    bad = GOOD.replace("Thái Nguyên,Thái Nguyên", "Hải Dương,Hà Nội")
    path.write_text(f"{HEADER}\n{bad}\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="Hải Dương joined Hải Phòng on 1 July 2025") as err:
        measures.load(path)
    assert "write Hải Phòng" in err.value.hint
    # Bắc Kạn joined Thái Nguyên: accepted, under the names the registry gives them.
    path.write_text(f"{HEADER}\n{GOOD.replace('Thái Nguyên,', 'Bac Kan,', 1)}\n", "utf-8")
    m = measures.load(path)["m1"]
    assert (m.province_old, m.province_new) == ("Bắc Kạn", "Thái Nguyên")


def test_measures_saved_as_windows_1258_is_one_clear_error(tmp_path):
    path = tmp_path / "measures.csv"
    row = GOOD.replace("văn bản,phạm vi,trung bình: vì sao", "Thái,Nguyên,Thái: Nguyên")
    path.write_bytes(f"{HEADER}\n{row}\n".encode("cp1258"))  # "á" is one byte, 0xE1
    with pytest.raises(WorkbenchError) as err:
        measures.load(path)
    assert str(err.value).startswith(f"{path}, line 2: not UTF-8 text (it looks like Windows-1258")
    assert "UTF-8" in err.value.hint
