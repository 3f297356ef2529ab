"""The shared engine without Spark: lineage handed to the asking task (reparenting validated against the
OpenLineage schema), the engine's files and settings digest, and the answers to malformed or mismatched
requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govlake import engine_client
from govlake.engine_protocol import engine_files, errors_by_name, settings_digest
from infra.settings import Settings
from lineage.reparent import RunRef, TaskLink, hand_over, reparent
from lineage.validate import problems
from schemas.quality import QualityGateFailed

APP = "govlake_engine"
TASK_RUN = "01934d5e-7f00-7000-8000-0000000000aa"
DAG_RUN = "01934d5e-7f00-7000-8000-0000000000bb"
ENGINE_RUN = "01934d5e-7f00-7000-8000-0000000000cc"
LINK = TaskLink(
    job="feed__ps.gold.spark",
    parent=RunRef("govlake", "feed__ps.gold", TASK_RUN),
    root=RunRef("govlake", "feed__ps", DAG_RUN),
)


def spark_event(job: str, run_id: str = "01934d5e-7f00-7000-8000-000000000001") -> dict:
    """An event as the OpenLineage Spark listener writes it on the engine: parented to the application."""
    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.53.0/integration/spark"
    parent = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
        "run": {"runId": ENGINE_RUN},
        "job": {"namespace": "govlake", "name": APP},
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-04T10:00:00.000Z",
        "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {"parent": parent}},
        "job": {"namespace": "govlake", "name": job},
        "inputs": [],
        "outputs": [],
    }


def test_a_spark_run_becomes_the_tasks_own_with_its_parent_and_root():
    event = reparent(spark_event(f"{APP}.execute_merge_into_command_edge"), APP, LINK)
    assert event["job"]["name"] == "feed__ps.gold.spark.execute_merge_into_command_edge"
    parent = event["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == TASK_RUN and parent["job"]["name"] == "feed__ps.gold"
    assert parent["root"] == {"run": {"runId": DAG_RUN}, "job": {"namespace": "govlake", "name": "feed__ps"}}
    assert "1-2-0" in parent["_schemaURL"]  # the listener's facet version is kept
    assert problems(event) == []


def test_the_engines_application_event_and_an_unlinked_task_keep_their_parent():
    app_event = spark_event(APP)
    assert reparent(json.loads(json.dumps(app_event)), APP, LINK) == app_event
    unlinked = reparent(spark_event(f"{APP}.x"), APP, TaskLink(job="cli.spark"))
    assert unlinked["job"]["name"] == "cli.spark.x"
    assert unlinked["run"]["facets"]["parent"]["run"]["runId"] == ENGINE_RUN


def test_hand_over_passes_on_complete_lines_once_and_keeps_a_partial_line(tmp_path: Path):
    raw, out = tmp_path / "raw.jsonl", tmp_path / "out" / "task.jsonl"
    first = json.dumps(spark_event(f"{APP}.a"))
    raw.write_text(first + "\nnot json\n" + json.dumps(spark_event(f"{APP}.b"))[:40], encoding="utf-8")
    offset, lines = hand_over(raw, 0, APP, LINK, out)
    assert len(lines) == 2 and lines[1] == "not json"  # copied as is: the loader rejects it by file and line
    assert json.loads(lines[0])["job"]["name"] == "feed__ps.gold.spark.a"
    assert offset == len((first + "\nnot json\n").encode())
    assert hand_over(raw, offset, APP, LINK, out) == (offset, [])  # the cut line waits for its newline
    with raw.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(spark_event(f"{APP}.b"))[40:] + "\n")
    offset, lines = hand_over(raw, offset, APP, LINK, out)
    assert [json.loads(x)["job"]["name"] for x in lines] == ["feed__ps.gold.spark.b"]
    assert offset == raw.stat().st_size and len(out.read_text().splitlines()) == 3


def test_the_socket_moves_to_a_short_private_path_when_the_home_is_deep(tmp_path: Path):
    deep = Settings(home=tmp_path / ("d" * 120))
    files = engine_files(deep)
    assert len(str(files.socket)) <= 100 and files.socket.parent.stat().st_mode & 0o077 == 0
    assert files.log == deep.home / "engine" / "engine.log"
    assert engine_files(Settings(home=tmp_path)).socket == tmp_path / "engine" / "engine.sock"


def test_settings_digest_follows_every_setting_but_the_engine_choice(tmp_path: Path):
    base = Settings(home=tmp_path)
    assert settings_digest(base) == settings_digest(Settings(home=tmp_path, spark_engine="local"))
    assert settings_digest(base) != settings_digest(Settings(home=tmp_path, shuffle_partitions=3))


def test_errors_travel_back_as_themselves():
    assert errors_by_name()["QualityGateFailed"] is QualityGateFailed
    assert "EngineError" not in errors_by_name()  # anything else: EngineError naming the log


def test_no_engine_means_local_work_under_auto_and_a_clear_error_under_shared(tmp_path: Path):
    auto, shared = Settings(home=tmp_path), Settings(home=tmp_path, spark_engine="shared")
    assert engine_client.status(auto) is None
    assert engine_client.call("stage", {}, lambda: {"here": True}, auto) == {"here": True}
    with pytest.raises(engine_client.EngineError, match="govlake spark start"):
        engine_client.call("stage", {}, lambda: {"here": True}, shared)
    assert engine_client.stop(auto) is False
