"""Issue 20, case 2: Trino goes down before a feed's DAG registers its tables. The `trino` task fails,
Airflow retries it with backoff (the feed DAG's real `retries`), Trino comes back meanwhile, and the retry
registers every table: the run succeeds and gold answers in Trino. `bash infra/test.sh -m faults`."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from catalog.server import start_trino, stop_trino
from govlake import airflow_runner
from infra.settings import settings
from schemas.contracts import get_contract
from tools.synthetic.province import generate

CONTRACT = get_contract("natural_resources/admin_division")
BATCH = "20261206"  # after the other tests' admin-division batches


def _trino_task_state(dag_id: str) -> list[tuple[str, int]]:
    db = settings().airflow_home / "airflow.db"
    if not db.exists():  # the run migrates it first
        return []
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT ti.state, ti.try_number FROM task_instance ti JOIN dag_run dr "
                "ON ti.run_id = dr.run_id "
                "AND ti.dag_id = dr.dag_id WHERE ti.dag_id = ? AND ti.task_id = 'trino' "
                "ORDER BY dr.id DESC LIMIT 1",
                [dag_id],
            ).fetchall()
    except sqlite3.OperationalError:  # still being migrated
        return []
    return [(str(state), int(tries)) for state, tries in rows]


@pytest.mark.faults
def test_trino_down_at_registration_the_task_retries_and_the_run_completes(trino_server, sql, monkeypatch):
    s = settings()
    monkeypatch.setenv("GOVLAKE_TASK_RETRIES", "6")  # waits of 2, 4, 8 … s: past a Trino start
    monkeypatch.setenv("GOVLAKE_TASK_RETRY_DELAY", "2")
    feed = f"{CONTRACT.department}/{CONTRACT.feed}"
    rows = generate(s.landing, BATCH, persons=50, enterprises=5, defect_rate=0.0, conflict_rate=0.0,
                    feeds_only=[feed]).rows[feed]  # fmt: skip
    stop_trino(s)
    done: list = []
    run = threading.Thread(
        target=lambda: done.append(airflow_runner.run_dag(CONTRACT.dag_id, {"batch_id": BATCH})), daemon=True
    )
    try:
        run.start()
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and ("up_for_retry", 1) not in _trino_task_state(CONTRACT.dag_id):
            assert run.is_alive(), "the run ended before its trino task failed once"
            time.sleep(1)
        assert ("up_for_retry", 1) in _trino_task_state(CONTRACT.dag_id), "the trino task never failed"
    finally:
        start_trino(s)  # back for the retry (and for the tests after this one)
    run.join(600)
    assert done and done[0].state == "success", done[0].output[-3000:] if done else "no run"
    state, tries = _trino_task_state(CONTRACT.dag_id)[0]
    assert state == "success" and tries >= 2
    got = sql(f"SELECT count(*) FROM lake.bronze.{CONTRACT.key} WHERE _batch_id = ?", [BATCH])[0][0]
    assert got == rows
