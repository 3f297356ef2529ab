"""The one ordered list of a feed's stages. The Airflow DAG factory (govlake.dag_factory) makes a task of
each; the local runner (govlake.runner) calls them in the same order in one process.

    preflight → bronze → silver → quality_gate → gold → quality_gold → trino
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from govlake import batch_claim, gates, pipeline
from govlake.batch_claim import BatchTaken
from govlake.results import BatchState
from jobs import batch_log
from jobs.spark import get_spark
from schemas.contracts import get_contract
from schemas.datasets import FeedTables, Table

StageFn = Callable[[BatchState], BatchState]


@dataclass(frozen=True)
class Stage:
    name: str  # the Airflow task id
    run: StageFn
    inlets: Callable[[FeedTables], list[Table]] = lambda tables: []
    outlets: Callable[[FeedTables], list[Table]] = lambda tables: []
    quality: bool = False  # a quality stage (left out of ungated runs, e.g. the benchmark's baseline)
    serving: bool = False  # makes tables queryable (the province registers every table once instead)
    prepare: Callable[[], None] | None = None  # warms up the stage while the stage before it runs
    # Its Spark jobs get a session of their own naming its task as lineage parent. The quality stages write
    # only the scorecard; they keep the session of the stage before, and so its cached batch.
    own_spark_session: bool = True
    rows: Callable[[BatchState], int] = lambda state: 0  # rows it handled, for timers


def _lines(state: BatchState) -> int:
    return state.preflight.lines if state.preflight else 0


def _appended(state: BatchState) -> int:
    return state.bronze.rows if state.bronze else 0


def _refined(state: BatchState) -> int:
    return state.silver.rows_in if state.silver else 0


def _published(state: BatchState) -> int:
    return state.silver.rows_out if state.silver else 0


STAGES: tuple[Stage, ...] = (
    Stage("preflight", pipeline.preflight, rows=_lines),
    Stage("bronze", pipeline.bronze, outlets=lambda t: [t.bronze], rows=_appended),
    Stage("silver", pipeline.silver, inlets=lambda t: [t.bronze], outlets=lambda t: [t.silver, t.quarantine],
          rows=_refined),
    Stage("quality_gate", gates.quality_gate, quality=True, prepare=gates.prepare, own_spark_session=False,
          rows=_refined),
    Stage("gold", pipeline.gold, inlets=lambda t: [t.silver], outlets=lambda t: [t.gold], rows=_published),
    Stage("quality_gold", gates.quality_gold, quality=True, own_spark_session=False, rows=_published),
    Stage("trino", pipeline.register_in_trino, serving=True),
)  # fmt: skip


def select(gated: bool = True, serving: bool = True) -> tuple[Stage, ...]:
    """The stages to run: all of them, or without the quality stages or the Trino registration."""
    return tuple(s for s in STAGES if (gated or not s.quality) and (serving or not s.serving))


def with_batch(state: BatchState) -> BatchState:
    """The state with its batch named: a run that names none takes the latest delivery (as preflight)."""
    if state.batch_id is not None:
        return state
    return state.with_(batch_id=pipeline.latest_batch(get_contract(state.feed)))


def check_not_taken(state: BatchState, waited_since: dt.datetime) -> None:
    """BatchTaken if another run logged a stage of this batch while this one waited for its lock."""
    logged = batch_log.logged_since(get_spark(), get_contract(state.feed).key, state.batch, waited_since)
    if logged:
        raise BatchTaken(
            f"{state.feed} batch {state.batch}: another run of it worked on it meanwhile "
            f"({', '.join(logged)}); left to that run"
        )


def run_claimed(stage: Stage, state: BatchState) -> BatchState:
    """`stage.run(state)` holding the batch's lock (govlake.batch_claim): two runs of one batch never run
    a stage of it at once; a run that waited while another logged a stage of it stops (BatchTaken)."""
    state = with_batch(state)
    with batch_claim.claim(get_contract(state.feed).key, state.batch) as waited:  # feed: key or dept/feed
        if waited is not None:
            check_not_taken(state, waited)
        return stage.run(state)
