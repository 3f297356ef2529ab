"""Case 2 of issue 20: Trino restarting while the share views are provisioned fails the run (its DAG task
retries) instead of recording the grant as failed and dropping its view; the retry converges."""

from __future__ import annotations

import contextlib

import pytest
from catalog_fixtures import share_request

from catalog import provision
from catalog.engine import Decision


class _Trino:
    """A Trino that refuses its next `refusing` statements (a restart), then answers; knows the share
    views (schema, view)."""

    def __init__(self, views):
        self.views, self.refusing, self.statements = set(views), 0, []

    def cursor(self):
        return self

    def execute(self, sql, params=None):
        if self.refusing:
            self.refusing -= 1
            raise ConnectionRefusedError("[Errno 111] Connection refused (Trino restarting)")
        self.statements.append(sql)
        if sql.startswith("DROP VIEW"):
            schema, view = [p.strip('"') for p in sql.split()[-1].split(".")[1:]]
            self.views.discard((schema, view))
        self.result = [list(v) for v in sorted(self.views)] if "information_schema.views" in sql else []

    def fetchall(self):
        return self.result


def test_trino_down_during_a_grant_fails_the_run_and_the_retry_converges(monkeypatch, fresh_home):
    req = share_request()
    granted = Decision(req.id, "granted", "无条件", "engine", req.requester, table="household")
    trino = _Trino({("share_civil_affairs", "r1")})  # provisioned on an earlier day
    rules = []

    def create_view(cur, req, decision, s, gold):
        cur.execute(f'CREATE OR REPLACE VIEW lake."share_{req.requester}"."{req.id}" AS SELECT 1')
        trino.views.add((f"share_{req.requester}", req.id))
        return provision.Provisioned(f"lake.share_{req.requester}.{req.id}", "lake.gold.household", {}, "")

    monkeypatch.setattr(provision, "connect", lambda s: contextlib.nullcontext(trino))
    monkeypatch.setattr(provision, "negative_columns", lambda cat: {})
    monkeypatch.setattr(provision, "gold_tables", lambda: {})
    monkeypatch.setattr(provision, "refusal", lambda *a: "")
    monkeypatch.setattr(provision, "provision_share", create_view)
    monkeypatch.setattr(provision.trino_security, "write_rules", lambda s, access: rules.append(access))
    monkeypatch.setattr(provision.server, "access", lambda cat, s: "rules")

    trino.refusing = 1  # the CREATE VIEW: Trino restarts, and is back for the next statement
    with pytest.raises(ConnectionRefusedError):
        provision.provision(None, [granted], {req.id: req})
    assert trino.views == {("share_civil_affairs", "r1")} and rules == []  # nothing dropped, rules untouched

    # the task's retry
    views = provision.provision(None, [granted], {req.id: req})
    assert views == {"created": ["lake.share_civil_affairs.r1"], "dropped": [], "failed": []}
    assert trino.views == {("share_civil_affairs", "r1")} and rules == ["rules"]
    assert not any(s.startswith("DROP") for s in trino.statements)
