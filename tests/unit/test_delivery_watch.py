"""The delivery watcher: what counts as landed, what is announced once, which batch a run takes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from govlake import delivery_watch as w
from infra.settings import settings
from schemas.contracts import get_contract

CONTRACT = get_contract("public_security/household_register")  # batch_order: date


def _land(batch: str, manifest: str = '{"files": []}', complete: bool = True) -> Path:
    folder = w.landing_dir(CONTRACT, settings()) / batch
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text("x\n")
    if complete:
        (folder / w.MANIFEST).write_text(manifest)
    return folder


@pytest.fixture(autouse=True)
def fresh(fresh_home):
    return fresh_home


def _events(*batches: str, handed_on: list[str] | None = None) -> dict:
    events = [SimpleNamespace(extra={"from_trigger": True, "payload": {"batch_id": b}}) for b in batches]
    if handed_on:
        events.append(SimpleNamespace(extra={"batch_ids": handed_on}))
    return {"landing": events}


def test_only_complete_deliveries_in_batch_order_count_as_landed():
    _land("20261103")
    _land("20261101")
    _land("20261102", complete=False)  # its manifest is not written yet
    _land("not-a-date")
    link = w.landing_dir(CONTRACT, settings()) / "20261104"
    link.symlink_to(_land("20261101"))
    assert [b for b, _ in w.landed(CONTRACT, w.landing_dir(CONTRACT, settings()))] == ["20261101", "20261103"]


def _announce_once() -> list[dict]:
    """The events one poll of the trigger yields."""
    s = settings()
    landing, announced = w.landing_dir(CONTRACT, s), w.announced_dir(CONTRACT, s)
    trigger = w.DeliveryTrigger(CONTRACT.key, str(landing), str(announced))

    async def first_poll() -> list[dict]:
        got, runner = [], trigger.run()
        try:
            while True:
                got.append((await asyncio.wait_for(runner.__anext__(), 0.5)).payload)
        except TimeoutError:
            return got
        finally:
            await runner.aclose()

    return asyncio.run(first_poll())


def test_the_first_watch_takes_what_landed_as_history_then_announces_each_delivery_once():
    _land("20261101")
    assert _announce_once() == []  # landed before the watch began
    assert w.still_waiting(CONTRACT) == [] and w.batch_to_run(CONTRACT, _events()) is None  # no run takes it
    _land("20261103")
    _land("20261102")
    events = _announce_once()
    assert [e["batch_id"] for e in events] == ["20261102", "20261103"]
    assert _announce_once() == []  # a restarted triggerer announces nothing twice
    _land("20261102", manifest='{"files": [], "corrected": true}')  # a corrected re-delivery
    assert [e["batch_id"] for e in _announce_once()] == ["20261102"]


def test_a_run_takes_the_earliest_waiting_delivery_and_hands_the_rest_on():
    _announce_once()  # the watch's baseline: nothing yet
    for batch in ("20261102", "20261101", "20261103"):
        _land(batch)
    _announce_once()
    # Airflow gave this run only the event of the last delivery; it still takes the earliest waiting one
    assert w.batch_to_run(CONTRACT, _events("20261103")) == "20261101"
    assert w.still_waiting(CONTRACT) == ["20261102", "20261103"]
    assert w.batch_to_run(CONTRACT, _events(handed_on=["20261102", "20261103"])) == "20261102"
    assert w.batch_to_run(CONTRACT, _events("20261103")) == "20261103"
    assert w.batch_to_run(CONTRACT, _events("20261103")) is None  # a late event: nothing waits
    assert w.still_waiting(CONTRACT) == []


def test_a_named_but_unannounced_delivery_is_taken_and_bad_names_are_ignored():
    _announce_once()
    _land("20261105")  # the trigger fired but died before writing its marker
    assert w.batch_to_run(CONTRACT, _events("20261105", "../../etc", "20269999")) == "20261105"
    with pytest.raises(ValueError, match="does not follow"):
        w.take(CONTRACT, "../escape", settings())
