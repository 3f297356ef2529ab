"""Expected arrivals: each feed that declares its update frequency (`arrival:` in its contract,
schemas/arrival.py) gets an `arrival__<feed>` DAG whose runs fall on the deadlines. A run checks that a
delivery landed (its `_delivery.json` written) in its period, from the deadline before to this one; if none
did, the run fails naming the feed, the deadline and the latest delivery, and the alert is appended to
`<home>/alerts/late_deliveries.jsonl`. `govlake arrivals` shows the same for every feed now.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.timetables.interval import CronDataIntervalTimetable
from croniter import croniter

from catalog.engine import is_working_day
from govlake.delivery_watch import MANIFEST, landing_dir
from infra.settings import Settings, settings
from schemas.arrival import Arrival
from schemas.contracts import FeedContract, load_contracts


def arrivals_log(s: Settings) -> Path:
    return s.home / "alerts" / "late_deliveries.jsonl"


def landed_at(contract: FeedContract, s: Settings) -> dict[str, dt.datetime]:
    """batch id → when its delivery landed (its manifest's modification time, UTC)."""
    root = landing_dir(contract, s)
    found = {}
    for folder in root.iterdir() if root.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.is_dir() and not folder.is_symlink() and manifest.is_file() and not manifest.is_symlink():
            found[folder.name] = dt.datetime.fromtimestamp(manifest.stat().st_mtime, dt.UTC)
    return found


def verdict(contract: FeedContract, start: dt.datetime, end: dt.datetime, s: Settings) -> dict[str, Any]:
    """Whether the delivery due at `end` landed in (start, end]: {feed, due, landed, late, latest}."""
    arrival = contract.arrival
    assert arrival is not None
    landed = landed_at(contract, s)
    in_period = sorted(b for b, when in landed.items() if start < when <= end)
    latest = max(landed.items(), key=lambda kv: kv[1], default=None)
    local_due = end.astimezone(ZoneInfo(arrival.timezone))
    return {
        "feed": f"{contract.department}/{contract.feed}",
        "due": local_due.isoformat(),
        "expected": arrival.summary,
        "landed": in_period,
        "late": not in_period and _due_on(arrival, local_due.date()),
        "latest": {"batch_id": latest[0], "landed": latest[1].isoformat()} if latest else None,
    }


def _due_on(arrival: Arrival, day: dt.date) -> bool:
    return not (arrival.every == "day" and arrival.workdays_only and not is_working_day(day))


def alert(found: dict[str, Any], s: Settings) -> str:
    """Append a late delivery's alert; the line the failing run reports."""
    path = arrivals_log(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({**found, "alerted": dt.datetime.now(dt.UTC).isoformat()}, ensure_ascii=False))
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    latest = found["latest"]
    since = f"latest: {latest['batch_id']} landed {latest['landed']}" if latest else "nothing has landed yet"
    return f"{found['feed']}: no delivery by {found['due']} ({found['expected']}); {since}"


def current(contract: FeedContract, now: dt.datetime, s: Settings) -> dict[str, Any]:
    """The verdict on the feed's latest deadline at `now`."""
    assert contract.arrival is not None
    return verdict(contract, *last_period(contract.arrival, now), s)


def _timetable(arrival: Arrival) -> CronDataIntervalTimetable:
    return CronDataIntervalTimetable(arrival.cron, timezone=arrival.timezone)


def last_period(arrival: Arrival, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(the deadline before, the latest deadline at or before `now`), in UTC: what Airflow's run for that
    deadline checks (its data interval)."""
    local = dt.datetime.fromtimestamp(now.timestamp(), ZoneInfo(arrival.timezone))  # a plain datetime:
    # croniter miscomputes with pendulum's (Airflow's context dates), e.g. 16:00 for a 08:00 deadline
    end = croniter(arrival.cron, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
    start = croniter(arrival.cron, end).get_prev(dt.datetime)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def arrival_dag(contract: FeedContract) -> DAG:
    assert contract.arrival is not None

    @dag(
        dag_id=f"arrival__{contract.key}",
        description=f"{contract.department_name} {contract.title}: due {contract.arrival.summary}",
        schedule=_timetable(contract.arrival),
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["arrival", contract.department],
        default_args={"owner": contract.department, "retries": 0},
    )
    def _arrival() -> None:
        @task
        def check(data_interval_end: Any = None) -> dict[str, Any]:
            # The period from the deadline this run falls on, not the run's data interval: Airflow 3 may
            # give a scheduled run of a cron timetable an interval of no length.
            assert contract.arrival is not None
            found = verdict(contract, *last_period(contract.arrival, data_interval_end), settings())
            if found["late"]:
                raise AirflowFailException(alert(found, settings()))
            if not found["landed"]:
                raise AirflowSkipException(f"no delivery due by {found['due']} (not a working day)")
            return found

        check()

    return _arrival()


def build_arrival_dags() -> dict[str, DAG]:
    return {f"arrival__{c.key}": arrival_dag(c) for c in load_contracts().values() if c.arrival}
