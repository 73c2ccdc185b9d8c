"""The portal's evaluation API responses: import, and the rules against the portal's own points.

``tests/data/portal/`` holds the six real responses of ``shared/reference/portal/`` (Phú Thọ,
08/2026, one per group endpoint, trimmed as its README says). Every expected number here is
read from those files by this test's own reading of the JSON (:func:`portal_points`), or worked
out by hand from the counts they give, never taken from the program's output.

Tolerance: the portal shows every component's points with 2 decimals, so the rules' points are
rounded the same way and must agree within 0,01; a group (the sum of its shown components)
within 0,01 too.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import WorkbenchError
from analysis.index766 import counts
from analysis.index766.rules import load_rules
from analysis.ingest import IngestError, ingest, portal
from analysis.ingest.reading import FileRejectedError

DATA = Path(__file__).parents[1] / "data" / "portal"
FILES = sorted(DATA.glob("*.json"))
TODAY = "2026-12-01"
TOL = 0.01 + 1e-9
PROVINCE_ID = "019d2be3-6a88-732b-8b17-b68020c8553a"  # UBND tỉnh Phú Thọ
VIET_TRI_ID = "019d2be3-6ab4-74ce-8a81-1708de733a98"  # UBND Phường Việt Trì


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("portal")
    ingest(FILES, kind="scores", out_dir=out, today=TODAY)
    return out


@pytest.fixture(scope="module")
def scored(imported):
    units, comps = counts.load(imported)
    return counts.score_counts(units, comps)


def portal_points() -> tuple[dict, dict]:
    """The portal's points straight from the files: {(unit id, code): points} per component
    (metric shape) and {(unit id, endpoint): points} per group (both shapes)."""
    components, groups = {}, {}
    for path in FILES:
        endpoint = path.stem.rsplit("_", 1)[0]
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        units = [data["overview"], *data["evaluation"]] if "overview" in data else None
        units = units or [data["parent"], *data["children"]]
        for u in units:
            groups[(u["departmentId"], endpoint)] = u.get("totalScore", u.get("score"))
            for m in u.get("metrics", []):
                if m["maxScore"]:  # 0-point metrics are tracking only
                    components[(u["departmentId"], m["code"])] = (m["score"], m["maxScore"])
    return components, groups


# --- import ----------------------------------------------------------------------------------


def test_the_six_responses_import_in_one_call(imported):
    units = pd.read_parquet(imported / portal.UNITS_FILE)
    # Units per file, counted in the files: 16 + 33 + 33 + 34 + 14 + 10.
    assert units.groupby("endpoint").size().to_dict() == {
        "transparency": 16,
        "dvc-progress-tree": 33,
        "provide-online-tree": 33,
        "formality-online-payment-tree": 34,
        "handling-satisfaction": 14,
        "dossier-digitized": 10,
    }
    assert set(units["period"]) == {"2026-08"}
    assert set(units["province"]) == {"Phú Thọ"}


def test_the_province_row_of_the_scores_table(imported):
    scores = pd.read_parquet(imported / "scores.parquet")
    row = scores[(scores["level"] == "province") & (scores["period"] == "2026-08")].iloc[0]
    assert row["unit"] == "Phú Thọ" and row["boundary"] == "new34"
    # totalScore of the parent/overview of each file.
    expected = {
        "publicity": 7.96,
        "timeliness": 15.68,
        "online_service": 8.83,
        "online_payment": 6.25,
        "satisfaction": 12.97,
        "digitisation": 8.22,
    }
    for group, value in expected.items():
        assert row[group] == pytest.approx(value)
    # 7.96 + 15.68 + 8.83 + 6.25 + 12.97 + 8.22, added by hand; also the published total of
    # Phú Thọ for 08/2026 in shared/reference/calibration.md.
    assert row["total"] == pytest.approx(59.91)


def test_a_total_only_when_all_six_groups_are_known(imported):
    scores = pd.read_parquet(imported / "scores.parquet")
    # Sở Xây dựng is only in the payment response's trimmed children.
    row = scores[scores["unit"] == "Sở Xây dựng"].iloc[0]
    assert row["online_payment"] == pytest.approx(5.64)
    assert math.isnan(row["publicity"]) and math.isnan(row["total"])


def test_names_levels_and_codes(imported):
    units = pd.read_parquet(imported / portal.UNITS_FILE).drop_duplicates("unit_id")
    by_name = units.set_index("portal_name")
    assert by_name.loc["UBND tỉnh Phú Thọ", "level"] == "province"
    assert by_name.loc["Sở Công Thương - Tỉnh Phú Thọ", "level"] == "agency"
    assert by_name.loc["Sở Công Thương - Tỉnh Phú Thọ", "unit"] == "Sở Công Thương"
    assert by_name.loc["UBND xã Lâm Thao - Tỉnh Phú Thọ", "unit"] == "Xã Lâm Thao"
    # A ward named like its province is a commune of it, not the province.
    assert by_name.loc["UBND Phường Phú Thọ", "level"] == "commune"
    assert by_name.loc["UBND Phường Phú Thọ", "unit"] == "Phường Phú Thọ"
    codes = pd.read_parquet(imported / portal.UNITS_FILE).dropna(subset=["department_code"])
    code = codes.drop_duplicates("unit_id").set_index("portal_name")["department_code"]
    assert code["Sở Công Thương - Tỉnh Phú Thọ"] == "H44.07"
    assert code["UBND xã Hy Cương"] == "H44.104"


def test_counts_are_kept_and_missing_stays_missing(imported):
    comps = pd.read_parquet(imported / portal.COMPONENTS_FILE)
    mine = comps[comps["unit_id"] == PROVINCE_ID].set_index("component")
    assert (mine.loc["2.1", "numerator"], mine.loc["2.1", "denominator"]) == (144625, 184513)
    # 3.1: partialCount 31 + fullCount 21 of authorityCount 56.
    assert (mine.loc["3.1", "numerator"], mine.loc["3.1", "denominator"]) == (52, 56)
    # 4.x: the portal gives no counts; they stay missing, never 0.
    assert pd.isna(mine.loc["4.x", "numerator"]) and pd.isna(mine.loc["4.x", "denominator"])
    # PETITION_CLASSIFICATION_STAFF: kept without a rule id.
    staff = comps[comps["code"] == "PETITION_CLASSIFICATION_STAFF"]
    assert len(staff) == 14 and staff["component"].isna().all()


def test_the_summary_names_the_unmapped_code(imported, tmp_path):
    result = ingest(
        [DATA / "handling-satisfaction_2026-08.json"], kind="scores", out_dir=tmp_path, today=TODAY
    )
    unmapped = [p for p in result.report.problems if p.kind == "unmapped_code"]
    assert [p.column for p in unmapped] == ["PETITION_CLASSIFICATION_STAFF"]


def test_importing_one_more_endpoint_later_fills_in_the_row(tmp_path):
    first = [f for f in FILES if not f.name.startswith("transparency")]
    ingest(first, kind="scores", out_dir=tmp_path, today=TODAY)
    row = pd.read_parquet(tmp_path / "scores.parquet").query("level == 'province'").iloc[0]
    assert math.isnan(row["publicity"]) and math.isnan(row["total"])
    ingest([DATA / "transparency_2026-08.json"], kind="scores", out_dir=tmp_path, today=TODAY)
    row = pd.read_parquet(tmp_path / "scores.parquet").query("level == 'province'").iloc[0]
    assert row["publicity"] == pytest.approx(7.96) and row["total"] == pytest.approx(59.91)


# --- period ----------------------------------------------------------------------------------


def test_period_from_the_option_and_from_the_name():
    assert portal.period_from_name("transparency_2026-08.json") == "2026-08"
    assert portal.period_from_name("transparency_2026-Q3.json") == "2026-Q3"
    assert portal.period_from_name("dvc-progress-tree_year-2026.json") == "2026"
    assert portal.period_from_name("transparency.json") is None


def test_no_period_is_refused_with_how_to_give_it(tmp_path):
    src = tmp_path / "transparency.json"
    shutil.copy(DATA / "transparency_2026-08.json", src)
    with pytest.raises(IngestError) as err:
        ingest([src], kind="scores", out_dir=tmp_path / "out", today=TODAY)
    text = str(err.value)
    assert "missing_period" in text or "period" in text
    assert "--period" in text
    assert not (tmp_path / "out").exists()
    ingest([src], kind="scores", out_dir=tmp_path / "out", today=TODAY, period="2026-Q3")
    units = pd.read_parquet(tmp_path / "out" / portal.UNITS_FILE)
    assert set(units["period"]) == {"2026-Q3"}


# --- the rules against the portal -----------------------------------------------------------


def test_rules_reproduce_every_component_the_portal_scores(scored):
    expected, _ = portal_points()
    comps = scored.components
    # Which rule a code is: the mapping is configuration (config/portal_api.yaml).
    by_code = {k: v for e in portal.load_endpoints().values() for k, v in e.metrics.items()}
    compared = matched = 0
    for (unit_id, code), (points, max_points) in expected.items():
        component = by_code[code]
        row = comps[(comps["unit_id"] == unit_id) & (comps["component"] == component)].iloc[0]
        # The rule's points are the portal's maximum for the metric.
        assert row["max_points"] == max_points, (code, unit_id)
        compared += 1
        if points is None:  # the portal shows no points (zero denominator): neither may we
            matched += math.isnan(row["points"])
        else:
            matched += abs(row["points"] - points) <= TOL
    # 16 publicity units x 4 + 14 satisfaction units x 3 + 10 digitisation units x 7 = 176.
    assert compared == 176
    assert matched == compared


def test_rules_reproduce_every_group_the_counts_allow(scored):
    _, expected = portal_points()
    groups = scored.groups
    endpoints = portal.load_endpoints()
    compared = matched = 0
    for (unit_id, endpoint), points in expected.items():
        group = endpoints[endpoint].group
        row = groups[(groups["unit_id"] == unit_id) & (groups["group"] == group)].iloc[0]
        if math.isnan(row["points"]):
            # Only the provide-online children: they carry the group's points, no counts.
            assert endpoint == "provide-online-tree" and unit_id != PROVINCE_ID
            continue
        compared += 1
        matched += abs(row["points"] - points) <= TOL
    # 16 + 33 + 1 + 34 + 14 + 10 = 108 (provide-online: the parent only).
    assert (compared, matched) == (108, 108)
    assert scored.agreement() == {
        "components_compared": 176,
        "components_matched": 176,
        "groups_compared": 108,
        "groups_matched": 108,
    }


def test_hand_worked_payment_of_viet_tri(scored):
    # 6 x 1516/1707 = 5.329 -> 5.33; 2 x (12/35)/0.8 = 0.857 -> 0.86; 2 x (7/35)/0.8 = 0.50.
    comps = scored.components
    mine = comps[comps["unit_id"] == VIET_TRI_ID].set_index("component")["points"]
    assert (mine["3.6"], mine["3.5b"], mine["3.5"]) == (5.33, 0.86, 0.50)
    group = scored.groups.query("unit_id == @VIET_TRI_ID and group == 'online_payment'")
    assert group["points"].iloc[0] == pytest.approx(6.69)  # the portal's totalScore


def test_zero_denominators_follow_each_rule(scored):
    office = "019d2be3-6a88-732b-8b17-bb1e9a3f14ab"  # Văn phòng UBND Tỉnh, no dossiers
    mine = scored.components[scored.components["unit_id"] == office].set_index("component")
    assert mine.loc["1.4", "status"] == "no_data" and math.isnan(mine.loc["1.4", "points"])
    assert mine.loc["2.1", "status"] == "no_data_zero_points" and mine.loc["2.1", "points"] == 0
    assert mine.loc["5.4", "status"] == "no_data_zero_points" and mine.loc["5.4", "points"] == 0
    assert mine.loc["5.2", "points"] == 6 and mine.loc["4.x", "points"] == 2


def test_a_rule_that_disagrees_is_flagged(imported, tmp_path):
    text = Path(load_rules().path).read_text(encoding="utf-8")
    # 4.2 back to "full at 80 %", as the document reads: Sở GD&ĐT's 80,06 % then gives 4.
    at = text.index("mapping: linear", text.index('id: "4.2"'))
    changed = text[:at] + "mapping: {full_at: 0.8}" + text[at + len("mapping: linear") :]
    rules = tmp_path / "rules.yaml"
    rules.write_text(changed, encoding="utf-8")
    units, comps = counts.load(imported)
    result = counts.score_counts(units, comps, rules)
    flagged = result.components[result.components["disagrees"]]
    assert set(flagged["component"]) == {"4.2"}
    edu = flagged[flagged["unit"] == "Sở Giáo dục và Đào tạo"].iloc[0]
    assert (edu["points"], edu["portal_points"]) == (4.0, 3.2)


def test_what_if_on_counts(scored):
    # Phú Thọ 3.6: 82913/98459 = 84.21 % -> 5.05; at 100 % 6: +0.95.
    assert counts.what_if(scored, PROVINCE_ID, "2026-08", "3.6", 1.0) == pytest.approx(0.95)
    with pytest.raises(WorkbenchError):
        counts.what_if(scored, PROVINCE_ID, "2026-08", "3.6", 1.5)


# --- bad input -------------------------------------------------------------------------------


def _edit(tmp_path: Path, source: str, change, name: str | None = None) -> Path:
    doc = json.loads((DATA / source).read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / (name or source)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _refused(tmp_path: Path, path: Path) -> str:
    out = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest([path], kind="scores", out_dir=out, today=TODAY)
    assert not out.exists() or not any(out.iterdir())  # nothing half-written
    return str(err.value)


def test_a_code_other_than_ok(tmp_path):
    def fail(doc):
        doc["code"] = "UNAUTHORIZED"
        doc["message"] = "Phiên đăng nhập hết hạn"

    text = _refused(tmp_path, _edit(tmp_path, "transparency_2026-08.json", fail))
    assert "transparency_2026-08.json" in text and "'UNAUTHORIZED'" in text and "code" in text


def test_a_truncated_response(tmp_path):
    raw = (DATA / "dvc-progress-tree_2026-08.json").read_bytes()
    path = tmp_path / "dvc-progress-tree_2026-08.json"
    path.write_bytes(raw[: len(raw) // 2])
    text = _refused(tmp_path, path)
    assert "cut short" in text and "dvc-progress-tree_2026-08.json" in text


def test_not_json(tmp_path):
    path = tmp_path / "transparency_2026-08.json"
    path.write_text('{"code": "OK", data: oops}', encoding="utf-8")
    assert "not valid JSON" in _refused(tmp_path, path)


def test_group_points_above_the_maximum(tmp_path):
    def high(doc):
        doc["data"]["children"][1]["score"] = 21.5

    text = _refused(tmp_path, _edit(tmp_path, "dvc-progress-tree_2026-08.json", high))
    assert "Ban quản lý các khu công nghiệp - Tỉnh Phú Thọ" in text
    assert "'score'" in text or "score" in text
    assert "21.5" in text


def test_numerator_above_denominator(tmp_path):
    def more(doc):
        doc["data"]["evaluation"][2]["metrics"][3]["numerator"] = 500

    text = _refused(tmp_path, _edit(tmp_path, "transparency_2026-08.json", more))
    assert "Sở Công Thương - Tỉnh Phú Thọ" in text and "DOSSIER_SYNC" in text
    assert "500" in text and "234" in text


def test_a_unit_resolving_to_no_province(tmp_path):
    def elsewhere(doc):
        doc["data"]["parent"]["departmentName"] = "UBND tỉnh Atlantis"

    text = _refused(tmp_path, _edit(tmp_path, "dvc-progress-tree_2026-08.json", elsewhere))
    assert "Atlantis" in text and "no province" in text


def test_a_child_of_another_province(tmp_path):
    def other(doc):
        doc["data"]["children"][3]["departmentName"] = "Sở Y tế - Tỉnh Lào Cai"

    text = _refused(tmp_path, _edit(tmp_path, "dvc-progress-tree_2026-08.json", other))
    assert "Sở Y tế - Tỉnh Lào Cai" in text and "Phú Thọ" in text


def test_duplicate_units(tmp_path):
    def twice(doc):
        doc["data"]["children"].append(dict(doc["data"]["children"][4], score=3.0))

    text = _refused(tmp_path, _edit(tmp_path, "dvc-progress-tree_2026-08.json", twice))
    assert "duplicate_unit" in text and "UBND Phường Việt Trì" in text


def test_the_same_endpoint_twice_in_one_import(tmp_path):
    copy = tmp_path / "again_2026-08.json"
    shutil.copy(DATA / "dvc-progress-tree_2026-08.json", copy)
    raw = copy.read_text(encoding="utf-8").replace('"totalScore":15.68', '"totalScore":15.69')
    copy.write_text(raw, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest(
            [DATA / "dvc-progress-tree_2026-08.json", copy], kind="scores", out_dir=out, today=TODAY
        )
    assert "duplicate_unit" in str(err.value)
    assert not out.exists()


# --- the scorecard from the portal's figures ---------------------------------------------------


def test_find_a_unit_by_the_names_readers_use(imported):
    units, _ = counts.load(imported)
    assert counts.find_unit(units, "Phú Thọ", "2026-08")["level"] == "province"
    assert counts.find_unit(units, "Phường Phú Thọ", "2026-08")["level"] == "commune"
    for name in ("UBND xã Hy Cương", "Xã Hy Cương", "hy cuong"):
        assert counts.find_unit(units, name, "2026-08")["department_code"] == "H44.104"
    with pytest.raises(WorkbenchError):
        counts.find_unit(units, "Xã Atlantis", "2026-08")
    with pytest.raises(WorkbenchError):
        counts.find_unit(units, "Phú Thọ", "2026-09")


def test_scorecard_of_the_province_from_the_portal(imported):
    from analysis.documents import scorecard as sc

    card = sc.prepare("Phú Thọ", "2026-08", portal_path=str(imported))
    text = sc.headline(card).text
    assert "59,91/100" in text  # the six totalScore of the parents, summed by hand
    groups = sc.groups_table(card).frame
    assert list(groups.iloc[:, 1]) == [
        "7,96/18", "15,68/20", "8,83/12", "6,25/10", "12,97/18", "8,22/22", "59,91/100",
    ]  # fmt: skip
    lost = sc.lost_table(card).frame
    first = lost.iloc[:, 0].str.split(" ").str[0]
    row = lost[first == "2.1"].iloc[0]
    assert row.iloc[1] == "144.625/184.513"  # the counts, as the portal gives them
    assert "⚠" not in "".join(lost.iloc[:, 4])  # the rules agree everywhere
    whatif = sc.what_ifs(card).frame
    pay = whatif[whatif.iloc[:, 0].str.startswith("3.6 ")].iloc[0]
    assert pay.iloc[3] == "+0,95"  # 6 - 5.05
    assert sc.culprits(card)[0].text.startswith("Cổng Dịch vụ công quốc gia chỉ công bố số đếm")


def test_scorecard_of_a_commune_from_the_portal(imported):
    from analysis.documents import scorecard as sc

    card = sc.prepare("UBND xã Hy Cương", "2026-08", lang="en", portal_path=str(imported))
    assert card.unit == "Xã Hy Cương" and card.level == "commune"
    # Hy Cương is not among the trimmed digitisation response's units: 5 of 6 groups, no total.
    assert "5 of 6 groups" in sc.headline(card).text
    groups = sc.groups_table(card).frame
    assert groups.iloc[1, 1] == "13.45/20" and groups.iloc[5, 1] == "—/22"


# --- anything else is refused with a message, never a traceback -------------------------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    """Every (path, value) of a JSON document."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), which=st.sampled_from(FILES))
def test_any_changed_value_is_read_or_refused(tmp_path, data, which):
    doc = json.loads(which.read_text(encoding="utf-8"))
    paths = [p for p, _ in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = data.draw(_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    target = tmp_path / which.name
    target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    try:
        response = portal.read_response(target, which.name, today=pd.Timestamp(TODAY))
    except FileRejectedError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    for p in response.problems:
        assert p.file == which.name and p.message


def test_the_flat_layout_reads_the_portals_province_name(tmp_path):
    # The old flat layout with the portal's own unit name: 7.96 + 15.68 + 8.83 + 6.25 + 12.97 +
    # 8.22 = 59.91.
    path = tmp_path / "chi-so-2026-08.csv"
    path.write_text(
        "ID,TEN,CKMB,TDGQ,TTTT,CLGQ,MDHL,MDSH,TONG_SCORE\n"
        "H44,UBND tỉnh Phú Thọ,7.96,15.68,6.25,8.83,12.97,8.22,59.91\n",
        encoding="utf-8",
    )
    ingest([path], kind="scores", out_dir=tmp_path / "out", today=TODAY)
    row = pd.read_parquet(tmp_path / "out" / "scores.parquet").iloc[0]
    assert (row["unit"], row["boundary"], row["total"]) == ("Phú Thọ", "new34", 59.91)


def test_a_corrected_response_replaces_and_says_so(tmp_path):
    out = tmp_path / "out"
    ingest(FILES, kind="scores", out_dir=out, today=TODAY)

    def corrected(doc):
        doc["data"]["children"][1]["score"] = 16.55  # BQL các KCN, was 16.53

    path = _edit(tmp_path, "dvc-progress-tree_2026-08.json", corrected)
    result = ingest([path], kind="scores", out_dir=out, today=TODAY)
    notes = [p for p in result.report.problems if p.kind == "replaced"]
    assert len(notes) == 1 and "16.53 -> 16.55" in notes[0].message
    scores = pd.read_parquet(out / "scores.parquet")
    row = scores[scores["unit"] == "Ban quản lý các khu công nghiệp"].iloc[0]
    # 7.96 + 16.55 + 7.09 + 7.67 + 17.51 + 10.53, by hand.
    assert row["timeliness"] == 16.55 and row["total"] == pytest.approx(67.31)


def test_an_unknown_tree_field_is_kept_and_named(tmp_path):
    def extra(doc):
        doc["data"]["parent"]["totalPaperlessDossier"] = 12

    path = _edit(tmp_path, "dvc-progress-tree_2026-08.json", extra)
    result = ingest([path], kind="scores", out_dir=tmp_path / "out", today=TODAY)
    named = [p.column for p in result.report.problems if p.kind == "unmapped_code"]
    assert named == ["totalPaperlessDossier"]
    comps = pd.read_parquet(tmp_path / "out" / portal.COMPONENTS_FILE)
    kept = comps[comps["code"] == "totalPaperlessDossier"].iloc[0]
    assert kept["numerator"] == 12 and pd.isna(kept["component"])


# --- the quarterly report's index from the portal's figures ------------------------------------


def test_quarterly_index_from_the_portal(synthetic_dir, tmp_path):
    from analysis.documents import quarterly

    # A panel without dossiers beside it, and the six responses imported for 2026-Q3 (the
    # same figures as 08/2026: the point is the path, not the quarter's numbers).
    shutil.copy(synthetic_dir / "panel.parquet", tmp_path / "panel.parquet")
    ingest(FILES, kind="scores", out_dir=tmp_path, today=TODAY, period="2026-Q3")
    report = quarterly.prepare("Phú Thọ", "2026Q3", data_path=str(tmp_path / "panel.parquet"))
    e = report.index["explanation"]
    assert e.total == pytest.approx(59.91) and e.max_total == 100
    groups, ranking = quarterly.index_tables(report)
    # The report shows index points with one decimal: 7.96 -> 8,0; 15.68 -> 15,7; 59.91 -> 59,9.
    assert list(groups.frame.iloc[:, 1])[:2] == ["8,0/18", "15,7/20"]
    assert "59,9/100" in quarterly.key_finding(report).text
    # The weakest components: the portal's points, no agencies (it publishes no dossiers).
    weakest = report.weakest.set_index("component")
    assert weakest.loc["2.1", "points"] == pytest.approx(15.68)
    assert weakest.loc["2.1", "agencies"] == []
