"""Feeds start themselves: a delivery whose `_delivery.json` has landed (providers write it last) starts its
feed's DAG through Airflow 3's event-driven scheduling.

Each feed DAG is scheduled on its landing Asset (`delivery://<department>/<feed>`), watched by a
DeliveryTrigger in the triggerer. The trigger fires once per delivery (and again when its manifest changes:
a corrected re-delivery), in batch order, and remembers what it announced under
`<home>/airflow/announced/<feed>/`, so a restarted triggerer announces nothing twice. Its first watch takes
what already landed as history (run those with `govlake run`).

Airflow folds the events that arrive while a run is busy into the next run, so a run takes the earliest
batch its events name (`batch_to_run`) and hands the rest on as an event of its own (`still_waiting`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from infra.settings import Settings, settings
from schemas.contracts import FeedContract, get_contract

MANIFEST = "_delivery.json"
POKE_SECONDS = 5.0


def landing_dir(contract: FeedContract, s: Settings) -> Path:
    return s.landing / contract.department / contract.feed


def announced_dir(contract: FeedContract, s: Settings) -> Path:
    return s.airflow_home / "announced" / contract.key


def _taken_beside(announced: Path) -> Path:
    return announced.parent.parent / "taken" / announced.name


def landed(contract: FeedContract, landing: Path) -> list[tuple[str, str]]:
    """(batch id, manifest sha256) of each complete delivery, in the contract's batch order; folders that
    are links, lack a manifest or break the batch order are not (yet) deliveries."""
    found = []
    for folder in landing.iterdir() if landing.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.is_symlink() or not folder.is_dir() or manifest.is_symlink() or not manifest.is_file():
            continue
        try:
            key = contract.batch_order.key(folder.name)
        except ValueError:
            continue
        found.append((key, folder.name, hashlib.sha256(manifest.read_bytes()).hexdigest()))
    return [(batch, digest) for _, batch, digest in sorted(found)]


def unannounced(contract: FeedContract, landing: Path, announced: Path) -> list[tuple[str, str]]:
    marker = announced.joinpath
    return [(b, d) for b, d in landed(contract, landing) if _read(marker(b)) != d]


def baseline(contract: FeedContract, landing: Path, announced: Path) -> int:
    """Record every delivery already landed as announced and taken (the watcher's first start): history
    waits for no run; how many."""
    old = landed(contract, landing)
    staging, taken = announced.with_name(announced.name + ".new"), _taken_beside(announced)
    staging.mkdir(parents=True, exist_ok=True)
    taken.mkdir(parents=True, exist_ok=True)
    for batch, digest in old:
        (taken / batch).write_text(digest)
        (staging / batch).write_text(digest)
    staging.rename(announced)
    return len(old)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


class DeliveryTrigger(BaseEventTrigger):
    """Fires `{"feed", "batch_id", "manifest_sha256"}` for each delivery that lands in a feed's folder."""

    def __init__(self, feed: str, landing: str, announced: str, poke_interval: float = POKE_SECONDS) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.feed, self.landing, self.announced = feed, landing, announced
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{__name__}.DeliveryTrigger",
            {"feed": self.feed, "landing": self.landing, "announced": self.announced,
             "poke_interval": self.poke_interval},
        )  # fmt: skip

    async def run(self) -> AsyncIterator[TriggerEvent]:
        contract, announced = get_contract(self.feed), Path(self.announced)
        if not announced.is_dir():  # the first watch: what landed before it is history, not news
            old = await asyncio.to_thread(baseline, contract, Path(self.landing), announced)
            self.log.info("watching %s; %d earlier deliveries left to `govlake run`", self.landing, old)
        while True:
            news = await asyncio.to_thread(unannounced, contract, Path(self.landing), announced)
            for batch, digest in news:
                self.log.info("delivery %s/%s landed (manifest %s)", self.feed, batch, digest[:12])
                payload = {"feed": self.feed, "batch_id": batch, "manifest_sha256": digest}
                yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
                announced.mkdir(parents=True, exist_ok=True)
                (announced / batch).write_text(digest)
            await asyncio.sleep(self.poke_interval)


def landing_asset(contract: FeedContract, s: Settings | None = None) -> Asset:
    """The feed's landing folder as an Asset, watched for deliveries by the triggerer."""
    s = s or settings()
    trigger = DeliveryTrigger(contract.key, str(landing_dir(contract, s)), str(announced_dir(contract, s)))
    return Asset(
        name=f"landing.{contract.key}",
        uri=f"delivery://{contract.department}/{contract.feed}",
        group="landing",
        watchers=[AssetWatcher(name=f"deliveries.{contract.key}", trigger=trigger)],
    )


def taken_dir(contract: FeedContract, s: Settings) -> Path:
    return _taken_beside(announced_dir(contract, s))


def _digest(folder: Path) -> str | None:
    try:
        return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        return None


def waiting(contract: FeedContract, s: Settings, named: Iterable[str] = ()) -> list[str]:
    """Deliveries announced (or named by an event) that no run has taken in their current version, in
    batch order."""
    landing, taken = landing_dir(contract, s), taken_dir(contract, s)
    announced = announced_dir(contract, s)
    candidates = {p.name for p in announced.iterdir()} if announced.is_dir() else set()
    ordered = []
    for batch in candidates | set(named):
        try:
            key = contract.batch_order.key(batch)
        except ValueError:
            continue  # not a batch id of this feed (preflight would refuse it; nobody announces one)
        current = _digest(landing / batch)
        if current is not None and _read(taken / batch) != current:
            ordered.append((key, batch))
    return [b for _, b in sorted(ordered)]


def take(contract: FeedContract, batch: str, s: Settings) -> None:
    """Record that a run took this version of the delivery (a corrected manifest makes it wait again)."""
    contract.batch_order.key(batch)  # ValueError unless a batch id of this feed (never a path)
    current = _digest(landing_dir(contract, s) / batch)
    if current is not None:
        taken = taken_dir(contract, s)
        taken.mkdir(parents=True, exist_ok=True)
        (taken / batch).write_text(current)


def _named_batches(triggering: Mapping[Any, Iterable[Any]] | None) -> set[str]:
    """Batch ids in a run's asset events: a trigger's `payload.batch_id`, or a run's `batch_ids`."""
    named: set[str] = set()
    for events in (triggering or {}).values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            payload = extra.get("payload") or {}
            if isinstance(payload, dict) and isinstance(payload.get("batch_id"), str):
                named.add(payload["batch_id"])
            named.update(b for b in extra.get("batch_ids") or [] if isinstance(b, str))
    return named


def batch_to_run(contract: FeedContract, triggering: Mapping[Any, Iterable[Any]] | None) -> str | None:
    """The earliest delivery waiting, taken for this run. Events only wake the feed up: Airflow gives a run
    the events up to when it was queued, so one that lands meanwhile may reach only a later run."""
    s = settings()
    pending = waiting(contract, s, _named_batches(triggering))
    if not pending:
        return None
    take(contract, pending[0], s)
    return pending[0]


def still_waiting(contract: FeedContract) -> list[str]:
    return waiting(contract, settings())
