"""The share decision engine (国发〔2016〕51号): negative list → refused with its legal basis; 无条件 →
granted; 有条件 → pending until the provider reviews (due in 10 working days); expiry and revocation end
a grant. Pure functions over the catalog models; recording and provisioning live elsewhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from catalog.loader import Catalog, CatalogError, load_request, load_reviews
from catalog.models import Resource, Review, ShareRequest

REVIEW_WORKING_DAYS = 10
ENGINE = "engine"


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Monday–Friday working days (public holidays are not modelled)."""
    day = start
    while days:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


@dataclass(frozen=True)
class Decision:
    request_id: str
    status: str  # granted | refused | pending | rejected | expired | revoked | invalid
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
    source_file: str = ""

    @property
    def granted(self) -> bool:
        return self.status == "granted"


def decide(
    req: ShareRequest, cat: Catalog, reviews: list[Review], today: dt.date, source: str = ""
) -> Decision:
    """Check the request against the catalog, then decide it by the resource's share type and reviews."""
    base = {"request_id": req.id, "requester": req.requester, "resource": req.resource, "source_file": source}
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
    names = {res.item_by_column(c).name for c in req.columns}  # type: ignore[union-attr]
    hits = [n for n in cat.negative_for(res.code) if n.item in names or n.column in req.columns]
    if hits:
        basis = "；".join(f"{n.item}：{n.reason}（{n.basis}）" for n in hits)
        return Decision(
            **base,
            status="refused",
            decided_by=ENGINE,
            legal_basis=basis,
            reason=f"on the negative list: {basis}",
        )
    return _by_share_type(req, provider.department, res, reviews, today, base)


def _by_share_type(
    req: ShareRequest, provider: str, res: Resource, reviews: list[Review], today: dt.date, base: dict
) -> Decision:
    """不予共享 → refused; a revocation or expiry ends any grant; 无条件 → granted; 有条件 → the provider's
    latest review of each kind decides, else pending until the due date (OVERDUE after it)."""
    if res.share_type == "不予共享":
        return Decision(**base, status="refused", decided_by=ENGINE, reason=f"{res.code} is 不予共享")
    by_kind = {r.decision: r for r in sorted(reviews, key=lambda r: r.decided_on)}
    if "revoke" in by_kind:
        r = by_kind["revoke"]
        return Decision(**base, status="revoked", reason=r.reason, decided_by=r.reviewer)
    if req.expires < today:
        return Decision(**base, status="expired", reason=f"expired on {req.expires}", decided_by=ENGINE)
    if res.share_type == "无条件":
        return Decision(
            **base, status="granted", reason="无条件共享: granted automatically", decided_by=ENGINE
        )
    if "reject" in by_kind:
        r = by_kind["reject"]
        return Decision(**base, status="rejected", reason=r.reason, decided_by=r.reviewer)
    if "approve" in by_kind:
        r = by_kind["approve"]
        return Decision(
            **base, status="granted", reason=f"有条件共享 approved: {r.reason}", decided_by=r.reviewer
        )
    due = add_working_days(req.submitted, REVIEW_WORKING_DAYS)
    return Decision(
        **base,
        status="pending",
        decided_by=ENGINE,
        due_date=due,
        overdue=today > due,
        reason=f"有条件共享: awaiting {provider}'s review, due {due}" + (" (OVERDUE)" if today > due else ""),
    )


def decide_all(cat: Catalog, requests_dir: Path, approvals_dir: Path, today: dt.date) -> list[Decision]:
    """One decision per request file; an invalid file (bad YAML, injected names) becomes an `invalid`
    decision naming the file and field, so nothing is silently skipped."""
    reviews = load_reviews(approvals_dir)
    out = []
    for path in sorted(requests_dir.glob("*.yaml")) if requests_dir.is_dir() else []:
        try:
            req = load_request(path)
        except CatalogError as exc:
            out.append(Decision(_safe_id(path.stem), "invalid", str(exc), ENGINE, source_file=str(path)))
            continue
        out.append(decide(req, cat, reviews.get(req.id, []), today, str(path)))
    return out


def _safe_id(stem: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in stem)[:64]
