"""The catalog, the decision engine, masking SQL and Trino security files, without engines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from catalog_fixtures import share_request

from catalog.engine import add_working_days, decide, decide_all
from catalog.loader import CatalogError, load_catalog, load_request
from catalog.negative import negative_columns
from catalog.provision import gold_classification, mask, view_sql
from catalog.report import build
from infra import trino_security
from schemas.contracts import get_contract

CAT = load_catalog()
TODAY = dt.date(2026, 11, 23)


request = share_request


def test_demo_catalog_is_valid_and_sizable():
    assert len(CAT.departments) >= 15 and len(CAT.resources) >= 60 and len(CAT.negative) == 6
    assert all(n.basis.document.startswith("《") for n in CAT.negative)
    assert list(negative_columns(CAT)["population_person"]) == ["ethnicity"]


def test_unconditional_granted_conditional_pending_negative_refused():
    assert decide(request(), CAT, [], TODAY).status == "granted"
    pending = decide(request(resource="GA-001"), CAT, [], TODAY)
    assert pending.status == "pending" and pending.due_date == dt.date(2026, 12, 4) and not pending.overdue
    late = decide(request(resource="GA-001"), CAT, [], dt.date(2026, 12, 7))
    assert late.overdue and "OVERDUE" in late.reason
    refused = decide(request(resource="GA-001", columns=["resident_id", "ethnicity"]), CAT, [], TODAY)
    assert (
        refused.status == "refused"
        and "个人信息保护法" in refused.reason
        and "第二十八条" in refused.legal_basis
    )


def test_unknown_columns_and_resources_are_invalid():
    assert decide(request(columns=["religion"]), CAT, [], TODAY).status == "invalid"
    assert decide(request(resource="GA-999"), CAT, [], TODAY).status == "invalid"


@pytest.mark.parametrize(
    "field,value",
    [
        ("columns", ["resident_id", "name FROM x; DROP TABLE y"]),
        ("requester", "civil_affairs; DROP"),
        ("id", "r1'--"),
        ("row_scope", {"column": "admin_code", "prefix": "42' OR '1'='1"}),
        ("row_scope", {"column": "admin_code) OR (1=1", "prefix": "4201"}),
    ],
)
def test_injection_in_a_request_file_is_refused_naming_file_and_field(tmp_path: Path, field, value):
    body = request().model_dump(mode="json") | {field: value}
    (tmp_path / "requests").mkdir()
    path = tmp_path / "requests" / "r1.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True))
    with pytest.raises(CatalogError, match=rf"r1\.yaml: {field}"):
        load_request(path)
    [decision] = decide_all(CAT, tmp_path / "requests", tmp_path / "approvals", TODAY)
    assert decision.status == "invalid" and field in decision.reason


def test_working_days_skip_weekends():
    assert add_working_days(dt.date(2026, 11, 20), 10) == dt.date(2026, 12, 4)  # Friday → Friday
    assert add_working_days(dt.date(2026, 11, 21), 1) == dt.date(2026, 11, 23)  # Saturday → Monday


def test_view_masks_by_classification_and_applies_row_scope():
    columns = {c.name: c for c in get_contract("public_security/household_register").columns}
    sql = view_sql(
        request(
            columns=["resident_id", "name", "phone", "gender"],
            row_scope={"column": "admin_code", "prefix": "4201"},
        ),
        "population_person",
        "lake",
        columns,
    )
    assert "concat(substr(\"resident_id\", 1, 6), '************')" in sql  # birth date and sequence hidden
    assert 'concat(substr("phone", 1, 3), \'****\', substr("phone", 8, 4))' in sql
    assert 'rpad(substr("name", 1, 1), length("name"), \'*\')' in sql
    assert mask(columns["gender"], "gender") == '"gender"'
    assert "WHERE current_date <= DATE '2027-01-31' AND starts_with(\"admin_code\", '4201')" in sql
    assert "SECURITY DEFINER" in sql
    assert 'lake."share_civil_affairs"."r1"' in sql


def test_library_tables_are_classified_and_unclassified_columns_are_refused():
    classes = gold_classification()
    base = classes["population_base"]  # golden: from the authoritative feed's contract
    assert (base["resident_id"].level, base["address"].pii, base["gender"].level) == ("L3", "address", "L2")
    theme = classes["theme_employment_social_security"]  # theme: declared in its library contract
    sql = view_sql(
        request(columns=["resident_id", "insured_status"]), "theme_employment_social_security", "lake", theme
    )
    assert 'concat(substr("resident_id", 1, 6)' in sql and '"insured_status"' in sql
    person = classes["population_person"]
    with pytest.raises(ValueError, match="no classification for \\['marital_status'\\]"):
        view_sql(request(columns=["resident_id", "marital_status"]), "population_person", "lake", person)


def test_report_counts_mounts_from_what_exists():
    nothing = build(CAT, {})
    assert nothing.mounted == [] and nothing.resources == len(CAT.resources)
    gold = {"population_person": {c.name for c in get_contract("public_security/household_register").columns}}
    rep = build(CAT, gold)
    assert set(rep.mounted) == {"GA-001", "GA-002"}
    assert rep.neither and all(item for _, _, item in rep.neither)
    assert 0 < rep.requirements_covered < len(rep.coverage)


def test_access_rules_give_each_department_only_its_share_schema():
    rules = trino_security.access_rules("lake", trino_security.Access(("civil_affairs", "health")))
    json.dumps(rules)
    tables = rules["tables"]
    dept = [t for t in tables if t.get("user") == "health"]
    assert dept == [  # its share views, never their metadata tables ($history, …)
        {
            "user": "health",
            "catalog": "lake",
            "schema": "share_health",
            "table": "[^$]*",
            "privileges": ["SELECT"],
        }
    ]
    assert tables[-1] == {"privileges": []}
