"""Share requests as the unit tests build them."""

from __future__ import annotations

from catalog.models import ShareRequest


def share_request(**kw) -> ShareRequest:
    body = {
        "id": "r1",
        "requester": "civil_affairs",
        "resource": "GA-002",
        "columns": ["resident_id", "name"],
        "purpose": "核验",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "submitted": "2026-11-20",
        "expires": "2027-01-31",
    }
    return ShareRequest.model_validate(body | kw)
