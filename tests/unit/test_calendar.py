"""Review deadlines count PRC working days (chinesecalendar: public holidays and 调休 make-up days)."""

from __future__ import annotations

import datetime as dt
import logging

from catalog.engine import add_working_days, calendar_known, decide, is_working_day
from catalog.loader import load_catalog
from catalog.models import ShareRequest


def test_national_day_and_mid_autumn_are_not_working_days():
    # 2026-09-25 is 中秋节; 10-01..10-07 国庆节; Saturday 10-10 is a make-up working day (调休)
    assert add_working_days(dt.date(2026, 9, 25), 10) == dt.date(2026, 10, 15)  # not 10-09 (Mon–Fri)
    assert add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    assert add_working_days(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)  # the make-up Saturday
    assert not is_working_day(dt.date(2026, 10, 5)) and is_working_day(dt.date(2026, 10, 10))


def test_ordinary_weeks_skip_weekends():
    assert add_working_days(dt.date(2026, 11, 20), 10) == dt.date(2026, 12, 4)  # Friday → Friday
    assert add_working_days(dt.date(2026, 11, 21), 1) == dt.date(2026, 11, 23)  # Saturday → Monday


def test_a_year_without_a_published_calendar_counts_monday_to_friday_with_a_warning(caplog):
    day = dt.date(2099, 1, 2)  # a Friday; chinesecalendar knows no holidays that far ahead
    assert not calendar_known(day)
    with caplog.at_level(logging.WARNING, logger="catalog.engine"):
        assert add_working_days(day, 1) == dt.date(2099, 1, 5)
    assert "no PRC holiday calendar for 2099" in caplog.text


def test_a_pending_request_names_its_due_date_and_whether_it_is_exact():
    cat = load_catalog()
    body = {
        "id": "r1",
        "requester": "education",
        "resource": "GA-001",
        "columns": ["resident_id"],
        "purpose": "核验",
        "legal_basis": "《中华人民共和国义务教育法》第十二条",
        "submitted": "2026-09-25",
        "expires": "2099-12-31",
    }
    pending = decide(ShareRequest.model_validate(body), cat, [], dt.date(2026, 9, 28))
    assert pending.status == "pending" and pending.due_date == dt.date(2026, 10, 15)
    assert "Mon–Fri" not in pending.reason
    later = decide(
        ShareRequest.model_validate(body | {"submitted": "2098-12-30"}), cat, [], dt.date(2098, 12, 31)
    )
    assert "due 2099-01-13 (Mon–Fri: no holiday calendar for that year)" in later.reason
