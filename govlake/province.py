"""The province end to end in one process: every feed's stages (the same functions the feed DAGs call),
then the libraries (golden records with history, verification conflicts, themes), the per-department
feedback report and the Trino registration. Used by `govlake province run`, the tests and the benchmark;
Airflow runs the same steps through the feed DAGs and the library DAGs (govlake/library_dags.py)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from govlake import pipeline
from infra.settings import settings
from schemas.contracts import batch_id as valid_batch_id
from schemas.contracts import load_contracts
from schemas.libraries import GoldenLibrary, Library, ThemeTable, load_libraries

Timer = Callable[[str, float, int], None]  # stage, seconds, rows


def _noop(stage: str, seconds: float, rows: int) -> None:
    return None


def run_feed(feed: str, batch: str, timer: Timer = _noop) -> dict[str, Any]:
    t = time.monotonic()
    state = pipeline.preflight(feed, batch)
    timer("preflight", time.monotonic() - t, state["preflight"]["lines"])
    for stage, fn, rows in (
        ("bronze", pipeline.bronze, "bronze_rows"),
        ("silver", pipeline.silver, "rows_in"),
        ("gold", pipeline.gold, "silver_rows"),
    ):
        t = time.monotonic()
        state = fn(state)
        timer(stage, time.monotonic() - t, state.get(rows) or 0)
    return state


def run_feeds(batch: str, timer: Timer = _noop) -> dict[str, dict[str, Any]]:
    return {name: run_feed(name, batch, timer) for name in load_contracts()}


def build_one(lib: Library, batch: str) -> dict[str, Any]:
    from jobs import batch_log
    from jobs.library import build_library
    from jobs.spark import get_spark
    from jobs.theme import build_theme

    spark, started = get_spark(), dt.datetime.now()
    if isinstance(lib, ThemeTable):
        rows = build_theme(spark, lib)
        summary: dict[str, Any] = {"table": lib.table, "rows": rows}
        entry = batch_log.entry(f"library__{lib.table}", batch, "theme", "ok", started, rows_out=rows)
    else:
        r = build_library(spark, lib, load_contracts(), batch)
        summary = {
            "table": lib.table,
            "subjects": r.subjects,
            "inserted": r.inserted,
            "closed": r.closed,
            "conflicts": r.conflicts,
            "version": r.version,
        }
        entry = batch_log.entry(
            f"library__{lib.table}",
            batch,
            "library",
            "ok",
            started,
            rows_out=r.subjects,
            inserted=r.inserted,
            updated=r.closed,
            message=f"{r.conflicts} verification conflicts",
        )
    batch_log.record(spark, entry)
    return summary


def build_libraries(batch: str, timer: Timer = _noop) -> dict[str, dict[str, Any]]:
    from jobs.feedback import write_feedback
    from jobs.spark import get_spark

    out = {}
    for name, lib in load_libraries().items():
        t = time.monotonic()
        out[name] = build_one(lib, batch)
        rows = out[name].get("subjects", out[name].get("rows", 0))
        timer("library" if isinstance(lib, GoldenLibrary) else "theme", time.monotonic() - t, rows)
    t = time.monotonic()
    out["_feedback"] = write_feedback(get_spark(), feedback_dir(batch), batch)
    timer("feedback", time.monotonic() - t, sum(out["_feedback"].values()))
    return out


def feedback_dir(batch: str):
    return settings().home / "reports" / "feedback" / valid_batch_id(batch)


def all_tables() -> list[tuple[str, str]]:
    from jobs.batch_log import SCHEMA, TABLE
    from jobs.library import CONFLICTS
    from schemas.datasets import GOVERNANCE, QUARANTINE

    names = [("silver", QUARANTINE), (SCHEMA, TABLE), (GOVERNANCE, CONFLICTS)]
    for c in load_contracts().values():
        names += [("bronze", c.key), ("silver", c.key), ("gold", c.target.table)]
    names += [("gold", lib.table) for lib in load_libraries().values()]
    return names


def register_all() -> list[str]:
    from catalog.trino_tables import register

    return register(all_tables())


def run(batch: str, timer: Timer = _noop, trino: bool = True) -> dict[str, Any]:
    batch = valid_batch_id(batch)
    feeds = run_feeds(batch, timer)
    libraries = build_libraries(batch, timer)
    registered = []
    if trino:
        t = time.monotonic()
        registered = register_all()
        timer("trino", time.monotonic() - t, len(registered))
    return {"feeds": feeds, "libraries": libraries, "registered": registered}
