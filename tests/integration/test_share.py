"""Share requests on the real engines: gold built in-process with Spark, decisions recorded and views
provisioned through Trino over HTTPS, and every department reading as its own password-authenticated user.
The tests run in file order; each builds on the state the previous left."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import trino
import yaml
from trino_users import as_user, denied

from catalog import audit, report, shares, signing
from catalog.loader import load_catalog
from govlake import pipeline
from infra.settings import settings
from infra.trino_client import connect
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")
BATCH, SEED, PERSONS = "20261120", 7, 1500
TODAY = dt.date(2026, 11, 23)
CITY = "4201"  # 武汉市

REQUESTS = {
    "ca_dibao_verify": {  # 无条件, own city only → granted automatically
        "requester": "civil_affairs",
        "resource": "GA-002",
        "columns": ["resident_id", "name", "gender", "admin_code", "phone"],
        "purpose": "最低生活保障资格核验",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "row_scope": {"column": "admin_code", "prefix": CITY},
        "submitted": "2026-11-20",
        "expires": "2027-12-31",
    },
    "edu_enrolment": {  # 有条件 → pending until public_security reviews; submitted long ago → overdue
        "requester": "education",
        "resource": "GA-001",
        "columns": ["resident_id", "name", "address", "admin_code"],
        "purpose": "义务教育入学资格审核",
        "legal_basis": "《中华人民共和国义务教育法》第十二条",
        "submitted": "2026-11-02",
        "expires": "2027-08-31",
    },
    "health_ethnicity": {  # touches the negative list → refused quoting the legal basis
        "requester": "health",
        "resource": "GA-001",
        "columns": ["resident_id", "ethnicity"],
        "purpose": "健康档案补全",
        "legal_basis": "《基本医疗卫生与健康促进法》第四十九条",
        "submitted": "2026-11-20",
        "expires": "2027-12-31",
    },
    "tax_short": {  # 无条件, expires soon → view dropped after expiry
        "requester": "taxation",
        "resource": "GA-002",
        "columns": ["resident_id", "name"],
        "purpose": "个税专项附加扣除核验",
        "legal_basis": "《中华人民共和国个人所得税法》第十五条",
        "submitted": "2026-11-20",
        "expires": "2026-12-01",
    },
    "evil": {  # injection through a column name → invalid, never reaches SQL
        "requester": "health",
        "resource": "GA-002",
        "columns": ["resident_id", 'name" FROM lake.gold.population_person; DROP TABLE x; --'],
        "purpose": "x",
        "legal_basis": "x",
        "submitted": "2026-11-20",
        "expires": "2027-12-31",
    },
}


@pytest.fixture(scope="module")
def world(trino_server, tmp_path_factory):
    """Gold built in-process (one Spark session), the request files in a scratch catalog."""
    people = population(SEED, PERSONS)
    write_delivery(CONTRACT, settings().landing, BATCH, people, 0.0, None, SEED)
    state = pipeline.preflight(CONTRACT.key, BATCH)
    for stage in (pipeline.bronze, pipeline.silver, pipeline.gold, pipeline.register_in_trino):
        state = stage(state)
    root = tmp_path_factory.mktemp("share")
    requests, approvals = root / "requests", root / "approvals"
    requests.mkdir()
    for rid, body in REQUESTS.items():
        (requests / f"{rid}.yaml").write_text(yaml.safe_dump({"id": rid, **body}, allow_unicode=True))
    return {"requests": requests, "approvals": approvals}


def run(world, today: dt.date = TODAY):
    decisions, recorded, views = shares.run(today, True, world["requests"], world["approvals"])
    return {d.request_id: d for d in decisions}, recorded, views


def test_engine_decides_each_request_and_records_why(world, sql):
    decided, _recorded, views = run(world)
    assert {k: d.status for k, d in decided.items()} == {
        "ca_dibao_verify": "granted",
        "edu_enrolment": "pending",
        "health_ethnicity": "refused",
        "tax_short": "granted",
        "evil": "invalid",
    }
    assert "《中华人民共和国个人信息保护法》 第二十八条" in decided["health_ethnicity"].reason
    assert "evil.yaml: columns.1:" in decided["evil"].reason and "not a valid name" in decided["evil"].reason
    assert decided["edu_enrolment"].due_date == dt.date(2026, 11, 16) and decided["edu_enrolment"].overdue
    assert sorted(views["created"]) == [
        "lake.share_civil_affairs.ca_dibao_verify",
        "lake.share_taxation.tax_short",
    ]
    rows = sql(
        "SELECT request_id, status, decided_by, legal_basis FROM lake.governance.share_decision "
        "WHERE contains(?, request_id)",
        [list(REQUESTS)],
    )
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
        (k, d.status, "engine") for k, d in decided.items()
    )
    assert any("第二十八条" in (r[3] or "") for r in rows if r[0] == "health_ethnicity")
    _, again, views_again = run(world)  # idempotent
    assert again == [] and views_again["dropped"] == []


def test_granted_department_reads_masked_rows_of_its_city_only(world, sql):
    rows = as_user("civil_affairs", "SELECT * FROM lake.share_civil_affairs.ca_dibao_verify")
    expected = sql("SELECT count(*) FROM lake.gold.population_person WHERE admin_code LIKE '4201%'")[0][0]
    assert 0 < len(rows) == expected < sql("SELECT count(*) FROM lake.gold.population_person")[0][0]
    cols = as_user(
        "civil_affairs",
        "SELECT column_name FROM lake.information_schema.columns "
        "WHERE table_schema = 'share_civil_affairs' AND table_name = 'ca_dibao_verify' "
        "ORDER BY ordinal_position",
    )
    assert [c[0] for c in cols] == ["resident_id", "name", "gender", "admin_code", "phone"]
    for rid, name, _gender, admin_code, phone in rows:
        assert re.fullmatch(r"\d{6}\*{12}", rid), rid
        assert re.fullmatch(r".\*+", name) and len(name) >= 2, name
        assert admin_code.startswith(CITY)
        assert phone is None or re.fullmatch(r"1\d{2}\*{4}\d{4}", phone), phone


def test_other_departments_are_denied_the_view_and_gold(world):
    assert "Access Denied" in denied("health", "SELECT * FROM lake.share_civil_affairs.ca_dibao_verify")
    assert "Access Denied" in denied("health", "SELECT name FROM lake.gold.population_person")
    assert "Access Denied" in denied("civil_affairs", "SELECT name FROM lake.gold.population_person")
    assert "Access Denied" in denied(
        "analyst", "SELECT * FROM lake.silver.public_security__household_register"
    )
    assert as_user("analyst", "SELECT count(*) FROM lake.gold.population_person")[0][0] > 0


def test_plain_http_and_wrong_passwords_give_no_data(world):
    s = settings()
    plain = trino.dbapi.connect(host=s.trino_host, port=s.trino_port, user="platform", http_scheme="http")
    with pytest.raises(trino.exceptions.HttpError, match="403"):
        plain.cursor().execute("SELECT count(*) FROM lake.gold.population_person")
    with (
        connect(user="platform", password="not-the-password") as conn,
        pytest.raises(trino.exceptions.HttpError, match="401"),
    ):
        conn.cursor().execute("SELECT 1")


def test_negative_list_column_is_readable_by_no_one_but_the_platform(world):
    assert "Access Denied" in denied("analyst", "SELECT ethnicity FROM lake.gold.population_person")
    assert "Access Denied" in denied("analyst", "SELECT * FROM lake.gold.population_person")
    assert as_user("analyst", "SELECT count(DISTINCT gender) FROM lake.gold.population_person") == [[2]]
    assert "Access Denied" in denied("health", "SELECT ethnicity FROM lake.gold.population_person")
    views = as_user(
        "civil_affairs",
        "SELECT count(*) FROM lake.information_schema.columns WHERE column_name = 'ethnicity'",
    )
    assert views == [[0]]


def test_conditional_request_waits_for_the_provider_then_is_granted(world, sql):
    assert "does not exist" in denied("education", "SELECT * FROM lake.share_education.edu_enrolment")
    signing.publish_public_key("public_security", world["approvals"].parent / "keys")  # provider key
    shares.write_review(
        "edu_enrolment",
        "approve",
        "public_security",
        "公安厅 张审核",
        "用于2027年秋季学期入学审核",
        dt.datetime.combine(TODAY, dt.time(10)),
        world["approvals"],
        world["requests"],
    )
    decided, recorded, views = run(world)
    assert decided["edu_enrolment"].status == "granted"
    assert [d.request_id for d in recorded] == ["edu_enrolment"]
    assert "lake.share_education.edu_enrolment" in views["created"]
    rows = as_user("education", "SELECT resident_id, name, address FROM lake.share_education.edu_enrolment")
    assert rows and all(r[2].endswith("****") for r in rows)
    history = sql(
        "SELECT status, decided_by, reason FROM lake.governance.share_decision "
        "WHERE request_id = 'edu_enrolment' ORDER BY decided_at, status DESC"
    )
    assert [h[0] for h in history] == ["pending", "granted"]
    assert history[1][1] == "public_security/公安厅 张审核" and "入学审核" in history[1][2]


def test_expired_and_revoked_shares_lose_their_views(world, sql):
    as_user("taxation", "SELECT count(*) FROM lake.share_taxation.tax_short")
    shares.write_review(
        "ca_dibao_verify",
        "revoke",
        "public_security",
        "公安厅 李审核",
        "核验业务已结束",
        dt.datetime(2026, 12, 2, 10),
        world["approvals"],
        world["requests"],
    )
    decided, _, views = run(world, dt.date(2026, 12, 2))
    assert decided["tax_short"].status == "expired" and decided["ca_dibao_verify"].status == "revoked"
    assert sorted(views["dropped"]) == [
        "lake.share_civil_affairs.ca_dibao_verify",
        "lake.share_taxation.tax_short",
    ]
    assert "does not exist" in denied("taxation", "SELECT count(*) FROM lake.share_taxation.tax_short")
    assert "does not exist" in denied(
        "civil_affairs", "SELECT count(*) FROM lake.share_civil_affairs.ca_dibao_verify"
    )
    latest = dict(
        sql("SELECT request_id, max_by(status, decided_at) FROM lake.governance.share_decision GROUP BY 1")
    )
    assert latest["tax_short"] == "expired" and latest["ca_dibao_verify"] == "revoked"


def test_reads_and_denials_reach_the_access_log(world, sql):
    deadline = time.monotonic() + 30
    while True:
        audit.load()
        rows = sql(
            "SELECT user_name, state, error_code, tables_read, query FROM lake.governance.access_log "
            "WHERE user_name IN ('civil_affairs', 'health', 'education', 'analyst')"
        )
        reads = [
            r for r in rows if r[0] == "civil_affairs" and r[1] == "FINISHED" and "ca_dibao_verify" in r[4]
        ]
        denials = [r for r in rows if r[0] == "health" and r[2] == "PERMISSION_DENIED"]
        if (reads and denials) or time.monotonic() > deadline:
            break
        time.sleep(2)
    # the view read and the table behind it
    assert any(
        {"lake.share_civil_affairs.ca_dibao_verify", "lake.gold.population_person"} <= set(r[3].split(","))
        for r in reads
    )
    assert len(denials) >= 3
    before = sql("SELECT count(*) FROM lake.governance.access_log")[0][0]
    audit.load()
    audit.load()
    after = sql("SELECT count(*), count(DISTINCT query_id) FROM lake.governance.access_log")[0]
    assert after[0] == after[1] >= before  # loading again never duplicates a query


def test_the_lineage_report_of_a_share_view_says_who_read_it(world, sql):
    from catalog.trino_tables import register
    from jobs.lineage_load import TABLES, load
    from jobs.spark import get_spark
    from lineage import report as lineage_report
    from lineage.trace import load_graph

    audit.load()
    load(get_spark())  # the view's lineage event, emitted when it was provisioned
    register(TABLES)
    r = lineage_report.build(load_graph(sql), "share_civil_affairs.ca_dibao_verify", sql)
    assert {str(e.source) for _, e in r.upstream} >= {"gold.population_person.resident_id"}
    columns, rows = r.sections["who read it (governance.access_log)"]
    readers = {(row[columns.index("user_name")], row[columns.index("state")]) for row in rows}
    assert ("civil_affairs", "FINISHED") in readers
    decisions = r.sections["governance.share_decision"][1]
    assert any("ca_dibao_verify" in row for row in decisions)


def test_catalog_report_counts_what_is_mounted_and_loads_into_governance(world, sql):
    cat = load_catalog()
    rep = report.build(cat, report.gold_columns(settings()))
    assert {"GA-001", "GA-002"} <= set(rep.mounted)
    assert rep.resources == len(cat.resources) and rep.items > rep.resources
    assert 0 < rep.requirements_covered < len(rep.coverage)
    assert any(c.negative == ["案件类别"] for c in rep.coverage)
    counts = report.load(cat, rep)
    assert sql("SELECT count(*), count_if(mounted) FROM lake.governance.catalog_resource")[0] == [
        counts["catalog_resource"],
        len(rep.mounted),
    ]
    assert sql(
        "SELECT document, article FROM lake.governance.negative_list WHERE gold_column = 'ethnicity'"
    ) == [["《中华人民共和国个人信息保护法》", "第二十八条"]]
    report.load(cat, rep)  # replace, not append
    assert sql("SELECT count(*) FROM lake.governance.catalog_item")[0][0] == rep.items
