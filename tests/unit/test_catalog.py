"""The catalog, the decision engine, masking SQL and Trino security files, without engines."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from catalog.engine import add_working_days, decide, decide_all
from catalog.loader import CatalogError, load_catalog, load_request
from catalog.models import Review, ShareRequest
from catalog.provision import gold_classification, mask, view_sql
from catalog.report import build
from infra import trino_security
from schemas.contracts import get_contract

CAT = load_catalog()
TODAY = dt.date(2026, 11, 23)


def request(**kw) -> ShareRequest:
    body = {
        "id": "r1",
        "requester": "civil_affairs",
        "resource": "GA-002",
        "columns": ["resident_id", "name"],
        "purpose": "核验",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "submitted": "2026-11-20",
        "expires": "2027-01-31",
    }
    return ShareRequest.model_validate(body | kw)


def test_demo_catalog_is_valid_and_sizable():
    assert len(CAT.departments) >= 15 and len(CAT.resources) >= 60 and len(CAT.negative) == 6
    assert all(n.basis.document.startswith("《") for n in CAT.negative)
    assert CAT.negative_columns()["population_person"] == ["ethnicity"]


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


def test_reviews_expiry_and_revocation():
    req = request(resource="GA-001")
    review = Review(
        request="r1", decision="approve", reviewer="公安厅 王", reason="依法核验", decided_on=TODAY
    )
    granted = decide(req, CAT, [review], TODAY)
    assert granted.status == "granted" and granted.decided_by == "公安厅 王"
    revoke = review.model_copy(update={"decision": "revoke", "reason": "停止"})
    assert decide(req, CAT, [review, revoke], TODAY).status == "revoked"
    assert decide(req, CAT, [review], dt.date(2027, 2, 1)).status == "expired"
    reject = review.model_copy(update={"decision": "reject"})
    assert decide(req, CAT, [reject], TODAY).status == "rejected"


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
    assert 'concat(substr("resident_id", 1, 6), \'********\', substr("resident_id", 15, 4))' in sql
    assert 'concat(substr("phone", 1, 3), \'****\', substr("phone", 8, 4))' in sql
    assert 'rpad(substr("name", 1, 1), length("name"), \'*\')' in sql
    assert mask(columns["gender"], "gender") == '"gender"'
    assert "WHERE starts_with(\"admin_code\", '4201')" in sql and "SECURITY DEFINER" in sql
    assert 'lake."share_civil_affairs"."r1"' in sql


def test_library_tables_are_classified_and_unclassified_columns_are_refused():
    classes = gold_classification()
    base = classes["population_base"]  # golden: from the authoritative feed's contract
    assert (base["resident_id"].level, base["address"].pii, base["gender"].level) == ("L3", "address", "L1")
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


def test_password_file_entry_is_pbkdf2_sha1_as_trino_reads_it():
    line = trino_security.pbkdf2_entry("civil_affairs", "s3cret", salt=b"0123456789abcdef")
    user, iterations, salt, digest = line.split(":")
    assert user == "civil_affairs" and int(iterations) >= 1000
    expected = hashlib.pbkdf2_hmac("sha1", b"s3cret", bytes.fromhex(salt), int(iterations), dklen=64)
    assert digest == expected.hex()


def test_access_rules_give_each_department_only_its_share_schema():
    rules = trino_security.access_rules(
        "lake", ["civil_affairs", "health"], {"population_person": ["ethnicity"]}
    )
    json.dumps(rules)
    tables = rules["tables"]
    dept = [t for t in tables if t.get("user") == "health"]
    assert dept == [{"user": "health", "catalog": "lake", "schema": "share_health", "privileges": ["SELECT"]}]
    analyst = [t for t in tables if t.get("user") == "analyst"]
    assert analyst[0]["columns"] == [{"name": "ethnicity", "allow": False}]
    assert tables[-1] == {"privileges": []}
