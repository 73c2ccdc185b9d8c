"""The Decision 766 engine on hand-made dossier sets whose every component is computed on paper.

Expected values are written as the arithmetic done by hand (``20 * 18 / 22``), never pasted from
the program's output. Points are compared with an absolute tolerance of 1e-9: the engine does
the same float arithmetic, so only rounding in the last bits can differ.

The main set (``june_set``): commune "Xã A" (Tây Ninh), June 2023, 20 dossiers received in June
(J01-J20) and three received in May (M1-M3). Its flags, row by row, are in the table below; the
counts each test uses are worked out in the test's comments.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.errors import WorkbenchError
from analysis.index766 import parse_period, score
from analysis.index766.engine import NO_DATA, NO_DATA_FULL, NOT_APPLICABLE, NOT_COMPUTED, OK

TOL = 1e-9
COLUMNS = [
    "dossier_id", "channel", "issues_result", "e_result", "synced", "fee_vnd", "paid_online",
    "components_digitised", "result_digitised", "data_reused", "received_date", "due_date",
    "finished_date", "supplement_requests", "rating", "procedure_code",
]  # fmt: skip


def frame(rows, **common) -> pd.DataFrame:
    """Dossier records from tuples in COLUMNS order, the same province/unit/level for all."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("received_date", "due_date", "finished_date"):
        df[col] = pd.to_datetime(df[col])
    defaults = {
        "province": "Tây Ninh",
        "unit": "Xã A",
        "level": "commune",
        "agency": "UBND xã A",
        "fully_online": False,
    }
    defaults.update(common)
    for k, v in defaults.items():
        df[k] = v
    return df


def simple(n, **flags):
    """``n`` plain dossiers received 05/06/2023, due 15/06, finished 10/06 (on time)."""
    base = dict(
        channel="direct",
        issues_result=False,
        e_result=False,
        synced=False,
        fee_vnd=0,
        paid_online=False,
        components_digitised=False,
        result_digitised=False,
        data_reused=False,
        received_date="2023-06-05",
        due_date="2023-06-15",
        finished_date="2023-06-10",
        supplement_requests=0,
        rating=None,
        procedure_code="Q05",
    )
    rows = []
    for i in range(n):
        row = dict(base)
        for k, v in flags.items():
            row[k] = v[i] if isinstance(v, list) else v
        rows.append(tuple([f"D{i + 1:02d}"] + [row[c] for c in COLUMNS[1:]]))
    return rows


T, F = True, False
# fmt: off
# id    channel  issues e_res sync fee    paid  comp  res   reused recv        due          finished     supp rating           procedure
JUNE = [
    ("J01", "online", T, T, T, 10000, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q01"),
    ("J02", "online", T, T, T, 10000, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q01"),
    ("J03", "online", T, T, T, 10000, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q01"),
    ("J04", "online", T, F, T, 10000, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q01"),
    ("J05", "online", T, F, T, 10000, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q01"),
    ("J06", "online", F, F, T, 10000, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q05"),
    ("J07", "online", F, F, T, 10000, F, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q05"),
    ("J08", "online", F, F, T, 10000, F, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q05"),
    ("J09", "online", F, F, T, 0, T, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q05"),
    ("J10", "online", F, F, T, 0, F, T, T, T, "2023-06-05", "2023-06-15", "2023-06-10", 0, "satisfied", "Q05"),
    ("J11", "online", F, F, T, 0, F, T, T, F, "2023-06-05", "2023-06-15", "2023-06-10", 0, "not_satisfied", "Q05"),
    ("J12", "online", F, F, T, 0, F, T, T, F, "2023-06-05", "2023-06-15", "2023-06-10", 0, None, "Q05"),
    ("J13", "direct", T, F, T, 0, F, T, T, F, "2023-06-05", "2023-06-15", "2023-06-10", 0, None, "Q05"),
    ("J14", "direct", T, T, T, 0, F, T, T, F, "2023-06-05", "2023-06-15", "2023-06-10", 0, None, "Q05"),
    # finished five days after its due date: overdue
    ("J15", "direct", F, F, T, 0, F, T, T, F, "2023-06-05", "2023-06-15", "2023-06-20", 0, "not_satisfied", "Q05"),
    # on time by its dates, but two supplement requests: overdue by rule
    ("J16", "direct", F, F, F, 0, F, T, T, F, "2023-06-05", "2023-06-15", "2023-06-10", 2, None, "Q05"),
    # one supplement request is allowed
    ("J17", "direct", F, F, F, 0, F, T, F, F, "2023-06-05", "2023-06-15", "2023-06-10", 1, None, "Q05"),
    # in progress on 30/06, due 10/07: not yet due, on time
    ("J18", "direct", F, F, F, 0, F, F, F, F, "2023-06-20", "2023-07-10", None, 0, None, "Q05"),
    # in progress on 30/06, due 25/06: overdue
    ("J19", "postal", F, F, F, 0, F, F, F, F, "2023-06-10", "2023-06-25", None, 0, None, "Q05"),
    # finished 05/07, late against its due date 03/07 - but on 30/06 it was in progress, not due
    ("J20", "postal", F, F, F, 0, F, F, F, F, "2023-06-25", "2023-07-03", "2023-07-05", 0, None, "Q05"),
]
MAY = [
    # carried into June, finished there after its due date: overdue in June (handled scope)
    ("M1", "direct", F, F, F, 0, F, F, F, F, "2023-05-20", "2023-06-05", "2023-06-08", 0, None, "Q05"),
    # finished in May: not in June at all
    ("M2", "direct", F, F, F, 0, F, F, F, F, "2023-05-25", "2023-06-05", "2023-05-30", 0, None, "Q05"),
    # in progress on 30/06, due that very day: not overdue yet
    ("M3", "direct", F, F, F, 0, F, F, F, F, "2023-05-28", "2023-06-30", None, 0, None, "Q05"),
]
# fmt: on


@pytest.fixture(scope="module")
def june_set() -> pd.DataFrame:
    return frame(JUNE + MAY)


def comp(result, cid, unit="Xã A", period=None):
    c = result.components
    rows = c[(c["unit"] == unit) & (c["component"] == cid)]
    if period is not None:
        rows = rows[rows["period"] == period]
    assert len(rows) == 1, (cid, unit, period, len(rows))
    return rows.iloc[0]


def unit_row(result, unit="Xã A", period=None):
    u = result.units
    rows = u[u["unit"] == unit]
    if period is not None:
        rows = rows[rows["period"] == period]
    assert len(rows) == 1
    return rows.iloc[0]


def check(result, cid, num, den, points, status=OK, **kw):
    row = comp(result, cid, **kw)
    assert row["status"] == status, (cid, row["status"], row["reason"])
    if num is None:
        assert np.isnan(row["numerator"])
    else:
        assert row["numerator"] == num, (cid, row["numerator"])
        assert row["denominator"] == den, (cid, row["denominator"])
    if points is None:
        assert np.isnan(row["points"])
    else:
        assert row["points"] == pytest.approx(points, abs=TOL), (cid, row["points"])


# --- the main set, dossier components only -------------------------------------------------------


def test_every_dossier_component_on_paper(june_set):
    r = score(june_set, period="2023-06", by="commune")
    # Received in June: J01-J20 (20). Handled in June: those 20 + M1 + M3 (M2 finished in May).
    # 1.4 synced: J01-J15 = 15 of 20 -> 6 * 15/20
    check(r, "1.4", 15, 20, 6 * 15 / 20)
    # 2.1 on time among the 22 handled: J01-J14 (14), J17 (one supplement), J18 (not yet due),
    # J20 (in progress on 30/06, due 03/07), M3 (due 30/06 = the last day) = 18;
    # overdue: J15 (late), J16 (two supplements), J19 (past due, open), M1 (late) = 4.
    check(r, "2.1", 18, 22, 20 * 18 / 22)
    # 2.2 tracking: finished in June J01-J17 + M1 = 18 dossiers; days: J01-J14 and J16, J17
    # five each (16 x 5 = 80), J15 fifteen, M1 nineteen (20/05 -> 08/06) -> 114 days.
    check(r, "2.2", 114, 18, 0.0, status="tracking")
    assert comp(r, "2.2")["rate"] == pytest.approx(114 / 18)
    # 3.3 online = online channel and, where a result is issued, an electronic one:
    # J01-J12 are online, J04 and J05 issue a result without e_result -> 10 of 20 = 50 %,
    # exactly the full-points threshold -> 6.
    check(r, "3.3", 10, 20, 6.0)
    # 3.6 paid online among fee-bearing: fee J01-J08 (8), paid J01-J06 (6); J09 paid with no
    # fee is not counted -> 6 * 6/8
    check(r, "3.6", 6, 8, 6 * 6 / 8)
    # 4.1 electronic result among result-issuing: issuing J01-J05, J13, J14 (7); e_result J01,
    # J02, J03, J14 (4) -> 6 * 4/7
    check(r, "4.1", 4, 7, 6 * 4 / 7)
    # 4.2 components and result digitised: J01-J16 (J17 components only) = 16/20 = 80 % ->
    # linear, as the portal scores it (config/index766/README.md) -> 4 * 0.8
    check(r, "4.2", 16, 20, 4 * 0.8)
    # 4.3 reused data J01-J10 = 10/20 = 50 %, full at 80 % -> 2 * 0.5 / 0.8
    check(r, "4.3", 10, 20, 2 * 0.5 / 0.8)
    # 5.4 = 22 handled - 4 overdue - 2 rated not satisfied (J11, J15; J15 also overdue, counted
    # twice as the formula reads) = 16 of 22, full at 90 % -> 6 * (16/22) / 0.9
    check(r, "5.4", 16, 22, 6 * (16 / 22) / 0.9)
    # 4.x is a share of communes: it does not apply to a commune -> full points
    check(r, "4.x", None, None, 2.0, status=NOT_APPLICABLE)
    # Without a catalogue, feedback or the data-store columns: not computed, never zero.
    for cid in ("1.1", "1.2", "1.3", "3.1", "3.2", "3.5", "3.5b", "4.5a", "5.2", "5.3"):
        check(r, cid, None, None, None, status=NOT_COMPUTED)
    for cid in ("4.4", "4.5b"):
        check(r, cid, None, None, None, status=NOT_COMPUTED)
        assert "column" in comp(r, cid)["reason"]

    u = unit_row(r)
    assert u["dossiers_received"] == 20
    total = (
        6 * 15 / 20 + 20 * 18 / 22 + 6 + 6 * 6 / 8 + 6 * 4 / 7 + 4 * 0.8 + 2 * 0.5 / 0.8
        + 6 * (16 / 22) / 0.9 + 2
    )  # fmt: skip
    assert u["total"] == pytest.approx(total, abs=TOL)
    # What the computed components could reach: 1.4 6, 2.1 20, 3.3 6, 3.6 6, 4.1 6, 4.2 4,
    # 4.3 2, 4.x 2, 5.4 6 = 58; the total is partial.
    assert u["max_total"] == 58
    assert not u["complete"] and u["band"] is None
    assert u["timeliness"] == pytest.approx(20 * 18 / 22, abs=TOL)
    assert u["digitisation_max"] == 6 + 4 + 2 + 2


def test_one_pass_per_month_equals_separate_runs(june_set):
    both = score(june_set, period="2023Q2", by="commune", every="month")
    # April has no dossier in scope: no row for it.
    assert list(both.units["period"]) == ["2023-05", "2023-06"]
    june = score(june_set, period="2023-06", by="commune")
    a = both.components[both.components["period"] == "2023-06"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, june.components, check_categorical=False)
    # May: handled M1 (open on 31/05, due 05/06: not yet due), M2 (finished 30/05 before its
    # due date), M3 (open, due 30/06) -> 3 of 3 on time.
    check(both, "2.1", 3, 3, 20.0, period="2023-05")
    check(both, "1.4", 0, 3, 0.0, period="2023-05")


def test_quarter_judges_at_the_quarter_end(june_set):
    r = score(june_set, period="2023Q2", by="commune")
    # All 23 dossiers are handled in Q2. On time on 30/06: the 18 of June's count minus
    # nothing, plus M2 (finished 30/05 before due 05/06) = 19; M1 is late.
    check(r, "2.1", 19, 23, 20 * 19 / 23)
    # received in the quarter: all 23; synced J01-J15
    check(r, "1.4", 15, 23, 6 * 15 / 23)
    assert unit_row(r)["period"] == "2023Q2"


# --- procedures and feedback -------------------------------------------------------------------


def catalogue() -> pd.DataFrame:
    """Ten commune procedures of Tây Ninh (unit empty: every commune). 08/06/2023 is a Thursday,
    12/06 a Monday."""
    rows = [
        # code, due,          announced,    published,    complete, online,   fee, integr, pop
        ("Q01", "2023-06-10", "2023-06-08", "2023-06-12", True, "full", True, True, True),
        ("Q02", "2023-06-10", "2023-06-12", "2023-06-20", False, "partial", True, False, True),
        ("Q03", "2023-06-20", None, None, None, "none", False, False, False),
        ("Q04", "2023-05-10", "2023-05-05", "2023-06-02", True, "none", False, False, False),
    ] + [(f"Q{i:02d}", None, None, None, None, "none", False, False, False) for i in range(5, 11)]
    df = pd.DataFrame(
        rows,
        columns=[
            "procedure_code",
            "announce_due_date",
            "announced_date",
            "published_date",
            "content_complete",
            "online_service",
            "fee_bearing",
            "payment_integrated",
            "population_db",
        ],
    )
    df["level"] = "commune"
    df["province"] = "Tây Ninh"
    return df


def feedback_table() -> pd.DataFrame:
    rows = [
        # id, unit,  received,     due,          handled,      disliked, repeat
        ("F1", "Xã A", "2023-06-01", "2023-06-10", "2023-06-08", False, False),  # on time
        ("F2", "Xã A", "2023-06-02", "2023-06-12", "2023-06-15", False, False),  # late
        ("F3", "Xã A", "2023-06-20", "2023-07-05", None, False, False),  # open, not yet due
        ("F4", "Xã A", "2023-06-05", "2023-06-15", "2023-06-10", True, False),  # disliked
        ("F5", "Xã A", "2023-06-03", "2023-06-13", "2023-06-13", False, True),  # repeat, on due day
        ("F6", "Xã B", "2023-06-03", "2023-06-13", "2023-06-20", False, False),  # another commune
        ("F7", "Xã A", "2023-05-28", "2023-06-05", "2023-06-20", False, False),  # received in May
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "feedback_id", "unit", "received_date", "due_date", "handled_date", "disliked",
            "repeat",
        ],
    )  # fmt: skip
    df["level"] = "commune"
    df["province"] = "Tây Ninh"
    return df


def test_procedure_and_feedback_components_on_paper(june_set):
    r = score(
        june_set,
        procedures=catalogue(),
        feedback=feedback_table(),
        period="2023-06",
        by="commune",
    )
    # 1.1 due in June: Q01, Q02, Q03; announced by the due date: Q01 only -> 6 * 1/3
    check(r, "1.1", 1, 3, 6 / 3)
    # 1.2 announced in June: Q01 (Thu 08/06, deadline +5 working days = Thu 15/06, published
    # 12/06: on time), Q02 (Mon 12/06, deadline Mon 19/06, published 20/06: a day late)
    check(r, "1.2", 1, 2, 4 / 2)
    # 1.3 published in June: Q01, Q02, Q04; complete Q01, Q04 -> 2 * 2/3
    check(r, "1.3", 2, 3, 2 * 2 / 3)
    # 3.1 online services Q01, Q02 of 10 = 20 %, full at 80 % -> 2 * 0.2 / 0.8
    check(r, "3.1", 2, 10, 2 * 0.2 / 0.8)
    # 3.2 online services with an online dossier in June: Q01 (J01-J03 are online); Q02 none
    check(r, "3.2", 1, 2, 4 / 2)
    # 3.5 fee-bearing Q01, Q02; integrated Q01 -> 50 %, full at 80 % -> 2 * 0.5 / 0.8
    check(r, "3.5", 1, 2, 2 * 0.5 / 0.8)
    # 3.5b fee-bearing with a dossier paid online: Q01 (J01-J05) -> 50 %, full at 80 % (as the
    # portal scores it) -> 2 * 0.5 / 0.8
    check(r, "3.5b", 1, 2, 2 * 0.5 / 0.8)
    # 4.5a connected to the population database: Q01, Q02 of 10 -> 2 * 0.2
    check(r, "4.5a", 2, 10, 0.4)
    # Feedback received in June for Xã A: F1-F5 (F6 another commune, F7 received in May).
    # 5.2 handled on time: F1, F3 (open, due 05/07), F4, F5 (handled on its due day) = 4/5
    check(r, "5.2", 4, 5, 6 * 4 / 5)
    # 5.3 on time and neither disliked nor repeated: F1, F3 = 2/5
    check(r, "5.3", 2, 5, 6 * 2 / 5)
    assert comp(r, "5.1")["numerator"] == 5 and comp(r, "5.1")["status"] == "tracking"

    u = unit_row(r)
    publicity = 6 / 3 + 4 / 2 + 2 * 2 / 3 + 6 * 15 / 20
    online = 2 * 0.2 / 0.8 + 2 + 6
    payment = 2 * 0.5 / 0.8 + 2 * 0.5 / 0.8 + 6 * 6 / 8
    digitisation = 6 * 4 / 7 + 4 * 0.8 + 2 + 2 * 0.5 / 0.8 + 0.4  # 4.4 and 4.5b not computed
    satisfaction = 6 * 4 / 5 + 6 * 2 / 5 + 6 * (16 / 22) / 0.9
    for name, value in (
        ("publicity", publicity),
        ("online_service", online),
        ("online_payment", payment),
        ("digitisation", digitisation),
        ("satisfaction", satisfaction),
    ):
        assert u[name] == pytest.approx(value, abs=TOL), name
    total = publicity + 20 * 18 / 22 + online + payment + digitisation + satisfaction
    assert u["total"] == pytest.approx(total, abs=TOL)
    assert u["max_total"] == 100 - 4 - 2  # 4.4 and 4.5b need columns the records lack


def test_feedback_zero_denominator_gives_full_points():
    # 10 plain dossiers; the feedback table has items for another commune only.
    fb = feedback_table()
    fb = fb[fb["unit"] == "Xã B"]
    r = score(frame(simple(10)), feedback=fb, period="2023-06", by="commune")
    check(r, "5.2", 0, 0, 6.0, status=NO_DATA_FULL)
    check(r, "5.3", 0, 0, 6.0, status=NO_DATA_FULL)


def test_zero_denominator_is_no_data_not_zero():
    # 10 dossiers, none with a fee and none issuing a result: 3.6 and 4.1 have nothing to count.
    r = score(frame(simple(10)), period="2023-06", by="commune")
    check(r, "3.6", 0, 0, None, status=NO_DATA)
    check(r, "4.1", 0, 0, None, status=NO_DATA)
    u = unit_row(r)
    # Left out of the total and of its maximum: 1.4 6 + 2.1 20 + 3.3 6 + 4.2 4 + 4.x 2 + 4.3 2
    # + 5.4 6 = 46
    assert u["max_total"] == 46
    # All on time, nothing synced/online/digitised: 20 (2.1) + 6 (5.4) + 2 (4.x)
    assert u["total"] == pytest.approx(28.0)
    assert u["online_payment"] != u["online_payment"]  # NaN: no component of the group counted


def test_more_than_one_supplement_request_is_overdue():
    # 10 dossiers, all finished five days before their due date; supplement requests
    # 0, 1, 2, 3, 0, 0, 1, 0, 0, 5 -> three have more than one: 7 of 10 on time.
    rows = simple(10, supplement_requests=[0, 1, 2, 3, 0, 0, 1, 0, 0, 5])
    r = score(frame(rows), period="2023-06", by="commune")
    check(r, "2.1", 7, 10, 20 * 7 / 10)


def test_unfinished_dossier_judged_on_the_period_last_day():
    # 10 dossiers received 05/06/2023:
    #   D01-D04 open, due 29/06 -> overdue on 30/06
    #   D05 open, due 30/06 (the last day) -> on time
    #   D06-D07 open, due 15/07 -> on time
    #   D08 finished 05/07 after its due date 02/07 -> on 30/06 open and not due: on time
    #   D09 finished 28/06, due 27/06 -> late
    #   D10 finished 27/06, due 27/06 -> on time (on the due day)
    due = ["2023-06-29"] * 4 + ["2023-06-30", "2023-07-15", "2023-07-15", "2023-07-02"]
    due += ["2023-06-27", "2023-06-27"]
    fin = [None] * 7 + ["2023-07-05", "2023-06-28", "2023-06-27"]
    r = score(frame(simple(10, due_date=due, finished_date=fin)), period="2023-06", by="commune")
    check(r, "2.1", 5, 10, 20 * 5 / 10)
    # In July D08 is finished late (and D01-D07, open, are carried over): judged again.
    # July handled: D01-D08 (D09, D10 finished in June). On time on 31/07: D06, D07 are open
    # and overdue now (due 15/07); D01-D05 overdue; D08 finished late -> 0 of 8.
    july = score(frame(simple(10, due_date=due, finished_date=fin)), period="2023-07", by="commune")
    check(july, "2.1", 0, 8, 0.0)
    # ... and July received nothing: received-scope components have no data.
    check(july, "1.4", 0, 0, None, status=NO_DATA)


def test_online_needs_an_electronic_result_where_one_is_issued():
    # 10 dossiers, all submitted online:
    #   D01-D03 procedure issues no result -> online
    #   D04-D06 issues a result, electronic -> online
    #   D07-D10 issues a result, paper only -> not online
    issues = [False] * 3 + [True] * 7
    e_res = [False] * 3 + [True] * 3 + [False] * 4
    r = score(
        frame(simple(10, channel="online", issues_result=issues, e_result=e_res)),
        period="2023-06",
        by="commune",
    )
    # 6 of 10 = 60 %, above the 50 % threshold -> 6 points
    check(r, "3.3", 6, 10, 6.0)


@pytest.mark.parametrize(
    ("online", "points"),
    [
        (4, 6 * 0.4 / 0.5),  # below the threshold: points x rate / threshold
        (5, 6.0),  # at it: full
        (9, 6.0),  # above: full, no more
        (0, 0.0),
    ],
)
def test_full_at_threshold(online, points):
    # 10 dossiers, ``online`` of them submitted online (no result issued): 3.3 full at 50 %.
    channel = ["online"] * online + ["direct"] * (10 - online)
    r = score(frame(simple(10, channel=channel)), period="2023-06", by="commune")
    check(r, "3.3", online, 10, points)


def test_province_district_agency_units():
    # 12 dossiers in one province: 4 at province level (department "Sở Tư pháp"), 4 in
    # district "Huyện B" (UBND huyện B), 4 in commune "Xã A". Synced: 1, 2, 3 of each 4.
    rows = simple(12, synced=[T, F, F, F, T, T, F, F, T, T, T, F])
    df = frame(rows)
    df["level"] = ["province"] * 4 + ["district"] * 4 + ["commune"] * 4
    df["unit"] = [None] * 4 + ["Huyện B"] * 4 + ["Xã A"] * 4
    df["agency"] = ["Sở Tư pháp"] * 4 + ["UBND huyện B"] * 4 + ["UBND xã A"] * 4
    prov = score(df, period="2023-06", by="province")
    check(prov, "1.4", 6, 12, 6 * 6 / 12, unit="Tây Ninh")
    # 4.x at province level: needs a list of communes no input carries -> not computed
    check(prov, "4.x", None, None, None, status=NOT_COMPUTED, unit="Tây Ninh")
    assert unit_row(prov, "Tây Ninh")["level"] == "province"
    dist = score(df, period="2023-06", by="district")
    check(dist, "1.4", 2, 4, 3.0, unit="Huyện B")
    assert list(dist.units["unit"]) == ["Huyện B"]
    com = score(df, period="2023-06", by="commune")
    check(com, "1.4", 3, 4, 6 * 3 / 4, unit="Xã A")
    ag = score(df, period="2023-06", by="agency")
    assert sorted(ag.units["unit"]) == ["Sở Tư pháp", "UBND huyện B", "UBND xã A"]
    check(ag, "1.4", 1, 4, 1.5, unit="Sở Tư pháp")
    assert unit_row(ag, "UBND xã A")["level"] == "commune"
    check(ag, "4.x", None, None, 2.0, status=NOT_APPLICABLE, unit="UBND xã A")


def test_dossiers_without_a_unit_are_left_out_and_said(june_set):
    df = june_set.copy()
    df.loc[df["dossier_id"] == "J01", "unit"] = None
    r = score(df, period="2023-06", by="commune")
    check(r, "1.4", 14, 19, 6 * 14 / 19)
    assert r.notes == ("1 dossiers without a unit were left out",)


def test_optional_dossier_columns_are_read_when_present():
    # 10 dossiers with the data-store and population-data flags: 4.4 3/10, 4.5b 10/10.
    df = frame(simple(10))
    df["data_store"] = [True] * 3 + [False] * 7
    df["population_data"] = True
    r = score(df, period="2023-06", by="commune")
    check(r, "4.4", 3, 10, 4 * 0.3)
    check(r, "4.5b", 10, 10, 2.0)


def test_parquet_folder_with_hive_partitions_gives_the_same(june_set, tmp_path):
    table = pa.Table.from_pandas(june_set, preserve_index=False)
    table = table.set_column(
        table.column_names.index("received_date"),
        "received_date",
        table.column("received_date").cast(pa.date32()),
    )
    for month in ("2023-05", "2023-06"):
        part = tmp_path / "dossiers" / f"month={month}"
        part.mkdir(parents=True)
        mask = [d.strftime("%Y-%m") == month for d in table.column("received_date").to_pylist()]
        pq.write_table(table.filter(pa.array(mask)), part / "part-0.parquet")
    from_files = score(tmp_path / "dossiers", period="2023-06", by="commune")
    from_frame = score(june_set, period="2023-06", by="commune")
    pd.testing.assert_frame_equal(from_files.units, from_frame.units)
    pd.testing.assert_frame_equal(from_files.components, from_frame.components)


def test_complete_total_gets_a_band():
    # 10 dossiers perfect on every dossier component, a catalogue of one procedure perfect on
    # every procedure component, no feedback rows (full points), data-store columns present:
    # every component counts -> 100, "Xuất sắc" (uncertain band).
    rows = simple(
        10,
        channel="online",
        issues_result=True,
        e_result=True,
        synced=True,
        fee_vnd=1000,
        paid_online=True,
        components_digitised=True,
        result_digitised=True,
        data_reused=True,
        procedure_code="Q01",
    )
    df = frame(rows)
    df["data_store"] = True
    df["population_data"] = True
    cat = catalogue().iloc[:1].copy()
    cat["published_date"] = pd.Timestamp("2023-06-09")
    cat["content_complete"] = True
    cat["payment_integrated"] = True
    fb = feedback_table().iloc[:0]
    r = score(df, procedures=cat, feedback=fb, period="2023-06", by="commune")
    u = unit_row(r)
    assert u["total"] == pytest.approx(100.0) and u["max_total"] == 100
    assert u["complete"] and u["band"] == "Xuất sắc"


def test_results_json_and_files(june_set, tmp_path):
    r = score(june_set, period="2023-06", by="commune")
    doc = r.to_json()
    assert len(doc) == 1
    entry = doc[0]
    assert {"unit", "period", "total", "max_total", "groups", "components"} <= set(entry)
    assert entry["unit"] == "Xã A" and entry["period"] == "2023-06"
    assert set(entry["groups"]) == {
        "publicity", "timeliness", "online_service", "online_payment", "satisfaction",
        "digitisation",
    }  # fmt: skip
    c21 = next(c for c in entry["components"] if c["id"] == "2.1")
    assert c21 == {
        "id": "2.1",
        "numerator": 18,
        "denominator": 22,
        "rate": pytest.approx(18 / 22, abs=1e-6),
        "points": pytest.approx(20 * 18 / 22, abs=1e-6),
        "max_points": 20,
        "status": "ok",
        "uncertain": False,
    }
    c11 = next(c for c in entry["components"] if c["id"] == "1.1")
    assert c11["points"] is None and c11["status"] == "not_computed"
    assert next(c for c in entry["components"] if c["id"] == "3.3")["uncertain"] is True
    json.dumps(doc)  # serialisable as is

    for ext in ("csv", "parquet", "xlsx"):
        path = r.to_file(tmp_path / f"scores.{ext}")
        assert path.exists()
    back = pd.read_csv(tmp_path / "scores.csv", dtype={"rules_version": str})
    assert len(back) == len(r.components)
    assert set(back["rules_version"]) == {"2026.1"}
    meta = pq.read_schema(tmp_path / "scores.parquet").metadata
    assert meta[b"index766_rules"].startswith(b"2026.1")
    sheets = pd.read_excel(tmp_path / "scores.xlsx", sheet_name=None)
    assert set(sheets) == {"units", "components"}
    with pytest.raises(WorkbenchError, match="cannot write"):
        r.to_file(tmp_path / "scores.txt")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left


# --- periods and units -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "previous"),
    [
        ("2023-06", "2023-06-01", "2023-06-30", "2023-05"),
        ("2023-01", "2023-01-01", "2023-01-31", "2022-12"),
        ("2023Q2", "2023-04-01", "2023-06-30", "2023Q1"),
        ("2023Q1", "2023-01-01", "2023-03-31", "2022Q4"),
        ("2023H1", "2023-01-01", "2023-06-30", "2022H2"),
        ("2024H2", "2024-07-01", "2024-12-31", "2024H1"),
        ("2024", "2024-01-01", "2024-12-31", "2023"),
    ],
)
def test_periods(text, start, end, previous):
    p = parse_period(text)
    assert p.label == text
    assert p.start == dt.date.fromisoformat(start) and p.end == dt.date.fromisoformat(end)
    assert p.previous().label == previous


@pytest.mark.parametrize("bad", ["2023-13", "2023Q5", "June 2023", "23-06", ""])
def test_bad_period(bad):
    with pytest.raises(WorkbenchError, match="period"):
        parse_period(bad)


@pytest.mark.parametrize(
    ("text", "label", "start", "end", "months", "previous"),
    [
        # Five years of months: 5 * 12 = 60; the range before is the five years before.
        ("2020..2024", "2020-01..2024-12", "2020-01-01", "2024-12-31", 60, "2015-01..2019-12"),
        ("2023-04..2024-03", "2023-04..2024-03", "2023-04-01", "2024-03-31", 12, "2022-04..2023-03"),
        ("2023Q4..2024H1", "2023-10..2024-06", "2023-10-01", "2024-06-30", 9, "2023-01..2023-09"),
    ],
)  # fmt: skip
def test_period_ranges(text, label, start, end, months, previous):
    p = parse_period(text)
    assert (p.label, p.kind) == (label, "range")
    assert p.start == dt.date.fromisoformat(start) and p.end == dt.date.fromisoformat(end)
    assert len(p.split("month")) == months
    assert p.previous().label == previous
    assert parse_period(p.label) == p  # the label reads back as the same range


def test_period_range_parts():
    assert [q.label for q in parse_period("2020..2021").split("year")] == ["2020", "2021"]
    assert len(parse_period("2020..2024").split("quarter")) == 20
    assert parse_period("2023..2023").label == "2023"  # a range of one period is that period
    with pytest.raises(WorkbenchError, match="ends before it starts"):
        parse_period("2024..2023")
    with pytest.raises(WorkbenchError, match="period"):
        parse_period("2023..June")
    # 2023-02..2023-07 is six months but no whole quarter or half-year.
    with pytest.raises(WorkbenchError, match="cannot split"):
        parse_period("2023-02..2023-07").split("quarter")


def test_a_month_scores_the_same_in_a_range_of_years(june_set):
    """A month's numbers do not depend on the range asked: June 2023 scored within
    2022-01..2024-12 (36 months in one pass) equals June 2023 scored alone, and every other
    month without dossiers in its scope is absent, not zero."""
    alone = score(june_set, period="2023-06", by="commune")
    wide = score(june_set, period="2022..2024", every="month", by="commune")
    assert wide.period == "2022-01..2024-12"
    june = wide.components[wide.components["period"] == "2023-06"].reset_index(drop=True)
    for col in ("numerator", "denominator", "points", "status"):
        pd.testing.assert_series_equal(
            june[col].astype(object), alone.components[col].astype(object)
        )
    # In scope: May (M1-M3 received then) and June 2023, and the months after it in which a
    # dossier of the set is still open (judged again on each month's last day).
    months = set(wide.units["period"])
    assert {"2023-05", "2023-06"} <= months and "2022-12" not in months
    assert wide.units["dossiers_received"].sum() == 23  # J01-J20 and M1-M3, each counted once


def test_split_periods():
    assert [p.label for p in parse_period("2023H1").split("quarter")] == ["2023Q1", "2023Q2"]
    assert len(parse_period("2023").split("month")) == 12
    with pytest.raises(WorkbenchError):
        parse_period("2023-06").split("quarter")


def test_reform_boundaries():
    df = frame(simple(10))
    with pytest.raises(WorkbenchError, match="no districts"):
        score(df, period="2025-08", by="district")
    with pytest.raises(WorkbenchError, match="spans the reform"):
        score(df, period="2025", by="commune")
    with pytest.raises(WorkbenchError, match="unknown unit"):
        score(df, period="2023-06", by="ward")


def test_missing_input_messages(tmp_path):
    with pytest.raises(WorkbenchError, match="not found"):
        score(tmp_path / "nothing.parquet", period="2023-06")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkbenchError, match="no Parquet files"):
        score(tmp_path / "empty", period="2023-06")
    df = frame(simple(10)).drop(columns=["due_date"])
    with pytest.raises(WorkbenchError, match="due_date"):
        score(df, period="2023-06")
    bad = catalogue().drop(columns=["level"])
    with pytest.raises(WorkbenchError, match="column 'level' is missing"):
        score(frame(simple(10)), procedures=bad, period="2023-06")


def test_procedure_csv_with_vietnamese_words(tmp_path):
    # The catalogue as an analyst types it: dd/mm/yyyy, "xã", "có"/"không", "toàn trình".
    path = tmp_path / "procedures.csv"
    path.write_text(
        "procedure_code,level,online_service,fee_bearing,announce_due_date,announced_date\n"
        "Q01,xã,toàn trình,có,10/06/2023,08/06/2023\n"
        "Q02,Xã,không,không,10/06/2023,\n",
        encoding="utf-8",
    )
    r = score(frame(simple(10)), procedures=path, period="2023-06", by="commune")
    check(r, "1.1", 1, 2, 3.0)
    check(r, "3.1", 1, 2, 2 * 0.5 / 0.8)
    # published_date column absent: 1.2 and 1.3 cannot be computed
    assert comp(r, "1.3")["status"] == NOT_COMPUTED
    path.write_text("procedure_code,level,fee_bearing\nQ01,xã,perhaps\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match=r"row 2, column fee_bearing: 'perhaps'"):
        score(frame(simple(10)), procedures=path, period="2023-06", by="commune")


# --- against an independent row-by-row computation ------------------------------------------------


def test_synthetic_dossiers_match_a_row_level_reference():
    """30,000 synthetic dossiers of Bắc Ninh, January-June 2023, scored by commune and month,
    against counts made row by row in pandas for each month (the reference knows nothing of the
    engine's cells). Counts must agree exactly."""
    from analysis.synthetic.dossiers import generate_dossiers

    table = pa.concat_tables(
        list(generate_dossiers(30_000, months=("2023-01", "2023-06"), provinces=["Bắc Ninh"]))
    )
    df = table.to_pandas()
    r = score(df, period="2023H1", every="month", by="commune")
    d = df[df["level"] == "commune"].copy()
    for col in ("received_date", "due_date", "finished_date"):
        d[col] = pd.to_datetime(d[col])
    yes = lambda col: d[col].fillna(False).astype(bool)  # noqa: E731
    comps = r.components.astype({"unit": object, "period": object, "component": object})
    for month in parse_period("2023H1").split("month"):
        start, end = pd.Timestamp(month.start), pd.Timestamp(month.end)
        received = (d["received_date"] >= start) & (d["received_date"] <= end)
        handled = (d["received_date"] <= end) & (
            d["finished_date"].isna() | (d["finished_date"] >= start)
        )
        done = d["finished_date"].notna() & (d["finished_date"] <= end)
        on_time = (d["supplement_requests"].fillna(0) <= 1) & np.where(
            done, d["finished_date"] <= d["due_date"], d["due_date"] >= end
        )
        online = (d["channel"] == "online") & (~yes("issues_result") | yes("e_result"))
        fee = d["fee_vnd"].fillna(0) > 0
        expected = {
            "1.4": (received & yes("synced"), received),
            "2.1": (handled & on_time, handled),
            "3.3": (received & online, received),
            "3.6": (received & fee & yes("paid_online"), received & fee),
            "4.1": (
                received & yes("issues_result") & yes("e_result"),
                received & yes("issues_result"),
            ),
            "4.2": (received & yes("components_digitised") & yes("result_digitised"), received),
            "4.3": (received & yes("data_reused"), received),
        }
        got = comps[comps["period"] == month.label].set_index(["unit", "component"])
        units = d.loc[handled, "unit"].unique()
        assert len(units) > 10
        for cid, (num, den) in expected.items():
            num_by = num.groupby(d["unit"]).sum()
            den_by = den.groupby(d["unit"]).sum()
            for unit in units:
                row = got.loc[(unit, cid)]
                assert row["denominator"] == den_by.get(unit, 0), (month.label, cid, unit)
                if den_by.get(unit, 0) > 0:
                    assert row["numerator"] == num_by.get(unit, 0), (month.label, cid, unit)
        # 5.4: handled minus overdue minus rated not satisfied, floored at zero
        minus = (handled & ~on_time).groupby(d["unit"]).sum() + (
            handled & (d["rating"] == "not_satisfied")
        ).groupby(d["unit"]).sum()
        for unit in units:
            n = handled.groupby(d["unit"]).sum()[unit]
            assert got.loc[(unit, "5.4"), "numerator"] == max(n - minus[unit], 0)
