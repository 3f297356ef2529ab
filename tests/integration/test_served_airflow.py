"""Feeds start themselves under the real scheduler: Airflow 3 served on PostgreSQL (scheduler with the
LocalExecutor, DAG processor, triggerer, API server), a delivery's `_delivery.json` landing starts its feed's
DAG through the delivery watcher, the library DAG follows the gold Asset, Trino reads the result."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from govlake import airflow_served, delivery_watch
from infra import postgres
from infra.settings import settings
from schemas.contracts import get_contract
from tools.synthetic.province import generate

CONTRACT = get_contract("natural_resources/admin_division")
CST = ZoneInfo("Asia/Shanghai")
FIRST, SECOND = "20261201", "20261202"  # after every batch the other tests deliver


@pytest.fixture(scope="module")
def served(trino_server):
    s = settings()
    airflow_served.start(s)
    yield s
    airflow_served.stop(s)
    postgres.destroy(s)  # the test installation's cluster (as root it lives under /var/lib/postgresql)


def _connect(s) -> psycopg.Connection:
    return psycopg.connect(host=postgres.HOST, port=s.postgres_port, user=postgres.ROLE,
                           password=postgres.password(s), dbname=postgres.DATABASE)  # fmt: skip


def _runs(s, dag_id: str) -> list[tuple[str, str, str]]:
    """(run_type, state, run_id) of a DAG's runs, oldest first, from the metadata DB."""
    with _connect(s) as conn:
        rows = conn.execute(
            "SELECT run_type, state, run_id FROM dag_run WHERE dag_id = %s ORDER BY id", [dag_id]
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _wait(what: str, done, timeout: float = 420.0, s=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = done()
        if got:
            return got
        time.sleep(3)
    logs = Path(airflow_served.served_home(s or settings()))
    pytest.fail(f"{what} not within {timeout:.0f}s; see {logs}/*.log")


def _move_a_seat(folder: Path) -> None:
    """Day 2 moves one division's seat a little (the generator's divisions are the same every day: an
    identical file would be skipped as already ingested), and rewrites the manifest last."""
    data = next(folder.glob("*.csv"))
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[1].rstrip("\n").split(",")  # admin_code,name,level,parent_code,longitude,latitude
    fields[4] = f"{float(fields[4]) + 0.001:.5f}"
    lines[1] = ",".join(fields) + "\n"
    data.write_text("".join(lines), encoding="utf-8")
    manifest = json.loads((folder / "_delivery.json").read_text())
    manifest["files"][0]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (folder / "_delivery.json").write_text(json.dumps(manifest, ensure_ascii=False))


def _finished(runs: list[tuple[str, str, str]], n: int) -> bool:
    return len(runs) >= n and all(state in ("success", "failed") for _, state, _ in runs)


def test_two_deliveries_start_their_feed_in_batch_order_and_the_library_follows(served, sql):
    s = served
    announced = delivery_watch.announced_dir(CONTRACT, s)
    _wait("the delivery watcher's first scan", announced.is_dir, s=s)  # what landed before is history
    history = {p.name for p in announced.iterdir()}  # other tests' deliveries, recorded, never run
    assert _runs(s, CONTRACT.dag_id) == [] and not history & {FIRST, SECOND}
    rows = {}
    for batch in (FIRST, SECOND):  # back to back: Airflow may fold both into one run, which hands one on
        out = generate(s.landing, batch, persons=200, enterprises=20, defect_rate=0.0, conflict_rate=0.0,
                       feeds_only=[f"{CONTRACT.department}/{CONTRACT.feed}"])  # fmt: skip
        rows[batch] = out.rows[f"{CONTRACT.department}/{CONTRACT.feed}"]
        if batch == SECOND:
            _move_a_seat(s.landing / CONTRACT.department / CONTRACT.feed / batch)

    runs = _wait("two feed runs", lambda: (r := _runs(s, CONTRACT.dag_id)) and _finished(r, 2) and r, s=s)
    assert {(kind, state) for kind, state, _ in runs} == {("asset_triggered", "success")}, runs
    with _connect(s) as conn:  # a run woken by an event whose delivery an earlier run took skips
        took = conn.execute(
            "SELECT state FROM task_instance WHERE dag_id = %s AND task_id = 'preflight'", [CONTRACT.dag_id]
        ).fetchall()
    assert sorted(str(state) for (state,) in took) == ["skipped"] * (len(took) - 2) + ["success"] * 2
    assert sorted({p.name for p in announced.iterdir()} - history) == [FIRST, SECOND]

    logged = sql(
        "SELECT batch_id, stage, status FROM lake.governance.batch_log WHERE feed = ? "
        "AND batch_id IN (?, ?) AND stage IN ('preflight', 'gold') ORDER BY started_at",
        [CONTRACT.key, FIRST, SECOND],
    )
    assert [tuple(row) for row in logged] == [
        (FIRST, "preflight", "ok"), (FIRST, "gold", "ok"),
        (SECOND, "preflight", "ok"), (SECOND, "gold", "ok"),
    ]  # fmt: skip
    bronze = sql(
        f"SELECT _batch_id, count(*) FROM lake.bronze.{CONTRACT.key} WHERE _batch_id IN (?, ?) GROUP BY 1",
        [FIRST, SECOND],
    )
    assert dict(bronze) == rows  # every delivered row, once
    gold = sql(f"SELECT count(*), max(_batch_id) FROM lake.gold.{CONTRACT.target.table}")[0]
    assert gold[1] == SECOND and gold[0] >= rows[SECOND]

    library = _wait(
        "the library run the gold Asset starts",
        lambda: (r := _runs(s, "library__spatial_base")) and _finished(r, 1) and r,
        s=s,
    )
    assert library[-1][:2] == ("asset_triggered", "success"), library
    current = sql("SELECT count_if(_is_current) FROM lake.gold.spatial_base")[0][0]
    assert current >= rows[SECOND]


def test_a_feed_whose_delivery_is_overdue_raises_an_alert_at_its_deadline(served):
    """The scheduler runs each arrival DAG for its latest deadline on start (catchup off); the run's end
    agrees with the verdict on that period: failed with an alert when late, else succeeded or skipped."""
    from govlake import arrivals

    s = served
    water = get_contract("water/water_quality")  # due every day by 08:00
    dag_id = f"arrival__{water.key}"
    runs = _wait("the arrival check", lambda: (r := _runs(s, dag_id)) and _finished(r, 1) and r, s=s)
    kind, state, run_id = runs[0]
    assert kind == "scheduled"
    with _connect(s) as conn:
        query = "SELECT data_interval_end FROM dag_run WHERE run_id = %s"
        (deadline,) = conn.execute(query, [run_id]).fetchone()
    assert deadline.astimezone(CST).time() == dt.time(8, 0)
    start, end = arrivals.last_period(water.arrival, deadline)
    assert (end, end - start) == (deadline, dt.timedelta(days=1))
    expected = arrivals.verdict(water, start, end, s)
    assert state == ("failed" if expected["late"] else "success"), (runs, expected)
    if expected["late"]:
        alerts = [json.loads(line) for line in arrivals.arrivals_log(s).read_text().splitlines()]
        assert any(a["feed"] == "water/water_quality" and a["due"] == expected["due"] for a in alerts)
