"""The rules file: the shipped version, and a clear message for every kind of mistake."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from analysis.errors import WorkbenchError
from analysis.index766 import DEFAULT_RULES, load_rules, score
from analysis.index766.rules import CONDITIONS, MEASURES, Mapping, parse_rules

README = DEFAULT_RULES.parent / "README.md"


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))


def write(tmp_path, doc, name="rules.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def component(doc, cid):
    return next(c for c in doc["components"] if str(c["id"]) == cid)


def test_default_rules_match_the_reference():
    rules = load_rules()
    assert rules.version == "2026.1"
    points = {g.id: g.points for g in rules.groups}
    assert points == {
        "publicity": 18,
        "timeliness": 20,
        "online_service": 12,
        "online_payment": 10,
        "satisfaction": 18,
        "digitisation": 22,
    }
    assert rules.total_points == 100
    # Component counts of the reference: publicity 4, timeliness 2 (one tracking), online
    # service incl. payment 6, digitisation 7, satisfaction 3 scored + 1 tracking.
    by_group = {}
    for c in rules.components:
        by_group.setdefault(c.group, []).append(c)
    assert len(by_group["publicity"]) == 4
    assert [c.points for c in by_group["timeliness"]] == [20, 0]
    assert len(by_group["online_service"]) + len(by_group["online_payment"]) == 6
    assert len(by_group["digitisation"]) == 7
    assert sorted(c.points for c in by_group["satisfaction"]) == [0, 6, 6, 6]
    # The rows the reference marks uncertain are marked so, but for those the portal's own
    # points settle (tests/test_portal.py; evidence in config/index766/README.md).
    uncertain = {c.id for c in rules.components if c.uncertain}
    assert {"3.1", "3.3", "3.5"} <= uncertain
    assert not {"3.2", "3.5b", "3.6", "4.2", "4.5a", "4.5b"} & uncertain
    assert rules.bands_uncertain
    # Thresholds of the reference.
    assert rules.component("3.3").mapping == Mapping("full_at", 0.5)
    assert rules.component("3.1").mapping == Mapping("full_at", 0.8)
    assert rules.component("5.4").mapping == Mapping("full_at", 0.9)
    assert rules.component("2.1").mapping == Mapping("linear")
    assert rules.component("5.2").zero_denominator == "full_points"
    assert rules.component("1.4").zero_denominator == "no_data"
    # The portal: no dossier gives 0 points on timeliness and dossier satisfaction.
    assert rules.component("2.1").zero_denominator == "zero_points"
    assert rules.component("5.4").zero_denominator == "zero_points"
    assert rules.component("4.2").mapping == Mapping("linear")
    assert rules.component("3.5b").mapping == Mapping("full_at", 0.8)
    assert rules.component("4.x").missing_counts == "full_points"
    assert rules.component("4.x").levels == ("province", "district")
    # Press anchors: 61.5 "trung bình", 43 "yếu".
    assert rules.band(61.5) == "Trung bình" and rules.band(43) == "Yếu"


def test_readme_documents_every_condition():
    text = README.read_text(encoding="utf-8")
    for name in list(CONDITIONS) + list(MEASURES):
        assert f"`{name}`" in text, name


def test_mapping_points():
    linear, full = Mapping(), Mapping("full_at", 0.8)
    assert linear.points(0.45, 6) == pytest.approx(2.7)
    assert full.points(0.4, 2) == pytest.approx(1.0)
    assert full.points(0.8, 2) == 2 and full.points(1.0, 2) == 2
    assert linear.points(1.3, 6) == 6  # rates are capped at 100 %


def _fails(tmp_path, doc, *parts):
    path = write(tmp_path, doc)
    with pytest.raises(WorkbenchError) as err:
        load_rules(path)
    message = str(err.value)
    assert str(path) in message
    for part in parts:
        assert part in message, (part, message)
    return message


def test_unknown_field_names_file_component_and_field(tmp_path, doc):
    bad = copy.deepcopy(doc)
    component(bad, "3.3")["weight"] = 2
    _fails(tmp_path, bad, "component 3.3", "unknown field 'weight'", "allowed fields")


def test_points_not_adding_up_to_the_group(tmp_path, doc):
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["points"] = 7
    _fails(
        tmp_path,
        bad,
        "group publicity",
        "add up to 19, not the group's 18",
        "1.1 (6) + 1.2 (4) + 1.3 (2) + 1.4 (7)",
    )


def test_groups_not_adding_up_to_100_are_refused(tmp_path, doc):
    """The probe's edit: publicity 18 -> 28 with 1.1 6 -> 16, so every group adds up, to 110."""
    bad = copy.deepcopy(doc)
    next(g for g in bad["groups"] if g["id"] == "publicity")["points"] = 28
    component(bad, "1.1")["points"] = 16
    _fails(
        tmp_path,
        bad,
        "groups: field 'points'",
        "group points add up to 110, not 100",
        "publicity (28) + timeliness (20) + online_service (12) + online_payment (10) + "
        "satisfaction (18) + digitisation (22)",
    )


def test_unknown_mapping_and_bad_thresholds(tmp_path, doc):
    bad = copy.deepcopy(doc)
    component(bad, "3.3")["mapping"] = "logistic"
    _fails(tmp_path, bad, "component 3.3", "field 'mapping'", "unknown mapping 'logistic'")
    for threshold in (1.5, 0, -0.2, "high", True):
        bad = copy.deepcopy(doc)
        component(bad, "3.1")["mapping"] = {"full_at": threshold}
        _fails(tmp_path, bad, "component 3.1", "full_at", "bad threshold")
    bad = copy.deepcopy(doc)
    bad["rating_bands"]["bands"][0]["min"] = 120
    _fails(tmp_path, bad, "rating_bands", "bad threshold 120")
    bad = copy.deepcopy(doc)
    bad["rating_bands"]["bands"][1]["min"] = 95
    _fails(tmp_path, bad, "rating_bands", "highest down")


def test_unknown_condition_table_and_values(tmp_path, doc):
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["numerator"]["where"] = "synchronized"
    _fails(tmp_path, bad, "component 1.4", "unknown condition 'synchronized'", "synced")
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["numerator"]["where"] = "fee_bearing"
    _fails(tmp_path, bad, "component 1.4", "tests procedures, not dossiers")
    bad = copy.deepcopy(doc)
    component(bad, "5.3")["numerator"]["where"] = {"all": ["handled_on_time", {"nor": "repeat"}]}
    _fails(tmp_path, bad, "component 5.3", "is not a condition")
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["numerator"]["table"] = "portal"
    _fails(tmp_path, bad, "component 1.4", "unknown table 'portal'")
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["denominator"] = {"table": "procedures"}
    _fails(tmp_path, bad, "component 1.4", "use one table")
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["zero_denominator"] = "zero"
    _fails(tmp_path, bad, "component 1.4", "zero_denominator", "unknown value 'zero'")
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["levels"] = ["province", "ward"]
    _fails(tmp_path, bad, "component 1.4", "levels")
    bad = copy.deepcopy(doc)
    component(bad, "1.1")["scope"] = "handled"
    _fails(tmp_path, bad, "component 1.1", "dossier components only")
    bad = copy.deepcopy(doc)
    component(bad, "1.4")["group"] = "speed"
    _fails(tmp_path, bad, "component 1.4", "unknown group 'speed'")
    bad = copy.deepcopy(doc)
    del component(bad, "1.4")["denominator"]
    _fails(tmp_path, bad, "component 1.4", "denominator")
    bad = copy.deepcopy(doc)
    bad["components"].append(copy.deepcopy(component(bad, "2.2")))
    _fails(tmp_path, bad, "component 2.2", "appears twice")
    bad = copy.deepcopy(doc)
    bad["weights"] = {}
    _fails(tmp_path, bad, "top level", "unknown field 'weights'")


def test_bad_yaml_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\ngroups: [\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="not valid YAML"):
        load_rules(path)
    with pytest.raises(WorkbenchError, match="not found"):
        load_rules(tmp_path / "nope.yaml")
    with pytest.raises(WorkbenchError, match="not a mapping"):
        parse_rules(["a list"], "x.yaml")


def test_analyst_copy_with_another_threshold(tmp_path, doc):
    # An analyst believes online submission earns full points only at 80 %: copy, change, rerun.
    mine = copy.deepcopy(doc)
    mine["version"] = "2026.1-analyst"
    component(mine, "3.3")["mapping"] = {"full_at": 0.8}
    path = write(tmp_path, mine, "rules-mine.yaml")
    # 10 dossiers, 6 submitted online (no result issued): 60 %.
    df = pd.DataFrame(
        {
            "dossier_id": [f"D{i}" for i in range(10)],
            "province": "Huế",
            "level": "province",
            "received_date": pd.Timestamp("2024-03-04"),
            "due_date": pd.Timestamp("2024-03-14"),
            "finished_date": pd.Timestamp("2024-03-08"),
            "channel": ["online"] * 6 + ["direct"] * 4,
            "issues_result": False,
            "e_result": False,
        }
    )
    shipped = score(df, period="2024-03")
    theirs = score(df, period="2024-03", rules=path)
    pick = lambda r: r.components.set_index("component").loc["3.3", "points"]  # noqa: E731
    assert pick(shipped) == pytest.approx(6.0)  # 60 % >= 50 %
    assert pick(theirs) == pytest.approx(6 * 0.6 / 0.8)
    assert theirs.rules_version == "2026.1-analyst"
    assert theirs.to_json()[0]["rules_version"] == "2026.1-analyst"
