"""Panel operations on a tiny hand-made panel whose sums are worked out on paper below.

Old Cần Thơ (92) and Hậu Giang (93) merged into new Cần Thơ (92) on 1 July 2025. Before the
merger the levels are province and district; after it, province and commune (districts were
abolished). Only ``dossiers_received`` and ``dossiers_online`` vary; see ``_row`` for the rest.

(received, online)        Apr         May         Jun         Jul         Aug
old 92 province         (100, 50)   (100, 60)   (100, 70)
old 92 district         (200, 20)   (200, 40)   (200, 60)
old 93 province          (50, 10)    (50, 20)    (50, 30)
old 93 district          (10, 10)    (10, 10)    (10, 10)
new 92 province                                             (300, 150)  (300, 180)
new 92 commune                                              (100, 10)   (100, 20)

By hand:
- old 92, Q2, levels summed: received 300 + 600 = 900, online 180 + 120 = 300 -> 1/3.
- old 93, Q2, levels summed: received 150 + 30 = 180, online 60 + 30 = 90 -> 1/2.
- new 92 (old 92 + 93), Q2: received 1080, online 390 -> 390/1080 = 13/36.
  The mean of the two old provinces' rates is (1/3 + 1/2) / 2 = 5/12, not 13/36.
- new 92, Q3 (Jul + Aug): received 800, online 150 + 180 + 10 + 20 = 360 -> 9/20.
- new 92, 2025: received 1880, online 750 -> 75/188.
- new 92 by month, levels summed: Apr 90/360, May 130/360, Jun 170/360, Jul 160/400, Aug 200/400.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import panel, registry
from analysis.errors import WorkbenchError
from analysis.panel import COUNT_COLUMNS, KEY_COLUMNS

# Rates are ratios of small integers: compared exactly up to float rounding.
TOL = 1e-12

CELLS = [
    # boundary, code, name, level, {month: (received, online)}
    (
        "old63",
        "92",
        "Cần Thơ",
        "province",
        {"2025-04": (100, 50), "2025-05": (100, 60), "2025-06": (100, 70)},
    ),
    (
        "old63",
        "92",
        "Cần Thơ",
        "district",
        {"2025-04": (200, 20), "2025-05": (200, 40), "2025-06": (200, 60)},
    ),
    (
        "old63",
        "93",
        "Hậu Giang",
        "province",
        {"2025-04": (50, 10), "2025-05": (50, 20), "2025-06": (50, 30)},
    ),
    (
        "old63",
        "93",
        "Hậu Giang",
        "district",
        {"2025-04": (10, 10), "2025-05": (10, 10), "2025-06": (10, 10)},
    ),
    ("new34", "92", "Cần Thơ", "province", {"2025-07": (300, 150), "2025-08": (300, 180)}),
    ("new34", "92", "Cần Thơ", "commune", {"2025-07": (100, 10), "2025-08": (100, 20)}),
]


def _row(boundary, code, name, level, month, received, online):
    counts = dict.fromkeys(COUNT_COLUMNS, 0)  # no fees, results or ratings: those rates are NaN
    counts.update(
        dossiers_received=received,
        dossiers_online=online,
        dossiers_handled=received,
        dossiers_on_time=received,
        dossiers_synced=received,
    )
    return {
        "boundary": boundary,
        "province_code": code,
        "province": name,
        "level": level,
        "month": month,
    } | counts


@pytest.fixture
def tiny() -> pd.DataFrame:
    rows = [
        _row(b, c, n, lvl, m, rec, onl)
        for b, c, n, lvl, months in CELLS
        for m, (rec, onl) in months.items()
    ]
    return pd.DataFrame(rows)


def _one(df: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for column, value in where.items():
        mask &= df[column] == value
    assert mask.sum() == 1, where
    return df[mask].iloc[0]


# --- validate ------------------------------------------------------------------------------


def test_validate_gives_canonical_types(tiny):
    raw = tiny.assign(province_code=tiny["province_code"].astype(int), month=tiny["month"] + "-15")
    out = panel.validate(raw)
    assert out["province_code"].tolist()[:1] == ["92"]
    assert str(out["month"].dtype) == "datetime64[ns]"
    assert (out["month"].dt.day == 1).all()
    assert all(out[c].dtype == "int64" for c in COUNT_COLUMNS)
    assert list(out.columns[: len(KEY_COLUMNS)]) == KEY_COLUMNS
    # The input is left alone.
    assert raw["month"].iloc[0] == "2025-04-15"


def test_validate_missing_column(tiny):
    with pytest.raises(WorkbenchError, match="missing column.*dossiers_online.*ratings") as err:
        panel.validate(tiny.drop(columns=["dossiers_online", "ratings"]))
    assert err.value.hint


def test_validate_negative_count(tiny):
    bad = tiny.copy()
    bad.loc[3, "dossiers_online"] = -5
    with pytest.raises(WorkbenchError) as err:
        panel.validate(bad, source="tiny.csv")
    msg = err.value.message
    assert "tiny.csv" in msg and "row 3" in msg and "dossiers_online" in msg and "-5" in msg
    assert "negative" in msg
    assert err.value.hint


def test_validate_numerator_above_denominator(tiny):
    bad = tiny.copy()
    bad.loc[10, "dossiers_online"] = 11  # row 10: old 93 district, May, 10 received
    with pytest.raises(WorkbenchError) as err:
        panel.validate(bad)
    msg = err.value.message
    assert (
        "row 10" in msg
        and "dossiers_online" in msg
        and "11" in msg
        and "dossiers_received (10)" in msg
    )


def test_validate_fully_online_above_online(tiny):
    bad = tiny.copy()
    bad.loc[0, "dossiers_fully_online"] = 51  # online is 50
    with pytest.raises(
        WorkbenchError, match=r"row 0.*dossiers_fully_online.*51.*dossiers_online \(50\)"
    ):
        panel.validate(bad)


def test_validate_duplicate_key(tiny):
    bad = pd.concat([tiny, tiny.iloc[[4]]], ignore_index=True)  # row 16 repeats row 4
    with pytest.raises(WorkbenchError) as err:
        panel.validate(bad)
    msg = err.value.message
    assert "row 16" in msg and "row 4" in msg and "2025-05" in msg


def test_validate_bad_values(tiny):
    bad = tiny.copy()
    bad.loc[2, "level"] = "huyện"
    with pytest.raises(WorkbenchError, match=r"row 2, column 'level', value 'huyện'"):
        panel.validate(bad)
    bad = tiny.astype({"dossiers_received": "float64"})
    bad.loc[1, "dossiers_received"] = 2.5
    with pytest.raises(WorkbenchError, match=r"row 1.*dossiers_received.*whole number"):
        panel.validate(bad)
    bad = tiny.copy()
    bad.loc[5, "month"] = "May"
    with pytest.raises(WorkbenchError, match=r"row 5.*month.*'May'"):
        panel.validate(bad)


def test_validate_code_must_exist_on_its_boundary(tiny):
    bad = tiny.copy()
    bad.loc[12, ["province_code", "province"]] = ["27", "Bắc Ninh"]  # 27 is an old code only
    with pytest.raises(WorkbenchError, match=r"row 12.*province_code.*'27'"):
        panel.validate(bad)


def test_validate_name_must_match_code(tiny):
    bad = tiny.copy()
    # Old 24 is Bắc Giang: a row labelled "Bắc Ninh" with old code 24 is the collision mistake.
    bad.loc[0, ["province_code", "province"]] = ["24", "Bắc Ninh"]
    with pytest.raises(WorkbenchError, match=r"row 0.*province.*Bắc Ninh.*Bắc Giang"):
        panel.validate(bad)
    # Any spelling of the right name is accepted and written the official way.
    ok = tiny.copy()
    ok.loc[0, "province"] = "TP. Can Tho"
    assert panel.validate(ok).loc[0, "province"] == "Cần Thơ"


# --- aggregate -----------------------------------------------------------------------------


def test_quarter_and_level_sums(tiny):
    q = panel.aggregate(tiny, freq="Q", levels="sum")
    assert "month" not in q.columns
    assert set(q["level"]) == {"all"}
    old92 = _one(q, boundary="old63", province_code="92", period=pd.Period("2025Q2", "Q"))
    assert (old92["dossiers_received"], old92["dossiers_online"], old92["n_months"]) == (
        900,
        300,
        3,
    )
    old93 = _one(q, boundary="old63", province_code="93", period=pd.Period("2025Q2", "Q"))
    assert (old93["dossiers_received"], old93["dossiers_online"]) == (180, 90)
    new92 = _one(q, boundary="new34", province_code="92", period=pd.Period("2025Q3", "Q"))
    assert (new92["dossiers_received"], new92["dossiers_online"], new92["n_months"]) == (
        800,
        360,
        2,
    )
    assert q["dossiers_received"].dtype == "int64"
    assert len(q) == 3


def test_month_level_sum_keeps_month(tiny):
    m = panel.aggregate(tiny, freq="M", levels="sum")
    apr = _one(m, boundary="old63", province_code="92", month=pd.Timestamp("2025-04-01"))
    assert (apr["dossiers_received"], apr["dossiers_online"]) == (300, 70)
    assert apr["period"] == pd.Period("2025-04", "M")
    assert len(m) == 3 + 3 + 2


def test_keep_levels(tiny):
    q = panel.aggregate(tiny, freq="Q", levels="keep", boundary="new34")
    prov = _one(q, level="province", period=pd.Period("2025Q2", "Q"))
    dist = _one(q, level="district", period=pd.Period("2025Q2", "Q"))
    assert (prov["dossiers_received"], prov["dossiers_online"]) == (300 + 150, 180 + 60)
    assert (dist["dossiers_received"], dist["dossiers_online"]) == (600 + 30, 120 + 30)


def test_old_to_new_sums_and_rates(tiny):
    q = panel.add_rates(panel.aggregate(tiny, freq="Q", boundary="new34"))
    assert set(zip(q["boundary"], q["province_code"], q["province"], strict=True)) == {
        ("new34", "92", "Cần Thơ")
    }
    q2 = _one(q, period=pd.Period("2025Q2", "Q"))
    assert (q2["dossiers_received"], q2["dossiers_online"]) == (1080, 390)
    assert q2["online_rate"] == pytest.approx(13 / 36, abs=TOL)
    # Pooling is not averaging: the mean of the two old provinces' rates is 5/12.
    old = panel.add_rates(panel.aggregate(tiny, freq="Q")).query("boundary == 'old63'")
    assert sorted(old["online_rate"]) == pytest.approx([1 / 3, 1 / 2], abs=TOL)
    assert old["online_rate"].mean() == pytest.approx(5 / 12, abs=TOL)
    assert abs(q2["online_rate"] - old["online_rate"].mean()) > 0.05
    q3 = _one(q, period=pd.Period("2025Q3", "Q"))
    assert q3["online_rate"] == pytest.approx(9 / 20, abs=TOL)
    # No fee-bearing dossiers: the payment rate is undefined, not 0.
    assert q["online_payment_rate"].isna().all()


def test_year(tiny):
    y = panel.add_rates(panel.aggregate(tiny, freq="Y", boundary="new34"), "online_rate")
    row = _one(y, period=pd.Period("2025", "Y"))
    assert (row["dossiers_received"], row["dossiers_online"], row["n_months"]) == (1880, 750, 5)
    assert row["online_rate"] == pytest.approx(75 / 188, abs=TOL)
    assert "sync_rate" not in y.columns


def test_code_24_is_never_joined_alone():
    rows = pd.DataFrame(
        [
            _row("old63", "24", "Bắc Giang", "province", "2025-06", 10, 1),
            _row("old63", "27", "Bắc Ninh", "province", "2025-06", 20, 2),
            _row("new34", "24", "Bắc Ninh", "province", "2025-07", 40, 4),
        ]
    )
    kept = panel.aggregate(rows, freq="Y")
    assert sorted(zip(kept["boundary"], kept["province_code"], kept["province"], strict=True)) == [
        ("new34", "24", "Bắc Ninh"),
        ("old63", "24", "Bắc Giang"),
        ("old63", "27", "Bắc Ninh"),
    ]
    merged = panel.aggregate(rows, freq="Y", boundary="new34")
    assert len(merged) == 1
    assert (merged["province"].iloc[0], merged["dossiers_received"].iloc[0]) == ("Bắc Ninh", 70)


def test_aggregate_bad_options(tiny):
    with pytest.raises(WorkbenchError, match="frequency"):
        panel.aggregate(tiny, freq="W")
    with pytest.raises(WorkbenchError, match="old63"):
        panel.aggregate(tiny, boundary="old63")
    with pytest.raises(WorkbenchError, match="levels"):
        panel.aggregate(tiny, levels="mean")


def test_add_rates_zero_denominator_and_unknown():
    df = pd.DataFrame({"dossiers_online": [1, 0], "dossiers_received": [4, 0]})
    out = panel.add_rates(df, ["online_rate"])
    assert out["online_rate"].iloc[0] == 0.25
    assert pd.isna(out["online_rate"].iloc[1])
    assert "online_rate" not in df.columns
    with pytest.raises(WorkbenchError, match="unknown rate"):
        panel.add_rates(df, ["speed"])


# --- series --------------------------------------------------------------------------------


def test_series_new_province_runs_across_the_merger(tiny):
    s = panel.series(tiny, registry.by_code("92", "new34"), "online_rate")
    assert list(s.columns) == ["month", "numerator", "denominator", "rate"]
    assert s["month"].dt.strftime("%Y-%m").tolist() == [
        "2025-04",
        "2025-05",
        "2025-06",
        "2025-07",
        "2025-08",
    ]
    assert s["numerator"].tolist() == [90, 130, 170, 160, 200]
    assert s["denominator"].tolist() == [360, 360, 360, 400, 400]
    assert s["rate"].tolist() == pytest.approx([0.25, 130 / 360, 170 / 360, 0.4, 0.5], abs=TOL)


def test_series_quarterly_and_by_level(tiny):
    q = panel.series(tiny, registry.resolve("Cần Thơ", boundary="new34"), "online_rate", freq="Q")
    assert list(q.columns) == ["period", "numerator", "denominator", "rate"]
    assert q["numerator"].tolist() == [390, 360]
    assert q["denominator"].tolist() == [1080, 800]
    old = panel.series(tiny, registry.resolve("Hậu Giang"), "online_rate", level="district")
    assert old["numerator"].tolist() == [10, 10, 10]
    assert old["rate"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(WorkbenchError, match="no rows"):
        panel.series(tiny, registry.resolve("Hậu Giang"), "online_rate", level="commune")
    with pytest.raises(WorkbenchError, match="unknown rate"):
        panel.series(tiny, registry.resolve("Hậu Giang"), "speed")


# --- save / load ---------------------------------------------------------------------------


def test_save_load_round_trip(tiny, tmp_path):
    path = tmp_path / "sub" / "panel.parquet"
    panel.save(tiny, path)
    back = panel.load(path)
    expected = panel.validate(tiny)
    pd.testing.assert_frame_equal(back, expected)
    assert back["province_code"].iloc[0] == "92"
    # Only the panel is left in the folder: the temporary file was moved into place.
    assert [p.name for p in path.parent.iterdir()] == ["panel.parquet"]


def test_save_refuses_an_invalid_panel(tiny, tmp_path):
    bad = tiny.copy()
    bad.loc[0, "dossiers_received"] = -1
    path = tmp_path / "panel.parquet"
    with pytest.raises(WorkbenchError, match="row 0"):
        panel.save(bad, path)
    assert not path.exists()


def test_load_missing_file(tmp_path):
    with pytest.raises(WorkbenchError) as err:
        panel.load(tmp_path / "nope.parquet")
    assert "nope.parquet" in err.value.message
    assert "workbench synth" in err.value.hint and "--data" in err.value.hint


def test_unreported_counts_stay_unknown_through_sums_and_rates(tiny):
    # Hậu Giang's district did not report online dossiers in May (row of "2025-05", old 93
    # district). By hand: old 93's May level sum of online dossiers is unknown, not 20; its
    # April sum stays 10 + 10 = 20 of 60 received; new Cần Thơ's Q2 online total is unknown.
    data = tiny.astype({"dossiers_online": "object"})
    hole = (
        (data["province_code"] == "93")
        & (data["level"] == "district")
        & (data["month"] == "2025-05")
    )
    data.loc[hole, "dossiers_online"] = None
    clean = panel.validate(data)
    assert str(clean["dossiers_online"].dtype) == "Int64"
    monthly = panel.add_rates(panel.aggregate(clean, freq="M", levels="sum"), "online_rate")
    may = _one(monthly, province_code="93", month=pd.Timestamp("2025-05-01"))
    assert pd.isna(may["dossiers_online"]) and pd.isna(may["online_rate"])
    april = _one(monthly, province_code="93", month=pd.Timestamp("2025-04-01"))
    assert april["dossiers_online"] == 20 and april["online_rate"] == pytest.approx(
        20 / 60, abs=TOL
    )
    q2 = panel.aggregate(clean, freq="Q", levels="sum", boundary="new34")
    row = _one(q2[q2["boundary"] == "new34"], province_code="92", period=pd.Period("2025Q2"))
    assert pd.isna(row["dossiers_online"]) and row["dossiers_received"] == 1080
    # Text is still an error, not a missing value.
    bad = tiny.astype({"dossiers_online": "object"})
    bad.loc[0, "dossiers_online"] = "n/a"
    with pytest.raises(WorkbenchError, match=r"row 0.*dossiers_online.*not a number"):
        panel.validate(bad)
