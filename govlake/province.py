"""The province end to end in one process: every feed's stages (govlake.runner, the same stage list the
feed DAGs are made of, quality gates included), then the libraries (golden records with history,
verification conflicts, themes), the per-department feedback report and the Trino registration. Used by
`govlake province run`, the tests and the benchmark; Airflow runs the same steps through the feed DAGs
and the library DAGs (govlake/library_dags.py). A feed the gate stops keeps its earlier gold; the
libraries are built from what gold holds."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from catalog.trino_tables import register
from govlake import gates, runner
from govlake.results import BatchState, LibraryResult, ProvinceRun
from govlake.runner import Timer, no_timer
from infra.settings import settings
from jobs import batch_log, tables
from jobs.feedback import write_feedback
from jobs.library import CONFLICTS, build_library
from jobs.spark import get_spark
from jobs.theme import build_theme
from schemas.contracts import batch_id as valid_batch_id
from schemas.contracts import load_contracts
from schemas.datasets import GOLD, GOVERNANCE, Table, feed_tables
from schemas.libraries import GoldenLibrary, Library, ThemeTable, load_libraries


def run_feed(feed: str, batch: str, timer: Timer = no_timer) -> BatchState:
    return runner.run_feed(feed, batch, timer)


def build_one(lib: Library, batch: str) -> LibraryResult:
    spark, started, feed = get_spark(), dt.datetime.now(), f"library__{lib.table}"
    if isinstance(lib, ThemeTable):
        rows = build_theme(spark, lib)
        result = LibraryResult(table=lib.table, kind="theme", rows=rows)
        entry = batch_log.entry(feed, batch, "theme", "ok", started, rows_out=rows)
    else:
        r = build_library(spark, lib, load_contracts(), batch)
        result = LibraryResult(
            table=lib.table, kind="golden", rows=r.subjects, inserted=r.inserted, closed=r.closed,
            conflicts=r.conflicts, version=r.version,
        )  # fmt: skip
        message = f"{r.conflicts} verification conflicts"
        entry = batch_log.entry(
            feed, batch, "library", "ok", started, message, rows_out=r.subjects, inserted=r.inserted,
            updated=r.closed,
        )  # fmt: skip
    batch_log.record(spark, entry)
    return result


def feedback_dir(batch: str) -> Path:
    return settings().home / "reports" / "feedback" / valid_batch_id(batch)


def write_feedback_report(batch: str) -> dict[str, int]:
    return write_feedback(get_spark(), feedback_dir(batch), batch)


def build_libraries(batch: str, timer: Timer = no_timer) -> tuple[dict[str, LibraryResult], dict[str, int]]:
    """Every library in contract order, then the feedback report; the builds and the conflicts fed back."""
    out = {}
    for name, lib in load_libraries().items():
        t = time.monotonic()
        out[name] = build_one(lib, batch)
        timer("library" if isinstance(lib, GoldenLibrary) else "theme", time.monotonic() - t, out[name].rows)
    t = time.monotonic()
    feedback = write_feedback_report(batch)
    timer("feedback", time.monotonic() - t, sum(feedback.values()))
    return out, feedback


def all_tables() -> list[Table]:
    names = [Table(GOVERNANCE, batch_log.TABLE), Table(GOVERNANCE, CONFLICTS)]
    for c in load_contracts().values():
        names += [t for t in feed_tables(c).all() if t not in names]
    names += [Table(GOLD, lib.table) for lib in load_libraries().values()]
    return names


def register_all(written_only: bool = False) -> list[str]:
    """Register the platform's tables in Trino; `written_only`: only those already written (a library DAG
    on an installation where some feeds have not delivered yet)."""
    spark = get_spark() if written_only else None
    return register([(t.schema, t.name) for t in all_tables() if spark is None or tables.exists(spark, t)])


def run(batch: str, timer: Timer = no_timer, trino: bool = True) -> ProvinceRun:
    batch = valid_batch_id(batch)
    with gates.reports_deferred():
        feeds = runner.run_feeds(batch, timer)
    libraries, feedback = build_libraries(batch, timer)
    registered = []
    if trino:
        t = time.monotonic()
        registered = register_all()
        timer("trino", time.monotonic() - t, len(registered))
    return ProvinceRun(
        feeds=feeds.done, blocked=feeds.blocked, rejected=feeds.rejected, missing=feeds.missing,
        libraries=libraries, feedback=feedback, registered=registered,
    )  # fmt: skip
