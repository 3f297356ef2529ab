"""Lineage end to end: one Airflow run of the household feed with lineage on (Spark listener, Airflow
provider, contract mapping), a small derived Spark table for a second hop, a share view's event, a
malformed and a schema-invalid event; all loaded into governance tables and queried through Trino."""

from __future__ import annotations

import json
import time

import pytest

from catalog.trino_tables import register
from govlake.airflow_runner import run_dag
from infra.settings import settings
from jobs import tables
from jobs.lineage_load import TABLES, load
from jobs.spark import get_spark
from lineage import report
from lineage.emit import emit_view_lineage
from lineage.records import event_files, parse
from lineage.trace import load_graph
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")
BATCH, SEED, PERSONS = "20261121", 77, 150
PROBE = ("theme", "lineage_probe")  # a derived table: the second hop after gold
VIEW = "share_civil_affairs.population_address"
BAD_INVALID = {
    "eventTime": "2026-11-23T10:00:00Z",
    "producer": "https://x.org",
    "schemaURL": "https://x.org",
    "run": {"runId": "not-a-uuid"},
    "job": {"namespace": "govlake", "name": "x"},
}


def _wait_for_event(name_part: str, timeout: float = 120) -> None:
    """The listener emits asynchronously; wait until a COMPLETE event names the dataset."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in (settings().lineage_dir / "spark").glob("*.jsonl"):
            for line in f.read_text(encoding="utf-8").splitlines():
                if '"COMPLETE"' in line and name_part in line and '"columnLineage"' in line:
                    return
        time.sleep(2)
    raise AssertionError(f"no COMPLETE event with column lineage for {name_part}")


@pytest.fixture(scope="module")
def lineage(trino_server, tmp_path_factory):
    s = settings()
    # A clean delivery: at 150 rows a single defect of a kind is over the gate's 1% critical threshold.
    write_delivery(CONTRACT, s.landing, BATCH, population(SEED, PERSONS), 0.0, None, SEED)
    result = run_dag(CONTRACT.dag_id, {"batch_id": BATCH}, echo=False)
    assert result.state == "success", result.output[-4000:]
    spark = get_spark()
    gold = spark.read.format("delta").load(tables.path("gold", "population_person"))
    gold.select("resident_id", gold.address.alias("home_address"), "admin_code").write.format("delta").mode(
        "overwrite"
    ).save(tables.path(*PROBE))
    _wait_for_event("theme/lineage_probe")
    request = tmp_path_factory.mktemp("requests") / "civil_affairs_population_address.yaml"
    request.write_text("department: civil_affairs\n", encoding="utf-8")
    emit_view_lineage(
        VIEW,
        {
            "address": ("gold.population_person", "address"),
            "admin_code": ("gold.population_person", "admin_code"),
        },
        request,
    )
    bad = s.lineage_dir / "bad" / "events.jsonl"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"eventTime": "2026-11-23T10:00:00Z", oops\n' + json.dumps(BAD_INVALID) + "\n")
    loaded = load(spark)
    register(TABLES)
    return {"load": loaded, "bad": bad, "request": request}


def test_every_emitted_event_validates_against_the_schema(lineage):
    files = [f for f in event_files(settings().lineage_dir) if f != lineage["bad"]]
    parsed = parse(files)
    assert parsed.rejections == []
    producers = {e["producer"].split("/tree/")[0].split("/")[-1] for e in parsed.events}
    kinds = {e["producer"] for e in parsed.events}
    assert any("integration/spark" in p for p in kinds), producers
    assert any("airflow" in p for p in kinds), producers
    assert any(p.startswith("https://github.com/govlake") for p in kinds), producers


def test_gold_address_traces_to_the_public_security_source_column_and_batch(lineage, sql):
    graph = load_graph(sql)
    r = report.build(graph, "gold.population_person.address", sql)
    assert {
        "department": "public_security",
        "feed": "household_register",
        "batch": BATCH,
        "file": f"household_register_{BATCH}.csv",
        "column": "户籍地址",
    } in r.origins
    steps = {(str(e.source), str(e.target)) for _, e in r.upstream}
    assert ("silver.public_security__household_register.address", "gold.population_person.address") in steps
    assert (
        "bronze.public_security__household_register.address",
        "silver.public_security__household_register.address",
    ) in steps
    _, rows = r.sections["governance.batch_log"]
    assert {(row[1], row[2]) for row in rows} >= {(BATCH, "bronze"), (BATCH, "silver"), (BATCH, "gold")}
    # the MERGE's own edge, as the Spark listener reported it, is in Trino
    assert (
        sql(
            "SELECT count(*) FROM lake.governance.column_lineage "
            "WHERE target_dataset = 'gold.population_person' "
            "AND target_column = 'address' AND source_dataset = 'silver.public_security__household_register' "
            "AND job_name LIKE '%execute_merge_into_command%'"
        )[0][0]
        >= 1
    )


def test_a_derived_column_traces_through_two_hops(lineage, sql):
    r = report.build(load_graph(sql), "theme.lineage_probe.home_address", sql)
    hops = {(d, str(e.source)) for d, e in r.upstream}
    assert (1, "gold.population_person.address") in hops
    assert (2, "silver.public_security__household_register.address") in hops
    assert any(o["column"] == "户籍地址" and o["batch"] == BATCH for o in r.origins)


def test_share_view_traces_to_gold_columns_and_request_and_shows_as_impact(lineage, sql):
    graph = load_graph(sql)
    r = report.build(graph, VIEW, sql)
    assert {str(e.source) for d, e in r.upstream if d == 1} == {
        "gold.population_person.address",
        "gold.population_person.admin_code",
    }
    _, requests = r.sections["share requests"]
    assert requests and requests[0][1] == lineage["request"].resolve().as_uri()
    impact = report.build(graph, "gold.population_person.address", sql)
    assert f"{VIEW}.address" in {str(e.target) for _, e in impact.downstream}
    assert impact.receivers == ["civil_affairs"]


def test_bad_events_are_rejected_with_file_line_and_reason_and_loading_goes_on(lineage, sql):
    bad = [r for r in lineage["load"].rejections if r.file == str(lineage["bad"])]
    assert [(r.line, r.reason.split(":")[0]) for r in bad] == [
        (1, "not JSON"),
        (2, "not a valid OpenLineage RunEvent"),
    ]
    assert "run/runId: 'not-a-uuid' is not a 'uuid'" in bad[1].reason
    assert lineage["load"].new_events > 0
    assert sql(
        "SELECT source_line FROM lake.governance.lineage_rejected WHERE source_file = ? ORDER BY 1",
        [str(lineage["bad"])],
    ) == [[1], [2]]


def test_loading_again_adds_nothing(lineage, sql):
    before = sql("SELECT count(*) FROM lake.governance.lineage_event")[0][0]
    again = load(get_spark(), settings().lineage_dir / "airflow")
    assert again.events > 0 and again.new_events == 0 and again.new_edges == 0
    assert sql("SELECT count(*) FROM lake.governance.lineage_event")[0][0] == before


def test_spark_runs_link_to_their_airflow_tasks_and_tasks_name_our_tables(lineage, sql):
    dag = CONTRACT.dag_id
    linked = sql(
        "SELECT count(*) FROM lake.governance.lineage_event s JOIN lake.governance.lineage_event a "
        "ON s.parent_run_id = a.run_id WHERE s.producer LIKE '%integration/spark%' AND a.job_name = ?",
        [f"{dag}.gold"],
    )[0][0]
    assert linked >= 1
    outputs = sql(
        "SELECT DISTINCT o FROM lake.governance.lineage_event CROSS JOIN UNNEST(outputs) AS t(o) "
        "WHERE job_name LIKE ? AND producer LIKE '%airflow%'",
        [f"{dag}.%"],
    )
    assert {r[0] for r in outputs} >= {
        "lake:bronze.public_security__household_register",
        "lake:silver.public_security__household_register",
        "lake:gold.population_person",
    }


def test_one_command_writes_all_reports_of_a_run(lineage, sql, tmp_path):
    written = report.write_run(load_graph(sql), BATCH, sql, tmp_path)
    names = {p.name for p in written}
    assert {"gold.population_person.md", "gold.population_person.html", "index.md"} <= names
    page = (tmp_path / "gold.population_person.html").read_text(encoding="utf-8")
    assert "<svg" in page and "户籍地址" in page and BATCH in page
