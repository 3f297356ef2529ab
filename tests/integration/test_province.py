"""The synthetic province on the real engines: 21 feeds of 15 departments run in one process (the same stage
functions the feed DAGs call), then the libraries; the defect manifest is reconciled row for row against
silver.quarantine + governance.verification_conflict, and Trino answers a query per library."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from govlake import province, runner
from infra.settings import settings
from jobs import tables
from jobs.spark import get_spark
from schemas.contracts import load_contracts
from schemas.datasets import GOLD
from schemas.libraries import load_libraries
from tools.synthetic.province import generate, manifest_path

SEED, PERSONS, ENTERPRISES = 7, 1200, 150
DAY1, DAY2, DAY3 = "20261123", "20261124", "20261125"


@pytest.fixture(scope="module")
def day1(trino_server):
    delivery = generate(settings().landing, DAY1, SEED, PERSONS, ENTERPRISES)
    out = province.run(DAY1)
    return json.loads(delivery.manifest_path.read_text(encoding="utf-8")), out


def test_quarantine_reconciles_with_the_defect_manifest_row_for_row(day1, sql):
    manifest, _ = day1
    keys = [c.key for c in load_contracts().values()]
    got = sql(
        "SELECT _feed, line, reason FROM lake.silver.quarantine WHERE _batch_id = ? AND contains(?, _feed)",
        [DAY1, keys],
    )
    assert sorted(map(tuple, got)) == sorted(
        (q["feed"], q["line"], q["reason"]) for q in manifest["quarantine"]
    )
    assert {"BAD_CHECK_DIGIT", "UNKNOWN_ADMIN_CODE", "MISSING_FIELD", "DUPLICATE_KEY"} <= set(
        manifest["counts"]
    )


def test_conflicts_found_equal_the_injected_ones_exactly(day1, sql):
    manifest, _ = day1
    got = sql(
        "SELECT library, subject_key, attribute, other_feed, authority_department, other_department, "
        "authority_value, other_value FROM lake.governance.verification_conflict"
    )
    found = {(r[0], r[1], r[2], r[3]): r[4:] for r in got}
    injected = {
        (c["library"], c["subject_key"], c["attribute"], c["other_feed"].replace("/", "__")): c
        for c in manifest["conflicts"]
    }
    assert set(found) == set(injected) and len(got) == len(injected) > 10
    for k, c in injected.items():
        auth_dept, other_dept, auth_value, other_value = found[k]
        assert (auth_dept, other_dept) == (c["authority_department"], c["other_department"])
        if c["attribute"] == "registered_capital":  # decimal(20,4) in gold
            assert (float(auth_value), float(other_value)) == (
                float(c["authority_value"]),
                float(c["other_value"]),
            )
        else:
            assert (auth_value, other_value) == (c["authority_value"], c["other_value"])
    assert {c["kind"] for c in manifest["conflicts"]} == {"CONFLICT", "STALE_RECORD"}


def test_no_authoritative_value_is_overwritten(day1, sql):
    checks = {
        "name vs household": "SELECT count(*) FROM lake.gold.population_base b "
        "JOIN lake.gold.population_person p ON p.resident_id = b.resident_id "
        "WHERE b._is_current AND b.name IS DISTINCT FROM p.name",
        "marital vs civil affairs": "SELECT count(*) FROM lake.gold.population_base b "
        "JOIN lake.gold.population_marriage m ON m.resident_id = b.resident_id "
        "WHERE b._is_current AND b.marital_status IS DISTINCT FROM m.marital_status",
        "capital vs market regulation": "SELECT count(*) FROM lake.gold.legal_person_base b "
        "JOIN lake.gold.legal_person_enterprise e ON e.credit_code = b.credit_code "
        "WHERE b._is_current AND b.registered_capital IS DISTINCT FROM e.registered_capital",
    }
    assert {k: sql(q)[0][0] for k, q in checks.items()} == dict.fromkeys(checks, 0)
    # …while the verifying departments do disagree on some of them
    assert (
        sql(
            "SELECT count(*) FROM lake.gold.population_base b JOIN lake.gold.population_social_insurance s "
            "ON s.resident_id = b.resident_id WHERE b._is_current AND b.name <> s.name"
        )[0][0]
        > 0
    )
    authority = sql(
        "SELECT element_at(_authority, 'marital_status'), element_at(_authority, 'name') "
        "FROM lake.gold.population_base WHERE _is_current AND marital_status IS NOT NULL LIMIT 1"
    )
    assert authority == [["civil_affairs", "public_security"]]


def test_schema_drift_is_kept_in_bronze_and_reported(day1, sql):
    message = sql(
        "SELECT message FROM lake.governance.batch_log WHERE feed = 'hrss__social_insurance' "
        "AND batch_id = ? AND stage = 'bronze'",
        [DAY1],
    )[0][0]
    assert "schema drift: undeclared field(s) 缴费基数" in message
    kept = sql(
        "SELECT count(*), count(json_extract_scalar(_undeclared, '$.缴费基数')) "
        "FROM lake.bronze.hrss__social_insurance WHERE _batch_id = ?",
        [DAY1],
    )[0]
    assert kept[0] == kept[1] > 0


def test_a_trino_query_per_library(day1, sql):
    _, out = day1
    libs = out["libraries"]
    expected = {
        "population_base": "SELECT count(*) FROM lake.gold.population_person",
        "legal_person_base": "SELECT (SELECT count(*) FROM lake.gold.legal_person_enterprise)"
        " + (SELECT count(*) FROM lake.gold.legal_person_institution)"
        " + (SELECT count(*) FROM lake.gold.legal_person_social_org)",
        "spatial_base": "SELECT count(*) FROM lake.gold.spatial_division",
    }
    for table, q in expected.items():
        assert sql(f"SELECT count(*) FROM lake.gold.{table} WHERE _is_current")[0][0] == sql(q)[0][0] > 0
    for table, lib in load_libraries().items():
        assert sql(f"SELECT count(*) FROM lake.gold.{table}")[0][0] > 0, table
        comments = dict(
            sql(
                "SELECT column_name, comment FROM lake.information_schema.columns "
                "WHERE table_schema = 'gold' AND table_name = ?",
                [table],
            )
        )
        if lib.kind == "theme":
            assert comments == {c.name: c.label for c in lib.columns}
        else:
            assert comments[lib.key] == lib.key_label
    assert (
        libs["theme_business_environment"]["rows"]
        == sql(
            "SELECT count(*) FROM lake.gold.legal_person_base "
            "WHERE _is_current AND _base_department = 'market_regulation'"
        )[0][0]
    )
    linked = sql("SELECT count(*), count(linked_library) FROM lake.gold.social_credit_record")[0]
    assert linked[1] >= 0.9 * linked[0] > 0
    # a record stays unlinked only if its subject is in no base library (its registration was quarantined)
    assert sql(
        "SELECT count(*) FROM lake.gold.social_credit_record WHERE linked_library IS NULL AND ("
        "subject_key IN (SELECT credit_code FROM lake.gold.legal_person_base) OR "
        "subject_key IN (SELECT resident_id FROM lake.gold.population_base))"
    ) == [[0]]
    basins = sql("SELECT count(DISTINCT basin), sum(measurements) FROM lake.gold.theme_ecology_water")[0]
    # every measurement of a station the spatial library holds counts once (quarantined stations drop out)
    located = sql(
        "SELECT count(*) FROM lake.gold.ecology_water_quality q "
        "JOIN lake.gold.spatial_station st ON st.station_id = q.station_id "
        "JOIN lake.gold.spatial_base d ON d.admin_code = st.admin_code AND d._is_current"
    )[0][0]
    measurements = sql("SELECT count(*) FROM lake.gold.ecology_water_quality")[0][0]
    assert basins[0] > 1 and basins[1] == located > 0.9 * measurements
    feedback = province.feedback_dir(DAY1)
    assert (feedback / "index.html").exists() and (feedback / "hrss.csv").exists()


def test_a_library_dag_rebuilds_through_airflow_and_changes_nothing(day1, sql):
    from govlake.airflow_runner import run_dag

    count = "SELECT count(*), count_if(_is_current), max(_batch_id) FROM lake.gold.spatial_base"
    before = sql(count)
    result = run_dag("library__spatial_base", {"batch_id": DAY1}, echo=False)
    assert result.state == "success", result.output[-3000:]
    assert sql(count) == before  # same feeds, same golden records: no version opened or closed


def test_a_thematic_column_traces_through_the_golden_library_to_the_department_file(day1, sql):
    from catalog.trino_tables import register
    from jobs.lineage_load import TABLES, load
    from jobs.spark import stop_spark
    from lineage import report
    from lineage.trace import load_graph

    stop_spark()  # the listener flushes its last events when the session ends
    load(get_spark())
    register(TABLES)
    r = report.build(load_graph(sql), "gold.theme_employment_social_security.name", sql)
    hops = {(d, str(e.source)) for d, e in r.upstream}
    assert (1, "gold.population_base.name") in hops
    assert (2, "gold.population_person.name") in hops
    assert (3, "silver.public_security__household_register.name") in hops
    assert {(o["department"], o["batch"]) for o in r.origins} >= {("public_security", DAY1)}


def test_day2_moves_births_deregistrations_and_revocations_are_merged_with_history(day1, sql):
    manifest, _ = day1
    feeds = [
        "public_security/household_register",
        "market_regulation/enterprise_register",
        "gov_services/certificate",
    ]
    generate(settings().landing, DAY2, SEED, PERSONS, ENTERPRISES, 0.0, 0.0, changes=0.02, feeds_only=feeds)
    changes = json.loads(manifest_path(settings().landing, DAY2).read_text(encoding="utf-8"))["changes"]
    before = sql('SELECT max(version) FROM lake.gold."certificate_library$history"')[0][0]
    for feed in feeds:
        province.run_feed(feed, DAY2)
    libraries = load_libraries()
    for name in ("population_base", "legal_person_base", "certificate_library"):
        province.build_one(libraries[name], DAY2)

    # moves: a closed and a current version for every mover delivered on day 1 (new subjects have one)
    on_day1 = {
        r[0]
        for r in sql(
            "SELECT resident_id FROM lake.gold.population_base WHERE _valid_from = DATE '2026-11-23'"
        )
    }
    changed = sql(
        "SELECT resident_id FROM lake.gold.population_base GROUP BY resident_id HAVING count(*) = 2"
    )
    assert {c[0] for c in changed} == set(changes["moved"]) & on_day1
    assert len(changed) >= 0.9 * len(changes["moved"]) > 0
    who = changed[0][0]

    def lived(day: dt.date) -> list[list]:
        return sql(
            "SELECT admin_code FROM lake.gold.population_base WHERE resident_id = ? "
            "AND _valid_from <= ? AND (_valid_to IS NULL OR _valid_to > ?)",
            [who, day, day],
        )

    was, now = lived(dt.date(2026, 11, 23)), lived(dt.date(2026, 11, 24))
    assert len(was) == len(now) == 1 and was != now
    assert (
        now[0][0]
        == sql("SELECT admin_code FROM lake.gold.population_person WHERE resident_id = ?", [who])[0][0]
    )
    # births: one current version from the day of the delivery
    assert sql(
        "SELECT count(*), min(_valid_from), bool_and(_is_current) FROM lake.gold.population_base "
        "WHERE contains(?, resident_id)",
        [changes["born"]],
    ) == [[len(changes["born"]), dt.date(2026, 11, 24), True]]
    # deregistrations: 存续 closed on day 2 and 注销 current; 注销 alone where day 1 quarantined the entity
    history = sql(
        "SELECT credit_code, array_join(array_agg(status ORDER BY _valid_from), '→'), "
        "bool_or(_valid_from = DATE '2026-11-23') "
        "FROM lake.gold.legal_person_base WHERE contains(?, credit_code) GROUP BY credit_code",
        [changes["deregistered"]],
    )
    assert len(history) == len(changes["deregistered"]) > 0
    assert all(path == ("存续→注销" if day1 else "注销") for _, path, day1 in history), history
    # revocations: 注销 now; the certificate library's previous version (Delta time travel) says 有效
    revoked = changes["revoked"]
    assert sql(
        "SELECT DISTINCT status FROM lake.gold.certificate_library WHERE contains(?, certificate_no)",
        [revoked],
    ) == [["注销"]]
    earlier = sql(
        f"SELECT DISTINCT status FROM lake.gold.certificate_library FOR VERSION AS OF {int(before)} "
        "WHERE contains(?, certificate_no)",
        [revoked],
    )
    assert earlier == [["有效"]]
    # a change is not a conflict: the verification conflicts still equal the injected ones
    assert sql("SELECT count(*) FROM lake.governance.verification_conflict")[0][0] == len(
        manifest["conflicts"]
    )


def test_the_province_run_stops_a_defective_feed_at_the_gate_and_the_other_feeds_go_on(day1, sql):
    """The province's feeds run through the same stages as the feed DAGs, quality gate included: a
    delivery with 5% bad check digits is stopped before gold (gold keeps its version, the batch log says
    why), a clean delivery of the same day is published, and feeds that sent nothing are listed."""
    defective, clean = "health/health_record", "water/water_quality"
    landing = settings().landing
    generate(landing, DAY3, SEED, PERSONS, ENTERPRISES, 0.05, 0.0, feeds_only=[defective])
    generate(landing, DAY3, SEED, PERSONS, ENTERPRISES, 0.0, 0.0, feeds_only=[clean])
    contracts = load_contracts()
    gold_of = {name: contracts[name].target.table for name in (defective, clean)}
    before = {name: tables.version(get_spark(), GOLD, table) for name, table in gold_of.items()}

    out = runner.run_feeds(DAY3)

    assert set(out.blocked) == {defective} and set(out.done) == {clean} and not out.rejected
    assert f"quality gate blocked {contracts[defective].key} batch {DAY3}" in out.blocked[defective]
    assert "resident_id.check_digit" in out.blocked[defective]
    assert sorted(out.missing) == sorted(set(contracts) - {defective, clean})
    after = {name: tables.version(get_spark(), GOLD, table) for name, table in gold_of.items()}
    assert after[defective] == before[defective] and after[clean] >= before[clean]
    province.register_all()
    logged = sql(
        "SELECT feed, stage, status FROM lake.governance.batch_log WHERE batch_id = ? "
        "AND stage IN ('quality_gate', 'gold') ORDER BY 1, 2",
        [DAY3],
    )
    assert logged == [
        [contracts[defective].key, "quality_gate", "blocked"],
        [contracts[clean].key, "gold", "ok"],
        [contracts[clean].key, "quality_gate", "ok"],
    ]
