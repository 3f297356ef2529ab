"""The same feed and batch started twice at once: one run does the work, the other waits for the batch's
lock, finds the batch worked on meanwhile and ends saying so; no row lands twice (govlake.batch_claim)."""

from __future__ import annotations

import threading
import time

import pytest
from threads import at_once

from govlake import batch_claim, runner
from infra.settings import settings
from jobs import tables
from schemas.contracts import get_contract
from schemas.datasets import feed_tables
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")
BATCH, PERSONS = "20261105", 120


@pytest.fixture(scope="module")
def spark():
    from jobs.spark import get_spark, stop_spark

    yield get_spark("govlake-tests")
    stop_spark()


def test_claim_waits_for_its_holder_and_is_reentrant(fresh_home):
    order, held = [], threading.Event()

    def holder():
        with batch_claim.claim("unit__feed", "b1") as waited, batch_claim.claim("unit__feed", "b1") as again:
            assert waited is None and again is None  # free, then nested in the same thread
            held.set()
            time.sleep(0.3)
            order.append("holder done")

    def waiter():
        held.wait()
        with batch_claim.claim("unit__feed", "b1") as waited:
            order.append(("waiter", waited is not None))

    at_once(holder, waiter)
    assert order == ["holder done", ("waiter", True)]
    with batch_claim.claim("unit__feed", "b2") as other:  # another batch is another lock
        assert other is None


def test_same_batch_twice_at_once_is_worked_on_once(spark, fresh_home):
    write_delivery(CONTRACT, settings().landing, BATCH, population(5, PERSONS), defect_rate=0.0)
    states = []

    def run():
        states.append(runner.run_feed(CONTRACT.key, BATCH, gated=False))

    at_once(run, run)
    taken = [s for s in states if s.taken]
    assert len(taken) == 1 and "left to that run" in (taken[0].taken or ""), states
    done = next(s for s in states if not s.taken)
    assert done.bronze and done.bronze.rows == PERSONS and done.gold and done.gold.inserted == PERSONS
    t = feed_tables(CONTRACT)
    counts = {
        layer: spark.read.format("delta").load(tables.table_path(table)).count()
        for layer, table in (("bronze", t.bronze), ("silver", t.silver), ("gold", t.gold))
    }
    assert counts == {"bronze": PERSONS, "silver": PERSONS, "gold": PERSONS}
