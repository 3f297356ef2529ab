"""Issue 20, case 7: eight departments query their share views through Trino while the household feed
publishes a batch to the gold table behind them: from its gold MERGE's start until a few seconds after
its commit (bounded: 60 s, loopback). Every answer is the department's count at one Delta version of gold
(never a torn read), no query errs, and p50 / p95 latency are printed. Runs after test_share.py (file
order): it publishes into the session's gold table."""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from pathlib import Path

import pyarrow.compute as pc
import yaml
from deltalake import DeltaTable
from trino_users import as_user

from catalog import shares
from govlake import pipeline
from infra.settings import settings
from schemas.contracts import get_contract
from schemas.datasets import GOLD
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")
BATCH, SEED, PERSONS = "20261206", 7, 1500  # after every household batch of the session
READERS = {  # department → its city (row scope)
    "civil_affairs": "4201", "taxation": "4202", "hrss": "4203", "health": "4205",
    "education": "4206", "market_regulation": "4207", "justice": "4208", "statistics": "4209",
}  # fmt: skip
BOUND_SECONDS, AFTER_COMMIT_SECONDS = 60.0, 3.0


def _request(department: str, city: str) -> dict:
    return {
        "id": f"load_{department}", "requester": department, "resource": "GA-002",
        "columns": ["resident_id", "name", "admin_code"], "purpose": "并发读取核验",
        "legal_basis": "《政务数据共享管理办法》", "row_scope": {"column": "admin_code", "prefix": city},
        "submitted": "2026-11-20", "expires": "2027-12-31",
    }  # fmt: skip


def _provision(root: Path) -> None:
    requests = root / "requests"
    requests.mkdir()
    for department, city in READERS.items():
        body = _request(department, city)
        (requests / f"{body['id']}.yaml").write_text(yaml.safe_dump(body, allow_unicode=True))
    _, _, views = shares.run(dt.date(2026, 11, 23), True, requests, root / "approvals")
    assert sorted(views["created"]) == sorted(f"lake.share_{d}.load_{d}" for d in READERS)


def _publish(reading: threading.Event, published: threading.Event, errors: list[str]) -> None:
    """Moves change rows, newcomers change counts; the readers start as the gold MERGE does."""
    try:
        people = population(SEED, PERSONS, moved_fraction=0.05) + population(101, 150)
        write_delivery(CONTRACT, settings().landing, BATCH, people, 0.0, None, SEED)
        state = pipeline.preflight(CONTRACT.key, BATCH)
        state = pipeline.silver(pipeline.bronze(state))
        reading.set()
        pipeline.gold(state)
    except Exception as exc:  # the test reports it
        errors.append(f"publisher: {exc!r}")
    finally:
        reading.set()
        published.set()


def _read(department: str, until: threading.Event, seen: list, errors: list[str]) -> None:
    statement = f"SELECT count(*) FROM lake.share_{department}.load_{department}"
    while not until.is_set():
        t0 = time.perf_counter()
        try:
            seen.append((department, as_user(department, statement)[0][0], time.perf_counter() - t0))
        except Exception as exc:  # every error counts against the test
            errors.append(f"{department}: {exc!r}")


def _counts_per_version(first: int) -> dict[str, set[int]]:
    """Each department's row count at every gold version from `first` on, read by delta-rs."""
    location = settings().table_uri(GOLD, CONTRACT.target.table).removeprefix("file:")
    latest = DeltaTable(location).version()
    counts: dict[str, set[int]] = {d: set() for d in READERS}
    for version in range(first, latest + 1):
        codes = DeltaTable(location, version=version).to_pyarrow_table(columns=["admin_code"])["admin_code"]
        for department, city in READERS.items():
            counts[department].add(pc.sum(pc.starts_with(codes, pattern=city)).as_py() or 0)
    return counts


def test_eight_departments_read_consistent_versions_while_a_feed_publishes(tmp_path, trino_server, capsys):
    _provision(tmp_path)
    first = DeltaTable(settings().table_uri(GOLD, CONTRACT.target.table).removeprefix("file:")).version()
    seen: list[tuple[str, int, float]] = []
    errors: list[str] = []
    reading, published, stop = threading.Event(), threading.Event(), threading.Event()
    publisher = threading.Thread(target=_publish, args=(reading, published, errors))
    publisher.start()
    reading.wait(300)
    began = time.monotonic()
    readers = [threading.Thread(target=_read, args=(d, stop, seen, errors)) for d in READERS]
    for reader in readers:
        reader.start()
    published.wait(BOUND_SECONDS - AFTER_COMMIT_SECONDS)
    time.sleep(AFTER_COMMIT_SECONDS)  # answers after the commit, too
    stop.set()
    for reader in readers:
        reader.join()
    publisher.join(300)
    assert published.is_set() and time.monotonic() - began <= BOUND_SECONDS + 30, "gold did not publish"
    assert errors == []
    counts = _counts_per_version(first)
    assert any(len(versions) >= 2 for versions in counts.values())  # the MERGE changed what they read
    torn = [(d, n) for d, n, _ in seen if n not in counts[d]]
    assert torn == [], f"answers matching no version of gold: {torn[:5]}"
    assert {d for d, _, _ in seen} == set(READERS)
    latency = sorted(t for _, _, t in seen)
    p50, p95 = statistics.median(latency), latency[int(0.95 * (len(latency) - 1))]
    with capsys.disabled():
        print(f"\n{len(seen)} share-view queries by {len(READERS)} departments while gold was published, "
              f"0 errors: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")  # fmt: skip
