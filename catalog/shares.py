"""Share requests end to end: decide every request file, record changed decisions and refused reviews in
governance.share_decision (who, when, why), write signed reviews, and provision the views."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from catalog import governance, signing
from catalog.engine import REVIEW_REFUSED, Decision, decide_all
from catalog.loader import Catalog, CatalogError, approvals_dir, load_catalog, load_request, requests_dir
from catalog.models import ShareRequest, UnsignedReview
from catalog.provision import provision
from infra.settings import Settings, settings
from schemas.contracts import identifier


def _recorded() -> tuple[dict[str, tuple[str, str, bool]], set[tuple[str, str, str]]]:
    """(request id → (status, decided_by, overdue) of its latest recorded decision, the recorded refused
    reviews as (request id, review file, reason))."""
    rows = sorted(governance.read("share_decision"), key=lambda r: r.decided_at)
    latest = {
        r.request_id: (r.status, r.decided_by, bool(r.overdue)) for r in rows if r.status != REVIEW_REFUSED
    }
    refused = {(r.request_id, r.source_file, r.reason) for r in rows if r.status == REVIEW_REFUSED}
    return latest, refused


def latest_recorded() -> dict[str, tuple[str, str, bool]]:
    """request id → (status, decided_by, overdue) of its latest recorded decision."""
    return _recorded()[0]


def _is_new(
    d: Decision, latest: dict[str, tuple[str, str, bool]], refused: set[tuple[str, str, str]]
) -> bool:
    if d.status == REVIEW_REFUSED:  # the reason names the file's content hash: each refusal once
        return (d.request_id, d.source_file, d.reason) not in refused
    return latest.get(d.request_id) != (d.status, d.decided_by, d.overdue)


def record(decisions: list[Decision], s: Settings | None = None) -> list[Decision]:
    """Append the decisions that differ from the latest recorded one and the refused reviews not recorded
    yet (re-runs add nothing)."""
    s = s or settings()
    latest, refused = _recorded()
    changed = [d for d in decisions if _is_new(d, latest, refused)]
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


def _check_reviewer(req: ShareRequest, department: str, cat: Catalog) -> None:
    """Refuse early what the engine would refuse: only the provider reviews, never the requester."""
    found = cat.resources.get(req.resource)
    provider = found[0].department if found else "nobody"
    if department == req.requester:
        raise ValueError(f"{department} requested {req.id}: a department cannot review its own request")
    if department != provider:
        raise ValueError(f"{department} is not the provider of {req.resource}: {provider} reviews {req.id}")


def write_review(
    request_id: str,
    decision: str,
    department: str,
    person: str,
    reason: str,
    decided_at: dt.datetime | None = None,
    approvals: Path | None = None,
    requests: Path | None = None,
    cat: Catalog | None = None,
    s: Settings | None = None,
) -> Path:
    """What `govlake share approve|reject|revoke` does: `department`'s review of the request's current
    content (by `person`, at `decided_at`, default now; a naive time is local), signed with the
    department's private key from the home, written as approvals/<request id>.<decision>.yaml. The public
    key in keys/ beside approvals/ must be that key's, or the engine would refuse the review."""
    s = s or settings()
    approvals, requests = approvals or approvals_dir(s), requests or requests_dir(s)
    req = load_request(requests / f"{identifier(request_id)}.yaml")  # the request must exist and be valid
    _check_reviewer(req, department, cat or load_catalog())
    key = signing.load_private_key(department, s)
    public = signing.public_key_path(department, approvals.parent / "keys")
    if not signing.matches(key, signing.load_public_keys(public.parent).get(department, "")):
        raise signing.SigningError(
            f"{public} is missing or not the public key of {signing.private_key_path(department, s)}: the "
            "engine would refuse this review; put the matching public key in the catalog"
        )
    when = (decided_at or dt.datetime.now()).replace(microsecond=0)
    unsigned = UnsignedReview.model_validate(
        {
            "request": req.id,
            "decision": decision,
            "reviewer": department,
            "person": person,
            "reason": reason,
            "decided_at": when if when.tzinfo else when.astimezone(),
            "request_sha256": signing.request_sha256(req),
        }
    )
    review = signing.sign(unsigned, key)
    approvals.mkdir(parents=True, exist_ok=True)
    path = approvals / f"{req.id}.{unsigned.decision}.yaml"
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
    """Decide all requests; record changes; make the share views match. Returns (all decisions, each
    request's after its refused reviews; those recorded now; views created and dropped). Public keys are
    read from keys/ beside `approvals`."""
    s = s or settings()
    cat = cat or load_catalog()
    requests, approvals = requests or requests_dir(s), approvals or approvals_dir(s)
    decisions = decide_all(cat, requests, approvals, today or dt.date.today())
    recorded = record(decisions, s)
    views: dict[str, list[str]] = {}
    if provision_views:
        of_requests = [d for d in decisions if d.status != REVIEW_REFUSED]
        granted = {}
        for d in of_requests:
            if d.granted:
                try:
                    granted[d.request_id] = load_request(Path(d.source_file))
                except CatalogError:
                    continue
        views = provision(cat, of_requests, granted, s)
    return decisions, recorded, views
