"""Share requests end to end: decide every request file, record changed decisions in
governance.share_decision (who, when, why), write reviews, and provision the views."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from catalog import governance
from catalog.engine import Decision, decide_all
from catalog.loader import Catalog, CatalogError, approvals_dir, load_catalog, load_request, requests_dir
from catalog.models import Review
from catalog.provision import provision
from infra.settings import Settings, settings


def latest_recorded() -> dict[str, tuple[str, str, bool]]:
    """request id → (status, decided_by, overdue) of its latest recorded decision."""
    rows = sorted(governance.read("share_decision"), key=lambda r: r.decided_at)
    return {r.request_id: (r.status, r.decided_by, bool(r.overdue)) for r in rows}


def record(decisions: list[Decision], s: Settings | None = None) -> list[Decision]:
    """Append the decisions that differ from the latest recorded one (re-runs add nothing)."""
    s = s or settings()
    known = latest_recorded()
    changed = [d for d in decisions if known.get(d.request_id) != (d.status, d.decided_by, d.overdue)]
    now = governance.now()
    if not changed:
        return []
    governance.insert(
        "share_decision",
        [
            [
                d.request_id,
                d.requester,
                d.provider,
                d.resource,
                d.table,
                ",".join(d.columns),
                d.status,
                d.reason,
                d.legal_basis,
                d.decided_by,
                now,
                d.due_date,
                d.overdue,
                d.source_file,
            ]
            for d in changed
        ],
        s,
    )
    return changed


def write_review(
    request_id: str,
    decision: str,
    reviewer: str,
    reason: str,
    today: dt.date,
    approvals: Path | None = None,
    requests: Path | None = None,
) -> Path:
    """What `govlake share approve|reject|revoke` does: a review file beside the others."""
    approvals, requests = approvals or approvals_dir(), requests or requests_dir()
    load_request(requests / f"{request_id}.yaml")  # the request must exist and be valid
    review = Review(request=request_id, decision=decision, reviewer=reviewer, reason=reason, decided_on=today)
    approvals.mkdir(parents=True, exist_ok=True)
    path = approvals / f"{request_id}.{decision}.yaml"
    path.write_text(yaml.safe_dump(review.model_dump(mode="json"), allow_unicode=True, sort_keys=False))
    return path


def run(
    today: dt.date | None = None,
    provision_views: bool = True,
    requests: Path | None = None,
    approvals: Path | None = None,
    cat: Catalog | None = None,
    s: Settings | None = None,
) -> tuple[list[Decision], list[Decision], dict[str, list[str]]]:
    """Decide all requests; record changes; make the share views match. Returns (all, recorded, views)."""
    s = s or settings()
    cat = cat or load_catalog()
    requests, approvals = requests or requests_dir(s), approvals or approvals_dir(s)
    decisions = decide_all(cat, requests, approvals, today or dt.date.today())
    recorded = record(decisions, s)
    views: dict[str, list[str]] = {}
    if provision_views:
        requests = {}
        for d in decisions:
            if d.granted:
                try:
                    requests[d.request_id] = load_request(Path(d.source_file))
                except CatalogError:
                    continue
        views = provision(cat, decisions, requests, s)
    return decisions, recorded, views
