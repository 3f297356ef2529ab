"""Signed share reviews: only the provider's signature over the request's current content counts; every
forgery is refused and recorded; the latest genuine review wins. Temporary catalogs, no engines."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from catalog import shares, signing
from catalog.engine import REVIEW_REFUSED, Decision, decide_all
from catalog.loader import PACKAGED, load_catalog, load_request
from catalog.models import UnsignedReview
from govlake import cli
from infra.settings import Settings

TODAY = dt.date(2026, 11, 23)
CST = dt.timezone(dt.timedelta(hours=8))
REQUESTS = {
    "jy": {  # 有条件: public_security decides
        "requester": "education",
        "resource": "GA-001",
        "columns": ["resident_id", "name", "admin_code"],
        "purpose": "义务教育入学资格审核",
        "legal_basis": "《中华人民共和国义务教育法》第十二条",
        "submitted": "2026-11-16",
        "expires": "2027-09-30",
    },
    "mz": {  # 无条件: granted unless public_security revokes it
        "requester": "civil_affairs",
        "resource": "GA-002",
        "columns": ["resident_id", "name"],
        "purpose": "最低生活保障资格核验",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "submitted": "2026-11-20",
        "expires": "2027-12-31",
    },
}


class World:
    """A catalog of its own (the packaged departments and negative list, two requests, public_security's
    key pair) and an installation home for the private keys."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "catalog"
        shutil.copytree(PACKAGED / "departments", self.root / "departments")
        shutil.copy(PACKAGED / "negative_list.yaml", self.root)
        self.requests, self.approvals, self.keys = (self.root / n for n in ("requests", "approvals", "keys"))
        self.requests.mkdir()
        for rid, body in REQUESTS.items():
            self.write_request(rid, body)
        self.s = Settings(home=tmp / "home")
        self.cat = load_catalog(self.root)
        signing.keygen("public_security", self.keys, self.s)

    def write_request(self, rid: str, body: dict) -> None:
        (self.requests / f"{rid}.yaml").write_text(yaml.safe_dump({"id": rid, **body}, allow_unicode=True))

    def review(self, decision: str, day: int, request: str = "jy", hour: int = 10) -> Path:
        """public_security's genuine review, on 2026-11-<day>."""
        when = dt.datetime(2026, 11, day, hour, tzinfo=CST)
        return shares.write_review(
            request, decision, "public_security", "王敏", "依法核验", when, self.approvals, self.requests,
            self.cat, self.s,
        )  # fmt: skip

    def forge(self, department: str, signer: str, request: str = "jy", **fields) -> Path:
        """A review naming `department`, signed with `signer`'s private key (created if missing)."""
        if not signing.private_key_path(signer, self.s).exists():
            signing.keygen(signer, self.keys, self.s)
        req = load_request(self.requests / f"{request}.yaml")
        body = {
            "request": request,
            "decision": "approve",
            "reviewer": department,
            "person": "某某",
            "reason": "同意",
            "decided_at": dt.datetime(2026, 11, 20, 9, tzinfo=CST),
            "request_sha256": signing.request_sha256(req),
        } | fields
        review = signing.sign(UnsignedReview.model_validate(body), signing.load_private_key(signer, self.s))
        self.approvals.mkdir(exist_ok=True)
        path = self.approvals / f"{request}.{department}.{signer}.yaml"
        path.write_text(yaml.safe_dump(review.model_dump(mode="json"), allow_unicode=True))
        return path

    def decide(self, request: str = "jy", today: dt.date = TODAY) -> tuple[Decision, list[Decision]]:
        """(the request's decision, its refused reviews)."""
        mine = [
            d for d in decide_all(self.cat, self.requests, self.approvals, today) if d.request_id == request
        ]
        return mine[-1], mine[:-1]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_the_providers_signed_approval_grants(world):
    path = world.review("approve", 20)
    text = path.read_text(encoding="utf-8")
    assert "reviewer: public_security" in text and "signature:" in text and "request_sha256:" in text
    decision, refused = world.decide()
    assert decision.status == "granted" and decision.decided_by == "public_security/王敏"
    assert "approved on 2026-11-20" in decision.reason and refused == []


def test_without_a_review_a_conditional_request_is_pending(world):
    decision, refused = world.decide()
    assert decision.status == "pending" and decision.due_date == dt.date(2026, 11, 30) and refused == []


def refused_because(world: World, fragment: str) -> Decision:
    decision, refused = world.decide()
    assert decision.status == "pending", decision
    [row] = refused
    assert row.status == REVIEW_REFUSED and fragment in row.reason, row.reason
    assert row.request_id == "jy" and row.decided_by == "engine" and row.source_file.endswith(".yaml")
    return row


def test_an_unsigned_review_is_refused(world):
    world.approvals.mkdir()
    unsigned = {  # the format before reviews were signed
        "request": "jy",
        "decision": "approve",
        "reviewer": "公安厅 王敏",
        "reason": "同意",
        "decided_on": "2026-11-18",
    }
    (world.approvals / "jy.approve.yaml").write_text(yaml.safe_dump(unsigned, allow_unicode=True))
    row = refused_because(world, "unreadable or unsigned")
    assert "jy.approve.yaml" in row.reason and "signature" in row.reason


def test_a_signature_stripped_from_a_genuine_review_is_refused(world):
    path = world.review("approve", 20)
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    del body["signature"]
    path.write_text(yaml.safe_dump(body, allow_unicode=True))
    refused_because(world, "signature: Field required")


def test_a_review_signed_with_another_key_is_refused(world):
    world.forge("public_security", signer="education")
    refused_because(world, "does not verify with public_security's public key")


def test_an_altered_review_is_refused(world):
    path = world.review("approve", 20)
    path.write_text(path.read_text(encoding="utf-8").replace("依法核验", "依法核验（扩大范围）"))
    refused_because(world, "forged or altered")


def test_a_department_without_a_public_key_is_refused(world):
    world.forge("taxation", signer="taxation")
    (world.keys / "taxation.pub").unlink()
    refused_because(world, "no public key for taxation")


def test_the_requester_cannot_approve_its_own_request(world):
    world.forge("education", signer="education")  # a valid signature, by the requester
    refused_because(world, "education is the requester")
    with pytest.raises(ValueError, match="cannot review its own request"):
        shares.write_review(
            "jy", "approve", "education", "x", "x", None, world.approvals, world.requests, world.cat, world.s
        )


def test_a_third_department_cannot_approve(world):
    world.forge("health", signer="health")
    refused_because(world, "health is not the provider of GA-001 (public_security decides)")
    with pytest.raises(ValueError, match="not the provider of GA-001"):
        shares.write_review(
            "jy", "approve", "health", "x", "x", None, world.approvals, world.requests, world.cat, world.s
        )


def test_a_request_edited_after_its_approval_is_pending_again(world):
    world.review("approve", 18)
    assert world.decide()[0].status == "granted"
    world.write_request("jy", REQUESTS["jy"] | {"columns": ["resident_id", "name", "admin_code", "address"]})
    decision, [stale] = world.decide()
    assert decision.status == "pending" and decision.decided_by == "engine"
    assert "the request changed since public_security's review of 2026-11-18" in decision.reason
    assert "changed since this review of 2026-11-18" in stale.reason
    world.review("approve", 21)  # the provider approves the new content (jy.approve.yaml replaced)
    decision, refused = world.decide()
    assert decision.status == "granted" and "2026-11-21" in decision.reason and refused == []


def test_the_request_hash_ignores_yaml_form_but_not_content(world):
    path = world.requests / "jy.yaml"
    before = signing.request_sha256(load_request(path))
    body = REQUESTS["jy"]
    flow = "# 教育厅\n" + "\n".join(f"{k}: {v}" for k, v in reversed(list(body.items())))
    path.write_text(f"id: jy\n{flow}\n".replace("'", ""), encoding="utf-8")
    assert signing.request_sha256(load_request(path)) == before
    for change in ({"expires": "2028-09-30"}, {"row_scope": {"column": "admin_code", "prefix": "42"}}):
        world.write_request("jy", body | change)
        assert signing.request_sha256(load_request(path)) != before


@pytest.mark.parametrize(
    "sequence,status",
    [
        (["reject", "approve"], "granted"),  # approve after reject
        (["approve", "reject"], "rejected"),  # reject after approve
        (["approve", "revoke"], "revoked"),
        (["revoke", "approve"], "granted"),  # a later approval ends a revocation
    ],
)
def test_the_latest_genuine_review_wins(world, sequence, status):
    for day, decision in enumerate(sequence, start=18):
        world.review(decision, day)
    decision, refused = world.decide()
    assert decision.status == status and refused == []


def test_a_tie_goes_to_the_more_restrictive_review(world):
    world.review("approve", 20)
    world.review("reject", 20)
    assert world.decide()[0].status == "rejected"


def test_reviews_dated_after_the_decision_date_are_not_yet_in_effect(world):
    world.review("approve", 20)
    world.review("revoke", 25)
    assert world.decide(today=TODAY)[0].status == "granted"
    assert world.decide(today=dt.date(2026, 11, 25))[0].status == "revoked"


def test_an_unconditional_share_is_revoked_and_an_edit_does_not_undo_it(world):
    assert world.decide("mz")[0].status == "granted"
    world.review("revoke", 21, request="mz")
    assert world.decide("mz")[0].status == "revoked"
    world.write_request("mz", REQUESTS["mz"] | {"purpose": "最低生活保障资格核验（续）"})
    decision, [_revoke] = world.decide("mz")
    assert decision.status == "pending" and "changed since" in decision.reason
    assert world.decide("mz", today=dt.date(2028, 1, 1))[0].status == "expired"


def test_write_review_needs_the_private_key_and_its_public_key_in_the_catalog(world):
    args = (
        "jy",
        "approve",
        "public_security",
        "王敏",
        "同意",
        None,
        world.approvals,
        world.requests,
        world.cat,
    )
    with pytest.raises(signing.SigningError, match="govlake catalog keygen public_security"):
        shares.write_review(*args, Settings(home=world.root.parent / "other_home"))
    (world.keys / "public_security.pub").unlink()
    signing.keygen("public_security", world.keys, Settings(home=world.root.parent / "other_home"))
    with pytest.raises(signing.SigningError, match="not the public key of"):
        shares.write_review(*args, world.s)


def test_keygen_keeps_the_private_key_private_and_never_overwrites(world):
    private = signing.private_key_path("public_security", world.s)
    assert (
        stat.S_IMODE(private.stat().st_mode) == 0o600 and stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    )
    assert (world.keys / "public_security.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = private.read_bytes()
    with pytest.raises(signing.SigningError, match="exists; not overwritten"):
        signing.keygen("public_security", world.keys, world.s)
    assert private.read_bytes() == before
    with pytest.raises(ValueError, match="not a valid name"):
        signing.keygen("../etc", world.keys, world.s)


def test_recording_adds_each_refused_review_once(world, monkeypatch):
    table: list = []

    class Row(dict):
        __getattr__ = dict.__getitem__

    names = ["request_id", "requester", "provider", "resource", "gold_table", "columns", "status", "reason",
             "legal_basis", "decided_by", "decided_at", "due_date", "overdue", "source_file"]  # fmt: skip
    monkeypatch.setattr(
        shares.governance, "read", lambda _t: [Row(zip(names, r, strict=True)) for r in table]
    )
    monkeypatch.setattr(shares.governance, "insert", lambda _t, rows, _s=None: table.extend(rows))
    world.forge("health", signer="health")
    world.review("approve", 20)
    decisions = decide_all(world.cat, world.requests, world.approvals, TODAY)
    assert [d.status for d in decisions] == [REVIEW_REFUSED, "granted", "granted"]
    recorded = shares.record(decisions, world.s)
    assert len(recorded) == 3 and len(table) == 3
    assert shares.record(decide_all(world.cat, world.requests, world.approvals, TODAY), world.s) == []
    assert shares.latest_recorded()["jy"] == ("granted", "public_security/王敏", False)


def test_the_command_refuses_to_move_the_clock_back(capsys):
    assert cli.main(["share", "decide", "--today", "2020-01-01"]) == 2
    err = capsys.readouterr().err
    assert "--today 2020-01-01 is before today" in err and "cannot move the clock back" in err


def test_the_review_command_names_what_it_needs(capsys):
    assert cli.main(["share", "approve", "jy_enrolment", "--reason", "x"]) == 2
    assert "--as DEPARTMENT --person NAME" in capsys.readouterr().err
