"""The Trino event receiver in-process on a free port: it takes only authenticated JSON objects of a
bounded size, disconnects idle clients, spools 0600 in a 0700 directory and refuses (507) above its cap."""

from __future__ import annotations

import http.client
import json
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from infra import event_receiver
from infra.trino_security import EVENTS_HEADER

TOKEN = "unit-token-0123456789"
EVENT = {"metadata": {"queryId": "q1", "plan": "huge"}, "statistics": {"wallTime": "1s"}, "context": {}}

Serve = Callable[..., tuple[int, Path]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    servers: list[ThreadingHTTPServer] = []

    def start(**options: float) -> tuple[int, Path]:
        spool = event_receiver.private_spool(tmp_path / f"spool{len(servers)}")
        handler = event_receiver.make_handler(spool, TOKEN, **options)  # type: ignore[arg-type]
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server.server_address[1], spool

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/events", body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def _raw(port: int, request: bytes) -> bytes:
    """Send a hand-made request; the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096).split(b"\r\n", 1)[0]


def _spooled(spool: Path) -> list[Path]:
    return sorted(spool.glob("events-*.jsonl"))


def test_an_authenticated_event_is_slimmed_and_spooled_privately(serve: Serve) -> None:
    port, spool = serve()
    assert _post(port, json.dumps(EVENT).encode(), {EVENTS_HEADER: TOKEN}) == 200
    [path] = _spooled(spool)
    assert json.loads(path.read_text())["metadata"] == {"queryId": "q1"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700


def test_the_health_check_needs_no_token(serve: Serve) -> None:
    port, _ = serve()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    conn.close()


@pytest.mark.parametrize("headers", [{}, {EVENTS_HEADER: "wrong"}, {EVENTS_HEADER: TOKEN + "x"}])
def test_a_post_without_the_token_is_refused(serve: Serve, headers: dict[str, str]) -> None:
    port, spool = serve()
    assert _post(port, json.dumps(EVENT).encode(), headers) == 401
    assert not _spooled(spool)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_refused(serve: Serve, body: bytes) -> None:
    port, spool = serve()
    assert _post(port, body, {EVENTS_HEADER: TOKEN}) == 400
    assert not _spooled(spool)


@pytest.mark.parametrize(
    ("length", "status"),
    [(None, b"411"), ("abc", b"400"), ("-5", b"400"), ("\u0663", b"400"), ("99999999999", b"413")],
)
def test_a_bad_content_length_is_refused(serve: Serve, length: str | None, status: bytes) -> None:
    port, spool = serve()
    header = f"Content-Length: {length}\r\n" if length is not None else ""
    request = f"POST /events HTTP/1.1\r\nHost: x\r\n{EVENTS_HEADER}: {TOKEN}\r\n{header}\r\n{{}}"
    assert _raw(port, request.encode()).split(b" ")[1] == status
    assert not _spooled(spool)


def test_an_oversized_body_is_refused(serve: Serve) -> None:
    port, spool = serve(max_body=1000)
    big = json.dumps({**EVENT, "padding": "x" * 2000}).encode()
    assert _post(port, big, {EVENTS_HEADER: TOKEN}) == 413
    assert not _spooled(spool)


def test_an_idle_client_is_disconnected(serve: Serve) -> None:
    port, spool = serve(timeout=0.3)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, nothing sent
        assert time.monotonic() - started < 4
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # a body that never comes
        sock.sendall(
            f"POST /events HTTP/1.1\r\n{EVENTS_HEADER}: {TOKEN}\r\nContent-Length: 50\r\n\r\n{{".encode()
        )
        assert sock.recv(1024) == b""
    assert not _spooled(spool)


def test_a_full_spool_refuses_with_507_and_writes_nothing(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    port, spool = serve(spool_cap=300)
    body = json.dumps(EVENT).encode()
    assert _post(port, body, {EVENTS_HEADER: TOKEN}) == 200
    [path] = _spooled(spool)
    line = path.stat().st_size
    while path.stat().st_size + line <= 300:  # fill up to the cap
        assert _post(port, body, {EVENTS_HEADER: TOKEN}) == 200
    size = path.stat().st_size
    assert _post(port, body, {EVENTS_HEADER: TOKEN}) == 507
    assert path.stat().st_size == size
    assert "is full (300 bytes): query q1 refused" in capsys.readouterr().err


def test_an_existing_spool_file_is_made_private(serve: Serve) -> None:
    port, spool = serve()
    path = spool / f"events-{time.strftime('%Y%m%d')}.jsonl"
    path.write_text("")
    path.chmod(0o644)
    assert _post(port, json.dumps(EVENT).encode(), {EVENTS_HEADER: TOKEN}) == 200
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_receiver_process_needs_the_token_in_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_receiver.TOKEN_ENV, raising=False)
    with pytest.raises(SystemExit, match=event_receiver.TOKEN_ENV):
        event_receiver.main(["0", "/nonexistent/spool"])
