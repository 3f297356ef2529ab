"""The shared Spark engine: one long-lived process holding a classic PySpark session (Delta, the
OpenLineage listener, Great Expectations once imported) that Airflow tasks hand their work to, so no task
starts a JVM or warms Delta again. `govlake spark start|stop|status` manage it (govlake.engine_client).

It listens on a Unix socket only its owner can open (mode 0600 in a 0700 folder) and runs one piece of
work at a time: a request is one JSON line naming an operation of `OPERATIONS` and its arguments; the
answer is one JSON line. Status answers while work runs. After each piece of work the listener bus is
drained and the Spark lineage written meanwhile is handed to the asking task (lineage.reparent).

Why not Spark Connect: our quality gates and tables use the DeltaTable API, which needs
delta-connect-server (not on the registries here), and the OpenLineage listener cannot name a parent run
per Connect session (OpenLineage#4288); a classic session in a process of its own keeps both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from govlake.engine_protocol import (
    APP_NAME,
    HANDOFF,
    EngineFiles,
    engine_files,
    errors_by_name,
    settings_digest,
)
from infra.settings import LINEAGE_JOB_ENV, LINEAGE_PARENT_ENV, LINEAGE_ROOT_ENV, settings
from jobs.spark import drain_listeners, get_spark, stop_spark
from lineage.reparent import RunRef, TaskLink, hand_over, post

Operation = Callable[[dict[str, Any]], dict[str, Any]]


def _stage(args: dict[str, Any]) -> dict[str, Any]:
    from govlake.results import BatchState  # lazy: the engine imports the stages once it serves
    from govlake.stages import STAGES, run_claimed

    stage = next(s for s in STAGES if s.name == args["stage"])
    return run_claimed(stage, BatchState.model_validate(args["state"])).model_dump(mode="json")


def _library(args: dict[str, Any]) -> dict[str, Any]:
    from govlake.library_dags import build_here  # lazy: a DAG module (Airflow), loaded when first asked

    return build_here(args["table"], args["batch"])


def _register_all(args: dict[str, Any]) -> dict[str, Any]:
    from govlake.library_dags import register_here  # lazy: a DAG module (Airflow)

    return register_here()


def _share_expiry(args: dict[str, Any]) -> dict[str, Any]:
    from govlake.share_dags import share_expiry_here  # lazy: a DAG module (Airflow)

    return share_expiry_here(dt.date.fromisoformat(args["today"]))


OPERATIONS: dict[str, Operation] = {
    "stage": _stage,
    "library": _library,
    "register_all": _register_all,
    "share_expiry": _share_expiry,
}


def warm_up(spark: SparkSession, scratch: Path) -> float:
    """Pay first-use costs at start, not in the first task: Delta's write, MERGE and read paths on a
    scratch table of the engine's own, and loading Great Expectations. Its seconds."""
    started = time.monotonic()
    from quality import gate  # noqa: F401  # lazy: GX takes seconds to load; loaded here, before any gate

    if (spark.sparkContext.master or "").startswith("local"):  # the scratch folder is on this machine only
        rows, path = spark.range(1000).selectExpr("id", "cast(id AS STRING) AS v"), str(scratch)
        rows.write.format("delta").mode("overwrite").save(path)
        target = DeltaTable.forPath(spark, path).alias("t")
        target.merge(
            rows.alias("s"), "t.id = s.id"
        ).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute()
        spark.read.format("delta").load(path).where("id % 7 = 0").count()
        shutil.rmtree(scratch, ignore_errors=True)
    return time.monotonic() - started


class Engine:
    """The session and the bookkeeping of the work it has done."""

    def __init__(self, files: EngineFiles) -> None:
        self.files, self.started, self.served, self.failed = files, time.time(), 0, 0
        self.spark = get_spark(APP_NAME, lineage_file=files.raw_lineage)
        self.warm_up_s = warm_up(self.spark, files.folder / "warm-up")
        self.work = threading.Lock()
        self.current = ""
        drain_listeners(self.spark)  # the warm-up's lineage is nobody's: handed to no task
        self.lineage_offset = files.raw_lineage.stat().st_size if files.raw_lineage.exists() else 0
        self.stopping = threading.Event()

    def status(self) -> dict[str, Any]:
        sc = self.spark.sparkContext
        me = psutil.Process()
        tree = [me, *me.children(recursive=True)]
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 1),
            "warm_up_s": round(self.warm_up_s, 1),
            "served": self.served,
            "failed": self.failed,
            "running": self.current,
            "master": sc.master,
            "app_id": sc.applicationId,
            "rss_mb": round(sum(p.memory_info().rss for p in tree) / 2**20),  # Python and its JVM
            "settings": settings_digest(settings()),
            "log": str(self.files.log),
        }

    def run(self, op: str, args: dict[str, Any], handoff: dict[str, str]) -> dict[str, Any]:
        """One piece of work, alone on the engine, its lineage handed to the task that asked."""
        with self.work:
            self.current = f"{op} {args.get('stage', args.get('table', ''))}".strip()
            for name in HANDOFF:  # this task's lineage parents only, never the last task's
                os.environ.pop(name, None)
            os.environ.update({k: v for k, v in handoff.items() if k in HANDOFF and v})
            try:
                return OPERATIONS[op](args)
            finally:
                self._hand_over_lineage(handoff)
                self.current = ""

    def _hand_over_lineage(self, handoff: dict[str, str]) -> None:
        if not settings().lineage:
            return
        drain_listeners(self.spark)
        link = TaskLink(
            job=handoff.get(LINEAGE_JOB_ENV) or APP_NAME,
            parent=_ref(handoff, LINEAGE_PARENT_ENV),
            root=_ref(handoff, LINEAGE_ROOT_ENV),
        )
        name = (handoff.get(LINEAGE_JOB_ENV) or "engine").replace("/", "_")
        out = settings().lineage_dir / "spark" / f"{dt.datetime.now():%Y%m%dT%H%M%S}-engine-{name}.jsonl"
        raw, offset = self.files.raw_lineage, self.lineage_offset
        self.lineage_offset, lines = hand_over(raw, offset, APP_NAME, link, out)
        if settings().lineage_url and lines:
            try:
                post(settings().lineage_url, lines)
            except OSError as exc:  # lineage must never fail a task; the events stay in `out`
                print(f"lineage endpoint refused events: {exc}; kept in {out}", flush=True)


def _ref(handoff: dict[str, str], names: tuple[str, str, str]) -> RunRef | None:
    values = [handoff.get(n, "") for n in names]
    return RunRef(*values) if all(values) else None


def answer(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request: a result, or the error by its class name with the engine log named."""
    op = request.get("op", "")
    if op == "status":
        return {"ok": True, "status": engine.status()}
    if op == "stop":  # after the work that runs
        with engine.work:
            engine.stopping.set()
        return {"ok": True}
    if op not in OPERATIONS:
        return {"ok": False, "error": "ValueError", "message": f"unknown engine operation {op!r}"}
    mine, theirs = settings_digest(settings()), request.get("settings", "")
    if theirs != mine:
        message = "the engine runs with other settings than the caller; restart it: govlake spark stop"
        return {"ok": False, "error": "SettingsMismatch", "message": message}
    try:
        result = engine.run(op, request.get("args", {}), request.get("handoff", {}))
        engine.served += 1
        return {"ok": True, "result": result}
    except Exception as exc:
        engine.failed += 1
        traceback.print_exc()
        name = type(exc).__name__ if type(exc).__name__ in errors_by_name() else "EngineError"
        return {"ok": False, "error": name, "message": str(exc), "log": str(engine.files.log)}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        engine: Engine = self.server.engine  # type: ignore[attr-defined]
        line = self.rfile.readline()
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            request = {"op": ""}
        reply = answer(engine, request if isinstance(request, dict) else {"op": ""})
        self.wfile.write(json.dumps(reply, ensure_ascii=False, default=str).encode() + b"\n")
        if engine.stopping.is_set():
            threading.Thread(target=self.server.shutdown, daemon=True).start()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(files: EngineFiles) -> None:
    """Start Spark, then answer on the socket until asked to stop."""
    files.socket.unlink(missing_ok=True)
    engine = Engine(files)
    old = os.umask(0o177)
    try:
        server = _Server(str(files.socket), _Handler)
    finally:
        os.umask(old)
    server.engine = engine  # type: ignore[attr-defined]
    files.pid.write_text(str(os.getpid()))
    print(f"spark engine {engine.spark.sparkContext.applicationId} serving on {files.socket}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        files.socket.unlink(missing_ok=True)
        files.pid.unlink(missing_ok=True)
        stop_spark()
        print("spark engine stopped", flush=True)


def main() -> int:
    serve(engine_files(settings()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
