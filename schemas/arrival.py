"""A feed's declared update frequency (更新周期) as an expected-arrival schedule: every period's delivery is
due by a local time on a given day; the arrival DAG of the feed checks each deadline (govlake.arrivals).

    arrival: {every: day, by: "06:00", workdays_only: true}     # each working day by 06:00
    arrival: {every: month, day: 5}                              # by 09:00 on the 5th of each month
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Every = Literal["day", "week", "month", "quarter", "year"]


class Arrival(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Every
    by: dt.time = Field(dt.time(9, 0), description="local time the period's delivery is due")
    weekday: int = Field(1, ge=1, le=7, description="`week`: the ISO weekday it is due (1 = Monday)")
    day: int = Field(1, ge=1, le=28, description="`month`, `quarter`, `year`: the day of the month it is due")
    workdays_only: bool = Field(False, description="`day`: due on China's working days only (调休 included)")
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def cron(self) -> str:
        """The deadlines as a cron expression in `timezone` (one Airflow run checks each)."""
        at = f"{self.by.minute} {self.by.hour}"
        return {
            "day": f"{at} * * *",
            "week": f"{at} * * {self.weekday % 7}",
            "month": f"{at} {self.day} * *",
            "quarter": f"{at} {self.day} 1,4,7,10 *",
            "year": f"{at} {self.day} 1 *",
        }[self.every]

    @property
    def summary(self) -> str:
        when = {"day": "every working day" if self.workdays_only else "every day",
                "week": f"every week on ISO weekday {self.weekday}",
                "month": f"on day {self.day} of every month",
                "quarter": f"on day {self.day} of every quarter",
                "year": f"on day {self.day} of January"}[self.every]  # fmt: skip
        return f"{when} by {self.by:%H:%M} ({self.timezone})"
