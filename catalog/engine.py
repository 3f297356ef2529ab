"""The share decision engine (国发〔2016〕51号): negative list → refused with its legal basis; 无条件 →
granted; 有条件 → pending until the provider reviews (due in 10 working days of the PRC calendar); expiry
and revocation end a grant. Pure functions over the catalog models; recording and provisioning live
elsewhere.

A review counts only if its Ed25519 signature verifies with the public key of the department it names,
that department is the resource's provider and not the requester, and it was made over the request's
current content (catalog.signing.request_sha256). Each other review becomes a `review_refused` decision
naming the file and why. Of the genuine reviews (signed, by the provider, not the requester) dated up to
the decision date the latest wins (at the same instant revoke > reject > approve): approve → granted,
reject → rejected, revoke → revoked, so a revocation ends a grant until a later approval. If that latest
genuine review was made over an earlier version of the request, the request changed since: pending again
(无条件: granted again only if that review was an approval)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chinese_calendar

from catalog import negative, signing
from catalog.loader import Catalog, CatalogError, ReviewFile, load_request, load_reviews
from catalog.models import Resource, Review, ShareRequest
from catalog.negative import Negatives

REVIEW_WORKING_DAYS = 10
ENGINE = "engine"
REVIEW_REFUSED = "review_refused"
RANK = {"approve": 0, "reject": 1, "revoke": 2}  # the more restrictive wins a tie
log = logging.getLogger(__name__)


def is_working_day(day: dt.date) -> bool:
    """A PRC working day (chinesecalendar: public holidays and 调休 make-up days); for a year the library
    has no schedule for (the State Council publishes each year's late in the year before), Monday–Friday,
    with a warning."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_no_calendar(day.year)
        return day.weekday() < 5


_warned: set[int] = set()


def _warn_no_calendar(year: int) -> None:
    if year not in _warned:
        _warned.add(year)
        log.warning("no PRC holiday calendar for %s in chinesecalendar: counting Monday–Friday", year)


def calendar_known(day: dt.date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The `days`-th working day after `start` (see is_working_day)."""
    day = start
    while days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


@dataclass(frozen=True)
class Decision:
    request_id: str
    status: str  # granted | refused | pending | rejected | expired | revoked | invalid | review_refused
    reason: str
    decided_by: str
    requester: str = ""
    provider: str = ""
    resource: str = ""
    table: str = ""
    columns: tuple[str, ...] = ()
    legal_basis: str = ""
    due_date: dt.date | None = None
    overdue: bool = False
    source_file: str = ""  # the request file (of a review_refused row: the review file)
    refused_reviews: tuple[Decision, ...] = ()  # this request's review files the engine refused

    @property
    def granted(self) -> bool:
        return self.status == "granted"


def decide(
    req: ShareRequest,
    cat: Catalog,
    reviews: Sequence[ReviewFile | Review],
    today: dt.date,
    source: str = "",
    keys: signing.PublicKeys | None = None,
    negatives: Negatives | None = None,
) -> Decision:
    """Check the request against the catalog, then decide it by the resource's share type and the reviews
    that verify with `keys` (department → public key); the refused ones are in `refused_reviews`."""
    base: dict[str, Any] = {
        "request_id": req.id,
        "requester": req.requester,
        "resource": req.resource,
        "source_file": source,
    }
    if req.requester not in cat.departments:
        return Decision(
            **base, status="invalid", reason=f"unknown requester {req.requester!r}", decided_by=ENGINE
        )
    found = cat.resources.get(req.resource)
    if not found:
        return Decision(
            **base, status="invalid", reason=f"unknown resource {req.resource}", decided_by=ENGINE
        )
    provider, res = found
    base |= {"provider": provider.department, "table": res.table or "", "columns": tuple(req.columns)}
    unknown = [c for c in req.columns if res.item_by_column(c) is None]
    if unknown:
        return Decision(
            **base,
            status="invalid",
            decided_by=ENGINE,
            reason=f"columns not items of {res.code}: {', '.join(unknown)}",
        )
    if not res.table:
        return Decision(
            **base, status="invalid", reason=f"{res.code} is not mounted to a table", decided_by=ENGINE
        )
    basis = negative.refusal(cat, res.table, req.columns, res.code, negatives)
    if basis:  # a column deriving from a negative-list item, by contract authority and lineage
        return Decision(
            **base,
            status="refused",
            decided_by=ENGINE,
            legal_basis=basis,
            reason=f"on the negative list: {basis}",
        )
    files = [
        r
        if isinstance(r, ReviewFile)
        else ReviewFile(Path(f"{r.request}.{r.decision}.yaml"), r.request, "", r)
        for r in reviews
    ]
    return _by_share_type(req, provider.department, res, files, keys or {}, today, base)


def _screen(
    req: ShareRequest, provider: str, files: list[ReviewFile], keys: signing.PublicKeys, base: dict[str, Any]
) -> tuple[list[Review], list[Decision]]:
    """(the genuine reviews, oldest first; a review_refused decision per other file). A genuine review of
    an earlier version of the request is refused as stale and still returned: if it is the latest, the
    request changed since the provider's word."""
    current = signing.request_sha256(req)
    genuine, refused = [], []
    for f in files:
        why = signing.refusal(f, req, provider, keys)
        if not why and f.review:
            genuine.append(f.review)
            if f.review.request_sha256 != current:
                why = (
                    f"the request changed since this review of {f.review.decided_at.date()} (reviewed "
                    f"sha256 {f.review.request_sha256[:12]}…, now {current[:12]}…)"
                )
        if why:
            digest = f" (sha256 {f.sha256[:12]})" if f.sha256 else ""
            row = base | {"status": REVIEW_REFUSED, "decided_by": ENGINE, "source_file": str(f.path)}
            refused.append(Decision(**row, reason=f"review {f.path.name}{digest} refused: {why}"))
    genuine.sort(key=lambda r: (r.decided_at, RANK[r.decision]))
    return genuine, refused


def _by_share_type(
    req: ShareRequest,
    provider: str,
    res: Resource,
    files: list[ReviewFile],
    keys: signing.PublicKeys,
    today: dt.date,
    base: dict[str, Any],
) -> Decision:
    """不予共享 → refused; else the latest genuine review decides (see the module's doc), expiry ends a
    grant, 无条件 → granted, 有条件 → pending until the due date (OVERDUE after it)."""
    if res.share_type == "不予共享":
        return Decision(**base, status="refused", decided_by=ENGINE, reason=f"{res.code} is 不予共享")
    genuine, refused = _screen(req, provider, files, keys, base)
    in_effect = [r for r in genuine if r.decided_at.date() <= today]
    latest = in_effect[-1] if in_effect else None
    decision = _decision(req, provider, res, latest, today, base)
    return dataclasses.replace(decision, refused_reviews=tuple(refused))


def _decision(
    req: ShareRequest,
    provider: str,
    res: Resource,
    latest: Review | None,
    today: dt.date,
    base: dict[str, Any],
) -> Decision:
    current = latest is not None and latest.request_sha256 == signing.request_sha256(req)
    by = f"{latest.reviewer}/{latest.person}" if latest else ENGINE
    on = f"{latest.decided_at.date()}" if latest else ""
    if latest and current and latest.decision == "revoke":
        return Decision(**base, status="revoked", reason=f"revoked on {on}: {latest.reason}", decided_by=by)
    if req.expires < today:
        return Decision(**base, status="expired", reason=f"expired on {req.expires}", decided_by=ENGINE)
    if latest and current and latest.decision == "reject":
        return Decision(**base, status="rejected", reason=f"rejected on {on}: {latest.reason}", decided_by=by)
    if latest and current:  # approve
        return Decision(
            **base,
            status="granted",
            reason=f"{res.share_type}共享 approved on {on}: {latest.reason}",
            decided_by=by,
        )
    if res.share_type == "无条件" and (latest is None or latest.decision == "approve"):
        return Decision(
            **base, status="granted", reason="无条件共享: granted automatically", decided_by=ENGINE
        )
    due = add_working_days(req.submitted, REVIEW_WORKING_DAYS)
    late = " (OVERDUE)" if today > due else ""
    note = "" if calendar_known(due) else " (Mon–Fri: no holiday calendar for that year)"
    changed = f"the request changed since {provider}'s review of {on}; " if latest else ""
    return Decision(
        **base,
        status="pending",
        decided_by=ENGINE,
        due_date=due,
        overdue=today > due,
        reason=f"{res.share_type}共享: {changed}awaiting {provider}'s review, due {due}{note}{late}",
    )


def decide_all(
    cat: Catalog, requests_dir: Path, approvals_dir: Path, today: dt.date, keys_dir: Path | None = None
) -> list[Decision]:
    """One decision per request file, each after the review_refused rows of its review files; an invalid
    request file (bad YAML, injected names) becomes an `invalid` decision naming the file and field, so
    nothing is silently skipped. Public keys come from `keys_dir`, by default keys/ beside approvals/.
    Reviews of requests that have no file (withdrawn) are not looked at."""
    reviews = load_reviews(approvals_dir)
    keys = signing.load_public_keys(keys_dir or approvals_dir.parent / "keys")
    negatives = negative.negative_columns(cat)
    out: list[Decision] = []
    for path in sorted(requests_dir.glob("*.yaml")) if requests_dir.is_dir() else []:
        try:
            req = load_request(path)
        except CatalogError as exc:
            out.append(Decision(_safe_id(path.stem), "invalid", str(exc), ENGINE, source_file=str(path)))
            continue
        decision = decide(req, cat, reviews.get(req.id, []), today, str(path), keys, negatives)
        out += [*decision.refused_reviews, dataclasses.replace(decision, refused_reviews=())]
    return out


def _safe_id(stem: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in stem)[:64]
