"""The province registry: both maps, names as people type them, and the crosswalk.

Expected values come from the official crosswalk (shared reference ``provinces_2025.csv``) and
from the published list of provinces, not from the program.
"""

from __future__ import annotations

import csv
import unicodedata

import pandas as pd
import pytest

from analysis import config, registry
from analysis.errors import WorkbenchError
from analysis.registry import by_code, by_slug, normalise, predecessors, resolve, successor

REGIONS = {
    "trung-du-mien-nui-phia-bac",
    "dong-bang-song-hong",
    "bac-trung-bo-duyen-hai-mien-trung",
    "tay-nguyen",
    "dong-nam-bo",
    "dong-bang-song-cuu-long",
}


def test_counts_per_boundary():
    assert len(registry.provinces("old63")) == 63
    assert len(registry.provinces("new34")) == 34
    assert len(registry.provinces()) == 97


def test_bad_boundary_is_a_workbench_error():
    with pytest.raises(WorkbenchError, match="old64"):
        registry.provinces("old64")


def test_crosswalk_matches_the_official_file():
    with config.CROSSWALK_FILE.open(encoding="utf-8") as fh:
        official = [
            (r["old_code"], r["old_province_name"], r["new_code"], r["new_province_name"])
            for r in csv.DictReader(fh)
        ]
    cw = registry.crosswalk()
    assert list(cw.columns) == ["old_code", "old_name", "new_code", "new_name"]
    assert len(cw) == 63
    assert sorted(map(tuple, cw.to_numpy().tolist())) == sorted(official)
    assert cw["new_code"].nunique() == 34
    # Unchanged: a new province with a single predecessor.
    sizes = cw.groupby("new_code").size()
    assert (sizes == 1).sum() == 11


def test_fields_are_well_formed():
    for boundary in registry.BOUNDARIES:
        rows = registry.provinces(boundary)
        assert len({p.slug for p in rows}) == len(rows)
        assert len({p.code for p in rows}) == len(rows)
        assert len({normalise(p.name) for p in rows}) == len(rows)
        for p in rows:
            assert len(p.code) == 2 and p.code.isdigit()
            assert p.region in REGIONS
            assert p.kind in {"tỉnh", "thành phố"}
            assert p.name_ascii.isascii() and p.slug.isascii()
            assert (p.new_code is None) == (boundary == "new34")


def test_cities():
    old = {p.name for p in registry.provinces("old63") if p.kind == "thành phố"}
    new = {p.name for p in registry.provinces("new34") if p.kind == "thành phố"}
    assert old == {"Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ"}
    assert new == {"Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ"}


def test_regions_of_a_few_provinces():
    assert by_code("22", "old63").region == "dong-bang-song-hong"  # Quảng Ninh
    assert by_code("17", "old63").region == "trung-du-mien-nui-phia-bac"  # Hòa Bình
    assert by_code("62", "old63").region == "tay-nguyen"  # Kon Tum
    assert by_code("80", "old63").region == "dong-bang-song-cuu-long"  # Long An
    assert by_code("80", "new34").region == "dong-nam-bo"  # Tây Ninh
    assert by_code("51", "new34").region == "bac-trung-bo-duyen-hai-mien-trung"  # Quảng Ngãi


def test_ascii_name_and_slug():
    p = by_code("77", "old63")
    assert (p.name, p.name_ascii, p.slug) == (
        "Bà Rịa - Vũng Tàu",
        "Ba Ria - Vung Tau",
        "ba-ria-vung-tau",
    )
    assert by_code("79", "new34").slug == "ho-chi-minh"
    assert by_code("48", "new34").name_ascii == "Da Nang"


@pytest.mark.parametrize(
    ("typed", "boundary", "code"),
    [
        ("HCM", "old63", "79"),
        ("TP.HCM", "old63", "79"),
        ("TPHCM", "old63", "79"),
        ("TP HCM", "new34", "79"),
        ("Thành phố Hồ Chí Minh", "new34", "79"),
        ("Sài Gòn", "old63", "79"),
        ("Saigon", "new34", "79"),
        ("ho chi minh", "old63", "79"),
        ("HN", "old63", "01"),
        ("Ha Noi", "new34", "01"),
        ("Hanoi", "old63", "01"),
        ("BRVT", "old63", "77"),
        ("Bà Rịa – Vũng Tàu", "old63", "77"),
        ("Bà Rịa — Vũng Tàu", "old63", "77"),
        ("Bà Rịa-Vũng Tàu", "old63", "77"),
        ("ba ria   vung tau", "old63", "77"),
        ("Tỉnh Bà Rịa - Vũng Tàu", "old63", "77"),
        ("TT-Huế", "old63", "46"),
        ("TT Huế", "old63", "46"),
        ("Thừa Thiên - Huế", "old63", "46"),
        ("Thua Thien Hue", "old63", "46"),
        ("Huế", "new34", "46"),
        ("Hue", "new34", "46"),
        ("Thành phố Huế", "new34", "46"),
        ("Đắc Lắc", "old63", "66"),
        ("Dak Lak", "new34", "66"),
        ("Daklak", "old63", "66"),
        ("Đăk Nông", "old63", "67"),
        ("Dak Nong", "old63", "67"),
        ("Hòa Bình", "old63", "17"),
        ("Hoà Bình", "old63", "17"),
        ("Khánh Hoà", "new34", "56"),
        ("Thanh Hoá", "old63", "38"),
        ("Kon Tum", "old63", "62"),
        ("Kontum", "old63", "62"),
        ("Bắc Kạn", "old63", "06"),
        ("Bắc Cạn", "old63", "06"),
        ("Hậu Giang", "old63", "93"),
        ("T.P. Đà Nẵng", "new34", "48"),
        ("TP. Cần Thơ", "old63", "92"),
        ("  tỉnh   BẮC  GIANG ", "old63", "24"),
        ("Bắc Ninh", "new34", "24"),
        ("Bắc Ninh", "old63", "27"),
    ],
)
def test_variants_resolve(typed, boundary, code):
    p = resolve(typed, boundary=boundary)
    assert (p.boundary, p.code) == (boundary, code)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Hòa Bình", "17"),
        ("Thành phố Hồ Chí Minh", "79"),
        ("Đắk Lắk", "66"),
        ("Thừa Thiên Huế", "46"),
    ],
)
def test_nfd_input(typed, code):
    decomposed = unicodedata.normalize("NFD", typed)
    assert decomposed != typed
    assert resolve(decomposed, boundary="old63").code == code


def test_normalise():
    assert normalise("TP. Hồ Chí Minh") == "hochiminh"
    assert normalise("Bà Rịa – Vũng Tàu") == normalise("ba ria-vung tau") == "bariavungtau"
    assert normalise("Tỉnh Hoà Bình") == normalise("Hòa Bình") == "hoabinh"
    assert normalise("Đồng Tháp") == "dongthap"
    # A prefix alone is kept rather than emptied.
    assert normalise("Tỉnh") == "tinh"


def test_unique_names_need_no_date():
    # Only on one map: found there whatever the date says.
    assert (resolve("Bắc Giang").boundary, resolve("Bắc Giang").code) == ("old63", "24")
    assert resolve("Hậu Giang", on="2026-01").boundary == "old63"


def test_ambiguous_names_use_the_date():
    before = resolve("Bắc Ninh", on="2025-06-30")
    assert (before.boundary, before.code) == ("old63", "27")
    assert resolve("Bắc Ninh", on="2025-07").code == "24"
    assert resolve("Bắc Ninh", on="2025-07").boundary == "new34"
    assert resolve("Thái Nguyên", on="2024-12").boundary == "old63"
    assert resolve("Hà Nội", on="2025-07-01").boundary == "new34"
    assert resolve("Cần Thơ", on=pd.Timestamp("2025-08-15")).boundary == "new34"
    # Neither boundary nor date: the old map.
    assert resolve("Thái Nguyên").boundary == "old63"
    # A given boundary wins over the date.
    assert resolve("Bắc Ninh", boundary="old63", on="2025-09").code == "27"


def test_bad_date_is_a_workbench_error():
    with pytest.raises(WorkbenchError, match="date"):
        resolve("Bắc Ninh", on="not a date")


def test_unknown_name_lists_close_matches():
    with pytest.raises(WorkbenchError) as err:
        resolve("Bac Gaing")
    message = str(err.value)
    assert "Bac Gaing" in message
    assert "Bắc Giang" in message
    assert err.value.hint
    # Three names are offered.
    assert err.value.message.split("closest names are ")[1].count(",") == 2


def test_dn_is_not_guessed():
    with pytest.raises(WorkbenchError):
        resolve("ĐN")


def test_old_name_on_new_map_names_the_successor():
    with pytest.raises(WorkbenchError) as err:
        resolve("Bắc Giang", boundary="new34")
    assert "Bắc Giang was merged into Bắc Ninh on 01/07/2025" in err.value.message
    with pytest.raises(WorkbenchError, match="merged into Phú Thọ"):
        resolve("Hoà Bình", boundary="new34")


def test_code_collision_24():
    assert by_code("24", "old63").name == "Bắc Giang"
    assert by_code("24", "new34").name == "Bắc Ninh"
    assert by_code(24, "new34").name == "Bắc Ninh"
    assert by_code("4", "old63").name == "Cao Bằng"
    with pytest.raises(WorkbenchError):
        by_code("27", "new34")


def test_by_slug():
    assert by_slug("ba-ria-vung-tau").code == "77"
    assert by_slug("bac-ninh").boundary == "old63"
    assert by_slug("bac-ninh", "new34").code == "24"
    with pytest.raises(WorkbenchError):
        by_slug("ba-ria-vung-tau", "new34")


def test_successor_and_predecessors():
    new_hcm = by_code("79", "new34")
    assert [(p.code, p.name) for p in predecessors(new_hcm)] == [
        ("74", "Bình Dương"),
        ("77", "Bà Rịa - Vũng Tàu"),
        ("79", "Hồ Chí Minh"),
    ]
    new_can_tho = by_code("92", "new34")
    assert [p.name for p in predecessors(new_can_tho)] == ["Cần Thơ", "Hậu Giang", "Sóc Trăng"]
    assert successor(by_code("24", "old63")) == by_code("24", "new34")
    assert successor(by_code("27", "old63")).name == "Bắc Ninh"
    assert successor(by_code("46", "old63")).name == "Huế"
    # A province on the target map maps to itself.
    assert successor(new_hcm) == new_hcm
    assert predecessors(by_code("93", "old63")) == [by_code("93", "old63")]
    # Every old province has exactly one successor; the 34 partition the 63.
    assert sum(len(predecessors(p)) for p in registry.provinces("new34")) == 63
