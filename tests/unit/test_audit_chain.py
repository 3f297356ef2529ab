"""The hash chain of share decisions and the access log (catalog.chain), without Spark: a changed value,
a deleted row, a reordered row, a forked row and a re-hashed row are each named; the chained contracts
end with the chain columns; the first event per query id wins (catalog.audit.first_events)."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import audit, chain
from catalog.audit import first_events
from govlake import cli_catalog
from schemas.contracts import ContractError
from schemas.governance import governance_contract, governance_contracts, load_governance_contract

NAMES = ["query_id", "user_name", "create_time", "wall_ms", "overdue", "due"]


def _values(i: int) -> list[Any]:
    return [
        f"q{i}",
        "civil_affairs",
        dt.datetime(2026, 11, 23, 9, 0, i, 1000),
        10 * i,
        i % 2 == 0,
        dt.date(2026, 12, i),
    ]


def _table(n: int = 5) -> list[dict[str, Any]]:
    return [
        dict(zip([*NAMES, *chain.COLUMNS], r, strict=True))
        for r in chain.extend(NAMES, [_values(i) for i in range(1, n + 1)])
    ]


def _verify(rows: list[dict[str, Any]]) -> chain.Verdict:
    return chain.verify("access_log", NAMES, rows, key="query_id")


def test_an_intact_chain_is_ok_and_reports_its_head() -> None:
    rows = _table()
    verdict = _verify(list(reversed(rows)))  # storage order does not matter: seq does
    assert verdict.ok and verdict.rows == 5 and verdict.head == rows[-1]["row_hash"]
    assert verdict.line().startswith("governance.access_log: ok: 5 rows, head ")
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == chain.GENESIS
    assert all(b["prev_hash"] == a["row_hash"] for a, b in itertools.pairwise(rows))


def test_an_empty_table_is_an_intact_chain() -> None:
    assert _verify([]) == chain.Verdict("access_log", 0, chain.GENESIS)


def test_appending_continues_the_chain() -> None:
    rows = _table(3)
    more = chain.extend(NAMES, [_values(4)], (rows[-1]["seq"], rows[-1]["row_hash"]))
    assert _verify([*rows, dict(zip([*NAMES, *chain.COLUMNS], more[0], strict=True))]).ok
    assert more[0][len(NAMES)] == 4


@pytest.mark.parametrize(
    ("column", "value"),
    [("user_name", "analyst"), ("wall_ms", 31), ("overdue", True), ("create_time", dt.datetime(2026, 1, 1))],
)
def test_a_changed_value_is_named(column: str, value: object) -> None:
    rows = _table()
    rows[2][column] = value
    verdict = _verify(rows)
    assert not verdict.ok and verdict.rows == 2
    assert verdict.problem == "seq 3 (query_id 'q3') was altered: its row_hash does not match its values"
    assert "BROKEN after 2 good rows" in verdict.line()


def test_a_changed_and_rehashed_row_is_named_by_its_successor() -> None:
    rows = _table()
    rows[1]["user_name"] = "analyst"
    rows[1]["row_hash"] = chain.row_hash(NAMES, [rows[1][n] for n in NAMES], 2, rows[1]["prev_hash"])
    verdict = _verify(rows)
    assert verdict.problem is not None
    assert verdict.problem.startswith(
        "seq 2 (query_id 'q2') was altered and re-hashed: seq 3 (query_id 'q3')"
    )


@pytest.mark.parametrize(("deleted", "missing"), [(0, 1), (2, 3)])
def test_a_deleted_row_is_named(deleted: int, missing: int) -> None:
    rows = _table()
    del rows[deleted]
    verdict = _verify(rows)
    assert verdict.problem == (
        f"seq {missing} is missing (the next row is seq {missing + 1}, query_id 'q{missing + 1}'): "
        "a row was deleted"
    )


def test_a_reordered_row_is_named() -> None:
    rows = _table()
    rows[1]["seq"], rows[2]["seq"] = 3, 2  # rows 2 and 3 swap places
    assert (
        _verify(rows).problem == "seq 2 (query_id 'q3') was altered: its row_hash does not match its values"
    )


def test_a_forked_row_is_named() -> None:
    rows = _table(3)
    fork = chain.extend(NAMES, [_values(9)], (2, rows[1]["row_hash"]))[0]
    rows.append(dict(zip([*NAMES, *chain.COLUMNS], fork, strict=True)))
    verdict = _verify(rows)
    assert verdict.problem is not None and "seq 3 appears twice" in verdict.problem


def test_a_forged_first_row_is_named() -> None:
    rows = _table(2)
    rows[0]["prev_hash"] = "f" * 64
    rows[0]["row_hash"] = chain.row_hash(NAMES, [rows[0][n] for n in NAMES], 1, rows[0]["prev_hash"])
    assert _verify(rows).problem == "seq 1 (query_id 'q1') does not start from the genesis hash"


def test_the_hash_covers_names_types_and_position() -> None:
    values = _values(1)
    base = chain.row_hash(NAMES, values, 1, chain.GENESIS)
    assert chain.row_hash(NAMES, values, 2, chain.GENESIS) != base
    assert chain.row_hash(NAMES, [*values[:3], "10", *values[4:]], 1, chain.GENESIS) != base
    assert chain.row_hash(NAMES, [*values[:1], None, *values[2:]], 1, chain.GENESIS) != base
    # the same instant, naive local or aware, hashes alike (Spark reads timestamps back as naive local)
    aware = [*values[:2], values[2].astimezone(dt.UTC), *values[3:]]
    assert chain.row_hash(NAMES, aware, 1, chain.GENESIS) == base


def test_new_by_key_keeps_the_first_row_per_new_key() -> None:
    rows = [["a", 1], ["b", 2], ["a", 3], ["c", 4]]
    assert chain.new_by_key(rows, 0, {"c"}) == [["a", 1], ["b", 2]]


def test_the_writer_lock_is_a_file_under_home(tmp_path: Path) -> None:
    with chain.writer_lock(tmp_path, "access_log"):
        assert (tmp_path / "locks" / "chain-access_log.lock").exists()
    with chain.writer_lock(tmp_path, "access_log"):  # released: taken again
        pass


def test_share_decisions_and_the_access_log_are_chained() -> None:
    chained = {name for name, c in governance_contracts().items() if c.chained}
    assert chained == {"share_decision", "access_log"}
    decision = governance_contract("share_decision")
    assert decision.names[-3:] == list(chain.COLUMNS)
    assert len(decision.value_names) == 14 and decision.value_names[0] == "request_id"
    assert governance_contract("access_log").value_names[0] == "query_id"


def test_a_chained_contract_must_end_with_the_chain_columns(tmp_path: Path) -> None:
    path = tmp_path / "unit_chained.yaml"
    data = {
        "table": "unit_chained",
        "title": "测试",
        "chained": True,
        "columns": [{"name": "a", "label": "甲"}],
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        ContractError, match=r"chained: the last columns must be seq \(long, nullable: false\)"
    ):
        load_governance_contract(path)


def test_the_first_event_per_query_id_wins() -> None:
    stored = {"q1": ["q1", "civil_affairs", "FINISHED"]}
    spooled = [
        ["q1", "civil_affairs", "FINISHED"],  # already loaded
        ["q2", "health", "FAILED"],
        ["q2", "health", "FAILED"],  # Trino's retry: identical
        ["q2", "analyst", "FINISHED"],  # a forgery of q2
        ["q1", "platform", "FINISHED"],  # a forgery of a stored query
    ]
    new, loaded = first_events(spooled, stored)
    assert new == [["q2", "health", "FAILED"]]
    assert (loaded.added, loaded.already, loaded.conflicts) == (1, 2, ["q1", "q2"])


def test_audit_verify_exits_1_naming_the_broken_chain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _verify(_table()[1:])
    monkeypatch.setattr(audit, "verify", lambda: [chain.Verdict("share_decision", 3, "ab"), broken])
    assert cli_catalog.cmd_audit(argparse.Namespace(action="verify")) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "governance.share_decision: ok: 3 rows, head ab"
    assert out[1] == "governance.access_log: BROKEN after 0 good rows: seq 1 is missing " + (
        "(the next row is seq 2, query_id 'q2'): a row was deleted"
    )
    monkeypatch.setattr(audit, "verify", lambda: [chain.Verdict("share_decision", 3, "ab")])
    assert cli_catalog.cmd_audit(argparse.Namespace(action="verify")) == 0
