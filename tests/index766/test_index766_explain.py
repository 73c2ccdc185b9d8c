"""Explanation and what-if, and the Thạnh Tân commune notice reproduced from constructed data.

The notice (shared/reference/calibration.md, seed 004): Thạnh Tân commune, June 2023, 72.6/100,
down 16.3 points on May; publicity 0/18, online service 7/12, online payment 7.8/10,
satisfaction 18/18, digitisation 19/22; 61 dossiers, 98.52 % online, 100 % satisfied.

How the data set was constructed (by hand, from the rules file's formulas):

- The groups as printed add up to 51.8, so timeliness would be 20.8 > 20: the notice rounds
  online service and digitisation to whole points. Timeliness is taken as 20 (nothing overdue,
  as a commune with 100 % satisfied suggests) and the 0.8 left is split as online service 7.4
  and digitisation 19.4 (both print as 7 and 19).
- **Publicity 0**: four catalogue procedures miss their deadlines in June (1.1: 0/3 announced
  on time; 1.2: 0/2 published on time; 1.3: 0/1 published complete) and none of the 61
  dossiers is synchronised (1.4: 0/61).
- **Online service 7.4** = 3.1 + 3.2 + 3.3: 10 of 125 commune procedures are online services
  (8 %, full at 80 % -> 2 x 0.08 / 0.8 = 0.2); 3 of those 10 received an online dossier
  (4 x 3/10 = 1.2); 48 of 61 dossiers are online under the rule (>= 50 % -> 6). 60 of the 61
  were submitted online (98.4 %): 98.52 % cannot be a share of 61 dossiers (60/61 = 98.36 %,
  61/61 = 100 %), so the notice's base differs; 12 online-channel dossiers of result-issuing
  procedures without an electronic result are not online under the rule.
- **Online payment 7.8** = 3.5 (both fee-bearing procedures integrated: 2) + 3.5b (both with
  an online payment: 2) + 3.6 (19 of 30 fee dossiers paid online: 6 x 19/30 = 3.8).
- **Satisfaction 18**: two feedback items handled on time, neither disliked nor repeated (5.2
  and 5.3: 6 each); no dossier overdue or rated not satisfied (5.4: 61/61 -> 6).
- **Digitisation 19.4**: 17 of the 30 result-issuing dossiers have an electronic result (4.1:
  6 x 17/30 = 3.4); every dossier digitised, reusing data, using the data store and population
  data (4.2, 4.3, 4.4, 4.5b full); every procedure connected to the population database (4.5a:
  2); 4.x does not apply to a commune (2).
- **May** (for "−16,3"): the same commune with 60 dossiers built the same way, 43 of them
  synchronised (1.4: 6 x 43/60 = 4.3) and two procedures announced, published and complete on
  time (1.1-1.3 full: 12), so publicity is 16.3 and the other groups equal June's: 88.9.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import WorkbenchError
from analysis.index766 import explain, score, what_if
from analysis.index766.explain import period_text

TOL = 1e-9
UNIT = "Thạnh Tân"
PROVINCE = "Tây Ninh"


def _month_dossiers(month: str, n_p01: int, synced: int) -> list[dict]:
    """One month of Thạnh Tân's dossiers (see the module docstring)."""
    rows = []

    def add(code, k, **kw):
        day = 1 + (len(rows) % 25)  # received on days 1-25: all finish within the month
        rows.append(
            {
                "dossier_id": f"{month}-{len(rows) + 1:03d}",
                "procedure_code": code,
                "received_date": f"{month}-{day:02d}",
                "due_date": f"{month}-{min(day + 5, 28):02d}",
                "finished_date": f"{month}-{day + 2:02d}",
                **kw,
            }
        )

    # P001: online service, no fee, issues no result: all submitted online -> online.
    for k in range(n_p01):
        add("P001", k, channel="online", fee_vnd=0, issues_result=False, e_result=False,
            paid_online=False)  # fmt: skip
    # P002: fee 50,000, issues a result; 24 online + 1 at the counter; 14 electronic results
    # (all among the online ones); 16 paid online.
    for k in range(25):
        add("P002", k, channel="online" if k < 24 else "direct", fee_vnd=50_000,
            issues_result=True, e_result=k < 14, paid_online=k < 16)  # fmt: skip
    # P003: fee 20,000, issues a result; 5 online; 3 electronic results; 3 paid online.
    for k in range(5):
        add("P003", k, channel="online", fee_vnd=20_000, issues_result=True, e_result=k < 3,
            paid_online=k < 3)  # fmt: skip
    for i, row in enumerate(rows):
        row["synced"] = i < synced
    return rows


def thanh_tan_dossiers() -> pd.DataFrame:
    rows = _month_dossiers("2023-05", 30, synced=43) + _month_dossiers("2023-06", 31, synced=0)
    df = pd.DataFrame(rows)
    for col in ("received_date", "due_date", "finished_date"):
        df[col] = pd.to_datetime(df[col])
    df["province"] = PROVINCE
    df["unit"] = UNIT
    df["level"] = "commune"
    df["agency"] = "UBND xã Thạnh Tân"
    df["procedure_name"] = df["procedure_code"].map(
        {"P001": "Đăng ký khai sinh", "P002": "Cấp bản sao trích lục", "P003": "Chứng thực"}
    )
    df["supplement_requests"] = 0
    df["fully_online"] = df["channel"] == "online"
    for flag in ("components_digitised", "result_digitised", "data_reused", "data_store",
                 "population_data"):  # fmt: skip
        df[flag] = True
    df["rating"] = "satisfied"
    return df


def thanh_tan_procedures() -> pd.DataFrame:
    """125 commune procedures of Tây Ninh; P001-P010 online services; P002, P003 fee-bearing."""
    rows = []
    for i in range(1, 126):
        rows.append(
            {
                "procedure_code": f"P{i:03d}",
                "level": "commune",
                "province": PROVINCE,
                "online_service": "full" if i <= 10 else "none",
                "fee_bearing": i in (2, 3),
                "payment_integrated": i in (2, 3),
                "population_db": True,
                "announce_due_date": None,
                "announced_date": None,
                "published_date": None,
                "content_complete": None,
            }
        )
    df = pd.DataFrame(rows)

    def set_(code, **kw):
        for k, v in kw.items():
            df.loc[df["procedure_code"] == code, k] = v

    # June: P011, P012 due 05/06, announced 20/06 (late), published 10/07 (late);
    # P013 due 25/06, never announced; P014 published 15/06 without every part.
    set_("P011", announce_due_date="2023-06-05", announced_date="2023-06-20",
         published_date="2023-07-10", content_complete=True)  # fmt: skip
    set_("P012", announce_due_date="2023-06-05", announced_date="2023-06-22",
         published_date="2023-07-10", content_complete=True)  # fmt: skip
    set_("P013", announce_due_date="2023-06-25")
    set_("P014", published_date="2023-06-15", content_complete=False)
    # May: P015, P016 due 10/05, announced 08/05, published 10/05, complete.
    for code in ("P015", "P016"):
        set_(code, announce_due_date="2023-05-10", announced_date="2023-05-08",
             published_date="2023-05-10", content_complete=True)  # fmt: skip
    for col in ("announce_due_date", "announced_date", "published_date"):
        df[col] = pd.to_datetime(df[col])
    return df


def thanh_tan_feedback() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feedback_id": ["PA1", "PA2"],
            "province": PROVINCE,
            "unit": UNIT,
            "level": "commune",
            "received_date": pd.to_datetime(["2023-06-03", "2023-06-12"]),
            "due_date": pd.to_datetime(["2023-06-13", "2023-06-22"]),
            "handled_date": pd.to_datetime(["2023-06-10", "2023-06-20"]),
            "disliked": False,
            "repeat": False,
        }
    )


@pytest.fixture(scope="module")
def notice():
    return explain(
        thanh_tan_dossiers(),
        UNIT,
        "2023-06",
        by="commune",
        procedures=thanh_tan_procedures(),
        feedback=thanh_tan_feedback(),
    )


def test_thanh_tan_group_points_reproduced():
    r = score(
        thanh_tan_dossiers(),
        procedures=thanh_tan_procedures(),
        feedback=thanh_tan_feedback(),
        period="2023Q2",
        every="month",
        by="commune",
    )
    june = r.units[r.units["period"] == "2023-06"].iloc[0]
    assert june["dossiers_received"] == 61
    expected = {
        "publicity": 0.0,
        "timeliness": 20.0,
        "online_service": 2 * 0.08 / 0.8 + 4 * 3 / 10 + 6,  # 7.4, printed "7"
        "online_payment": 2 + 2 + 6 * 19 / 30,  # 7.8
        "satisfaction": 18.0,
        "digitisation": 6 * 17 / 30 + 4 + 2 + 2 + 4 + 2 + 2,  # 19.4, printed "19"
    }
    for group, value in expected.items():
        assert june[group] == pytest.approx(value, abs=TOL), group
    assert round(june["online_service"]) == 7 and round(june["digitisation"]) == 19
    assert june["total"] == pytest.approx(72.6, abs=TOL)
    assert june["max_total"] == 100 and june["complete"]

    may = r.units[r.units["period"] == "2023-05"].iloc[0]
    assert may["publicity"] == pytest.approx(6 + 4 + 2 + 6 * 43 / 60, abs=TOL)
    assert may["total"] == pytest.approx(88.9, abs=TOL)

    c = r.components
    june_c = c[c["period"] == "2023-06"].set_index("component")
    # 60 of 61 submitted online, 48 online under the rule (12 without an electronic result).
    assert (june_c.loc["3.3", "numerator"], june_c.loc["3.3", "denominator"]) == (48, 61)
    assert (june_c.loc["1.1", "numerator"], june_c.loc["1.1", "denominator"]) == (0, 3)
    assert (june_c.loc["1.2", "numerator"], june_c.loc["1.2", "denominator"]) == (0, 2)
    assert (june_c.loc["1.3", "numerator"], june_c.loc["1.3", "denominator"]) == (0, 1)
    assert june_c.loc["4.x", "status"] == "not_applicable"


def test_notice_explanation(notice):
    assert notice.total == pytest.approx(72.6, abs=TOL)
    assert notice.previous == "2023-05"
    assert notice.previous_total == pytest.approx(88.9, abs=TOL)
    change = notice.change.set_index("group")
    assert change.loc["total", "change"] == pytest.approx(-16.3, abs=TOL)
    assert change.loc["publicity", "change"] == pytest.approx(-16.3, abs=TOL)
    for g in ("timeliness", "online_service", "online_payment", "satisfaction", "digitisation"):
        assert change.loc[g, "change"] == pytest.approx(0.0, abs=TOL), g
    assert notice.lowest_group == "publicity"
    # Points lost, most first: 1.1 and 1.4 (6 each, in file order), 1.2 (4), 3.2 (4 - 1.2).
    assert list(notice.lost["component"][:4]) == ["1.1", "1.4", "1.2", "3.2"]
    assert notice.lost.iloc[3]["lost"] == pytest.approx(2.8, abs=TOL)
    vi = notice.text["vi"]
    assert vi.startswith("Thạnh Tân, 06/2023: 72,6/100 điểm, giảm 16,3 điểm so với 05/2023")
    assert "(Công khai, minh bạch −16,3)" in vi
    assert "thấp nhất: Công khai, minh bạch 0/18; lý do: 1.1 " in vi
    assert "0/3 (0,0\u00a0%), mất 6 điểm" in vi
    en = notice.text["en"]
    assert en.startswith("Thạnh Tân, Jun 2023: 72.6/100 points, down 16.3 points on May 2023")
    assert "lowest: Publicity and transparency 0/18" in en


def test_culprits_for_the_agency(notice):
    unsynced = notice.culprits("1.4")
    assert len(unsynced) == 61 and set(unsynced["failed"]) == {"synced"}
    assert {"dossier_id", "procedure_code", "agency", "received_date", "due_date"} <= set(
        unsynced.columns
    )
    late = notice.culprits("1.1")
    assert list(late["procedure_code"]) == ["P011", "P012", "P013"]
    assert set(late["failed"]) == {"announced_on_time"}
    no_e_result = notice.culprits("4.1")
    # 30 result-issuing dossiers, 17 with an electronic result -> 13 listed
    assert len(no_e_result) == 13 and set(no_e_result["failed"]) == {"e_result"}
    assert notice.culprits("2.1").empty  # nothing overdue
    with pytest.raises(WorkbenchError, match="no component"):
        notice.culprits("9.9")


def test_overdue_culprits_say_why():
    # 10 dossiers of commune "Xã A", June 2023 (received 05/06, due 15/06):
    #   D01 finished 20/06 (5 days late), D02 two supplement requests, D03 open (15 days past
    #   due on 30/06), D04-D10 finished 10/06 on time.
    df = pd.DataFrame(
        {
            "dossier_id": [f"D{i:02d}" for i in range(1, 11)],
            "province": "Tây Ninh",
            "unit": "Xã A",
            "level": "commune",
            "agency": ["UBND xã A"] * 10,
            "procedure_code": ["Q1", "Q2", "Q1"] + ["Q3"] * 7,
            "channel": "direct",
            "received_date": pd.Timestamp("2023-06-05"),
            "due_date": pd.Timestamp("2023-06-15"),
            "finished_date": pd.to_datetime(
                ["2023-06-20", "2023-06-10", None] + ["2023-06-10"] * 7
            ),
            "supplement_requests": [0, 2, 0] + [0] * 7,
            "rating": [None] * 9 + ["not_satisfied"],
        }
    )
    e = explain(df, "Xã A", "2023-06", by="commune", compare=False)
    assert e.previous is None and "so với" not in e.text["vi"]
    overdue = e.culprits("2.1")
    assert list(overdue["dossier_id"]) == ["D01", "D03", "D02"]  # by procedure code
    why = dict(zip(overdue["dossier_id"], overdue["overdue_because"], strict=True))
    assert why == {
        "D01": "finished_late",
        "D02": "supplemented_more_than_once",
        "D03": "in_progress_past_due",
    }
    days = dict(zip(overdue["dossier_id"], overdue["days_late"], strict=True))
    assert days["D01"] == 5 and days["D03"] == 15
    # 5.4 counts against the unit the overdue dossiers and the one rated not satisfied.
    against = e.culprits("5.4")
    assert sorted(against["dossier_id"]) == ["D01", "D02", "D03", "D10"]
    assert against.set_index("dossier_id").loc["D10", "failed"] == "rated_not_satisfied"


def test_what_if_online_payment_45_to_80():
    # 20 fee-bearing dossiers, 9 paid online: 45 %. 3.6 is linear on 6 points:
    # 6 x 0.80 - 6 x 0.45 = 2.1 points.
    n = 20
    df = pd.DataFrame(
        {
            "dossier_id": [f"D{i}" for i in range(n)],
            "province": "Bắc Ninh",
            "level": "province",
            "received_date": pd.Timestamp("2023-10-02"),
            "due_date": pd.Timestamp("2023-10-12"),
            "finished_date": pd.Timestamp("2023-10-05"),
            "channel": "online",
            "issues_result": False,
            "e_result": False,
            "fee_vnd": 100_000,
            "paid_online": [True] * 9 + [False] * 11,
        }
    )
    r = score(df, period="2023-10")
    assert what_if(r, "Bắc Ninh", "3.6", 0.80) == pytest.approx(2.1, abs=TOL)
    # 3.3 is full at 50 %: already 100 % online, nothing to add; lowering costs points.
    assert what_if(r, "Bắc Ninh", "3.3", 0.9) == pytest.approx(0.0, abs=TOL)
    assert what_if(r, "Bắc Ninh", "3.3", 0.25) == pytest.approx(-3.0, abs=TOL)
    with pytest.raises(WorkbenchError, match="between 0 and 1"):
        what_if(r, "Bắc Ninh", "3.6", 80)
    with pytest.raises(WorkbenchError, match="no rate to raise"):
        what_if(r, "Bắc Ninh", "1.1", 0.9)  # not computed: no catalogue
    with pytest.raises(WorkbenchError, match="no province"):
        what_if(r, "Hà Nội", "3.6", 0.9)


def test_same_commune_name_in_two_provinces_needs_the_province():
    df = thanh_tan_dossiers()
    other = df.copy()
    other["province"] = "Sóc Trăng"
    both = pd.concat([df, other], ignore_index=True)
    with pytest.raises(WorkbenchError, match="name of 2 units"):
        explain(both, UNIT, "2023-06", by="commune")
    e = explain(both, UNIT, "2023-06", by="commune", province="Sóc Trăng")
    assert e.province == "Sóc Trăng"


@pytest.mark.parametrize(
    ("period", "vi", "en"),
    [
        ("2023-06", "06/2023", "Jun 2023"),
        ("2023Q2", "quý 2/2023", "Q2 2023"),
        ("2023H1", "6 tháng đầu năm 2023", "H1 2023"),
        ("2023H2", "6 tháng cuối năm 2023", "H2 2023"),
        ("2023", "năm 2023", "2023"),
        # A range by its first and last month, whatever it was written in.
        ("2020..2024", "từ 01/2020 đến 12/2024", "Jan 2020 to Dec 2024"),
        ("2023-04..2024-03", "từ 04/2023 đến 03/2024", "Apr 2023 to Mar 2024"),
        ("2023Q4..2024H1", "từ 10/2023 đến 06/2024", "Oct 2023 to Jun 2024"),
    ],
)
def test_period_words(period, vi, en):
    assert period_text(period, "vi") == vi
    assert period_text(period, "en") == en
    # The documents' form is the same words, capitalised at the start of a heading.
    from analysis.documents.base import period_text as heading

    if ".." in period:
        assert heading(period, "vi") == vi[0].upper() + vi[1:]
        assert heading(period, "en") == en


def test_previous_period_without_data_is_said_not_zero():
    e = explain(thanh_tan_dossiers(), UNIT, "2023-06", by="commune", previous="2023-04")
    assert e.previous == "2023-04" and e.previous_total is None
    assert "chưa có số liệu 04/2023 để so sánh" in e.text["vi"]
    assert e.change.set_index("group").loc["total", "change"] != e.total  # NaN, not total - 0
    # Without the catalogue and feedback the total is partial and the sentence says so.
    assert e.max_total == 100 - 6 - 4 - 2 - 2 - 4 - 2 - 2 - 2 - 6 - 6
    assert "chưa tính được 1.1, 1.2, 1.3, 3.1, 3.2, 3.5, 3.5b, 4.5a, 5.2, 5.3" in e.text["vi"]
    # The headline is on the official scale: out of 100 with the 36 points without input
    # (6+4+2 of publicity, 2+4+2+2 of online service and payment, 2, 6 and 6 more), never /64.
    total = f"{e.total:.1f}".replace(".", ",")
    assert f"06/2023: {total}/100 điểm (36 điểm chưa tính được)" in e.text["vi"]
    assert "/64" not in e.text["vi"] and "(36 points not computed)" in e.text["en"]
    with pytest.raises(WorkbenchError, match="tracking only"):
        e.culprits("2.2")


def test_explained_from_every_units_scores_as_from_its_own_dossiers(synthetic_full):
    """A batch explains each commune from the period's scores of all of them (scored=...):
    the same lost points, change, sentence and culprits as scoring the commune's dossiers."""
    import dataclasses

    dossiers = synthetic_full / "dossiers"
    now = score(dossiers, period="2024Q2", by="commune")
    before = score(dossiers, period="2024Q1", by="commune")
    both = dataclasses.replace(
        now,
        units=pd.concat([before.units, now.units], ignore_index=True),
        components=pd.concat([before.components, now.components], ignore_index=True),
    )
    # Every 400th commune (a name may repeat in other provinces: told apart by province).
    pairs = list(zip(now.units["unit"], now.units["province"], strict=True))[::400]
    assert len(pairs) >= 3
    for unit, province in pairs:
        own = explain(dossiers, unit, "2024Q2", by="commune", province=province)
        shared = explain(dossiers, unit, "2024Q2", by="commune", province=province, scored=both)
        for table in ("lost", "change"):
            pd.testing.assert_frame_equal(getattr(own, table), getattr(shared, table))
        assert (own.total, own.previous_total, own.text) == (
            shared.total,
            shared.previous_total,
            shared.text,
        )
        worst = own.lost["component"].iloc[0]
        pd.testing.assert_frame_equal(own.culprits(worst), shared.culprits(worst))
