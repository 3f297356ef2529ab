"""Classification (分级) is mandatory: every column of every feed and library contract declares its level in
the YAML itself, and a contract without one is refused naming the file and the column."""

from pathlib import Path

import pytest
import yaml

from schemas.contracts import (
    LIBRARIES_DIR,
    SCHEMAS_DIR,
    ContractError,
    feed_contract_paths,
    get_contract,
    load_contract,
)
from schemas.libraries import load_libraries, load_library

LEVELS = {"L1", "L2", "L3", "L4"}


def _declared(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8")).get("columns", [])


def test_every_feed_and_library_column_declares_its_level_in_the_yaml():
    paths = feed_contract_paths() + sorted((SCHEMAS_DIR / LIBRARIES_DIR).glob("*.yaml"))
    unclassified = [
        f"{p.relative_to(SCHEMAS_DIR)}: {c.get('name')}"
        for p in paths
        for c in _declared(p)
        if c.get("level") not in LEVELS
    ]
    assert not unclassified
    assert len(feed_contract_paths()) >= 21


def test_golden_libraries_take_classified_feed_columns():
    """A golden library declares no columns: its key and attributes take their feed's explicit level."""
    for path in sorted((SCHEMAS_DIR / LIBRARIES_DIR).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("kind") == "theme":
            continue
        assert "columns" not in data, path
        for feed in [*data["base"], *(a["authority"][0] for a in data["attributes"])]:
            dept, name = feed.split("/")
            assert all(c.get("level") in LEVELS for c in _declared(SCHEMAS_DIR / dept / f"{name}.yaml"))
    assert load_libraries()  # and they all load


@pytest.mark.parametrize(
    ("feed", "column", "level"),
    [
        ("public_security/household_register", "ethnicity", "L4"),  # PIPL art. 28
        ("public_security/household_register", "birth_date", "L3"),  # rebuilds the resident ID
        ("health/health_record", "blood_type", "L4"),  # medical health information
        ("taxation/individual_income", "annual_income", "L3"),
        ("statistics/enterprise_survey", "revenue", "L2"),  # an enterprise's business figure
        ("gov_services/certificate", "holder_key", "L3"),  # resident IDs among the holders
        ("natural_resources/admin_division", "admin_code", "L1"),  # open data
    ],
)
def test_sensitive_columns_are_classified_as_the_law_reads(feed, column, level):
    assert get_contract(feed).column(column).level == level


def _without_level(data: dict, column: str) -> dict:
    for c in data["columns"]:
        if c["name"] == column:
            del c["level"]
    return data


def test_a_feed_column_without_level_is_refused_naming_file_and_column(tmp_path):
    data = _without_level(
        get_contract("public_security/household_register").model_dump(mode="json"), "ethnicity"
    )
    path = tmp_path / "public_security" / "household_register.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError) as err:
        load_contract(path)
    message = str(err.value)
    assert str(path) in message and "columns.4: column 'ethnicity' has no level" in message


def test_a_theme_column_without_level_is_refused_naming_file_and_column(tmp_path):
    source = SCHEMAS_DIR / LIBRARIES_DIR / "theme_ecology_water.yaml"
    data = _without_level(yaml.safe_load(source.read_text(encoding="utf-8")), "avg_cod")
    path = tmp_path / "theme_ecology_water.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError) as err:
        load_library(path, feeds={})
    assert str(path) in str(err.value) and "column 'avg_cod' has no level" in str(err.value)
