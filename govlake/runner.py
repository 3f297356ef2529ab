"""The local runner: a feed's stages (govlake.stages, the same list the feed DAGs are made of) in one
process, one Spark session. A batch the quality gate stops is reported, and the other feeds go on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from govlake import batch_claim, pipeline, stages
from govlake.batch_claim import BatchTaken
from govlake.results import BatchState
from infra.settings import settings
from jobs.preflight import DeliveryRejected, batch_dir
from schemas.contracts import load_contracts
from schemas.quality import QualityGateFailed

Timer = Callable[[str, float, int], None]  # stage, seconds, rows


def no_timer(stage: str, seconds: float, rows: int) -> None:
    return None


def run_feed(
    feed: str, batch: str | None, timer: Timer = no_timer, gated: bool = True, serving: bool = False
) -> BatchState:
    """Every stage of one feed's batch, in order, holding the batch's lock; raises QualityGateFailed
    where the gate stops it. If another run of the batch held the lock and worked on the batch meanwhile,
    returns at once, the state's `taken` saying so."""
    selected = stages.select(gated, serving)
    state = stages.with_batch(pipeline.start(feed, batch))
    with batch_claim.claim(state.feed, state.batch) as waited:  # the whole run: one run of a batch at once
        if waited is not None:
            try:
                stages.check_not_taken(state, waited)
            except BatchTaken as exc:
                print(exc, flush=True)
                return state.with_(taken=str(exc))
        for i, stage in enumerate(selected):
            after = selected[i + 1] if i + 1 < len(selected) else None
            if after is not None and after.prepare is not None:
                after.prepare()
            t = time.monotonic()
            state = stage.run(state)
            timer(stage.name, time.monotonic() - t, stage.rows(state))
    return state


@dataclass
class FeedsRun:
    """The feeds that went through, those the quality gate stopped or preflight rejected (with why), and
    those that delivered nothing for the batch."""

    done: dict[str, BatchState] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def run_feeds(batch: str, timer: Timer = no_timer, gated: bool = True) -> FeedsRun:
    """Every feed that delivered the batch; one feed's stop does not stop the others."""
    out, landing = FeedsRun(), settings().landing
    for name, contract in load_contracts().items():
        if not batch_dir(landing, contract, batch).is_dir():
            out.missing.append(name)
            continue
        try:
            out.done[name] = run_feed(name, batch, timer, gated)
        except QualityGateFailed as exc:
            out.blocked[name] = str(exc)
        except DeliveryRejected as exc:
            out.rejected[name] = str(exc)
    return out
