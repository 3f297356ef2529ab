"""A contract's update frequency as deadlines: the period each deadline covers, late or on time, the alert."""

from __future__ import annotations

import datetime as dt
import json
import os
from zoneinfo import ZoneInfo

import pytest

from govlake import arrivals
from govlake.delivery_watch import MANIFEST, landing_dir
from infra.settings import settings
from schemas.arrival import Arrival
from schemas.contracts import get_contract, load_contracts

CST = ZoneInfo("Asia/Shanghai")
WATER = get_contract("water/water_quality")  # every day by 08:00
HOUSEHOLD = get_contract("public_security/household_register")  # every working day by 06:00


@pytest.fixture(autouse=True)
def fresh(fresh_home):
    return fresh_home


def _land(contract, batch: str, when: dt.datetime) -> None:
    folder = landing_dir(contract, settings()) / batch
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text("{}")
    os.utime(folder / MANIFEST, (when.timestamp(), when.timestamp()))


@pytest.mark.parametrize(
    ("arrival", "cron"),
    [
        ({"every": "day", "by": "08:00"}, "0 8 * * *"),
        ({"every": "week", "weekday": 7, "by": "17:30"}, "30 17 * * 0"),
        ({"every": "month", "day": 5}, "0 9 5 * *"),
        ({"every": "quarter", "day": 10}, "0 9 10 1,4,7,10 *"),
        ({"every": "year"}, "0 9 1 1 *"),
    ],
)
def test_each_frequency_becomes_its_deadlines(arrival, cron):
    assert Arrival.model_validate(arrival).cron == cron


def test_a_bad_frequency_or_zone_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="every"):
        Arrival.model_validate({"every": "fortnight"})
    with pytest.raises(ValueError, match="unknown time zone"):
        Arrival.model_validate({"every": "day", "timezone": "Mars/Olympus"})


def test_the_latest_deadline_and_the_one_before_bound_the_period():
    now = dt.datetime(2026, 12, 5, 7, 59, tzinfo=CST)  # a minute before today's deadline
    start, end = arrivals.last_period(WATER.arrival, now)
    assert (start.astimezone(CST), end.astimezone(CST)) == (
        dt.datetime(2026, 12, 3, 8, tzinfo=CST), dt.datetime(2026, 12, 4, 8, tzinfo=CST)
    )  # fmt: skip
    assert arrivals.last_period(WATER.arrival, dt.datetime(2026, 12, 5, 8, tzinfo=CST))[1] == dt.datetime(
        2026, 12, 5, 8, tzinfo=CST
    )


def test_the_period_of_an_airflow_context_date_is_the_same():
    import pendulum  # what Airflow hands a task as data_interval_end

    deadline = pendulum.datetime(2026, 12, 4, 0, 0, tz="UTC")  # 08:00 in Shanghai
    start, end = arrivals.last_period(WATER.arrival, deadline)
    assert (start, end) == (dt.datetime(2026, 12, 3, tzinfo=dt.UTC), dt.datetime(2026, 12, 4, tzinfo=dt.UTC))


def test_a_delivery_in_the_period_is_on_time_and_none_is_late_with_an_alert():
    start, end = dt.datetime(2026, 12, 3, 8, tzinfo=CST), dt.datetime(2026, 12, 4, 8, tzinfo=CST)
    _land(WATER, "20261202", dt.datetime(2026, 12, 2, 23, tzinfo=CST))  # the period before
    late = arrivals.verdict(WATER, start, end, settings())
    assert late["late"] and late["landed"] == [] and late["latest"]["batch_id"] == "20261202"
    message = arrivals.alert(late, settings())
    assert message.startswith("water/water_quality: no delivery by 2026-12-04T08:00:00+08:00")
    assert "latest: 20261202" in message
    logged = [json.loads(line) for line in arrivals.arrivals_log(settings()).read_text().splitlines()]
    assert [(a["feed"], a["due"]) for a in logged] == [("water/water_quality", "2026-12-04T08:00:00+08:00")]

    _land(WATER, "20261203", dt.datetime(2026, 12, 4, 7, 59, tzinfo=CST))
    on_time = arrivals.verdict(WATER, start, end, settings())
    assert not on_time["late"] and on_time["landed"] == ["20261203"]


def test_a_working_days_feed_is_not_due_on_a_public_holiday():
    holiday = dt.datetime(2026, 10, 1, 6, tzinfo=CST)  # 国庆节
    workday = dt.datetime(2026, 10, 9, 6, tzinfo=CST)  # a Friday after the Golden Week
    day = dt.timedelta(days=1)
    assert not arrivals.verdict(HOUSEHOLD, holiday - day, holiday, settings())["late"]
    assert arrivals.verdict(HOUSEHOLD, workday - day, workday, settings())["late"]


def test_govlake_arrivals_lists_every_feed_and_exits_1_when_one_is_late(capsys):
    from govlake.cli import main

    _, due = arrivals.last_period(WATER.arrival, dt.datetime.now(dt.UTC))
    _land(WATER, due.astimezone(CST).strftime("%Y%m%d"), due - dt.timedelta(minutes=1))  # just in time
    code = main(["arrivals"])
    out = capsys.readouterr().out
    assert code == 1  # the other declared feeds have never delivered here
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert len(rows) == len(load_contracts())
    assert "late" in rows["ecology/monitoring_station"] and "not declared" in rows["health/health_record"]
    assert rows["water/water_quality"].split("│")[-2].strip() == "on time"
