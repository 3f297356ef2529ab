"""The shared Spark engine as the CLI and the Airflow tasks see it: checked like Trino, a task's error back
as itself, a caller with other settings refused, and the engine serving on after a failure. That every
stage of a feed's Airflow run goes to the one engine is checked by test_household_pipeline; that its
Spark runs name their Airflow tasks as parents, by test_lineage."""

from __future__ import annotations

import json

import pytest

from govlake import cli, engine_client
from govlake.results import BatchState
from infra.settings import Settings, settings
from jobs.preflight import DeliveryRejected

FEED = "public_security/household_register"


def _preflight(batch: str) -> dict:
    return {"stage": "preflight", "state": BatchState(feed=FEED, batch_id=batch).model_dump(mode="json")}


def test_status_names_the_running_engine_and_start_reuses_it(spark_engine, capsys):
    assert cli.main(["spark", "status"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["pid"] == spark_engine["pid"] and shown["master"] == settings().spark_master
    assert shown["log"].endswith("engine/engine.log") and shown["rss_mb"] > 200  # Python and its JVM
    assert engine_client.start()["pid"] == spark_engine["pid"]


def test_a_failing_stage_raises_its_own_error_and_the_engine_serves_on(spark_engine):
    before = engine_client.status()
    with pytest.raises(DeliveryRejected, match="19990101"):
        engine_client.request("stage", _preflight("19990101"))
    after = engine_client.status()
    assert before and after and after["pid"] == before["pid"]
    assert after["failed"] == before["failed"] + 1
    with pytest.raises(ValueError, match="unknown engine operation"):
        engine_client.request("format_disk", {})


def test_a_caller_with_other_settings_is_refused_before_any_work(spark_engine):
    before = engine_client.status()
    other = Settings(shuffle_partitions=settings().shuffle_partitions + 1)
    with pytest.raises(engine_client.EngineError, match=r"other settings.*govlake spark stop"):
        engine_client.request("stage", _preflight("19990101"), other)
    after = engine_client.status()
    assert before and after and (after["served"], after["failed"]) == (before["served"], before["failed"])
