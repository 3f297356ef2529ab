"""Receives Trino's HTTP event listener POSTs and spools each event as one JSON line per day; and the
process beside Trino that does it, started and stopped with Trino (`before_start`, `after_stop`).

`before_start` runs it as `python -m infra.event_receiver <port> <spool-dir>`, the events token in the
child's environment (never on its command line). A POST must carry the token in EVENTS_HEADER (Trino's
listener sends it, `http-event-listener.connect-http-headers`) and a JSON object of at most MAX_BODY bytes;
idle clients are cut off after IDLE_TIMEOUT; the spool (0700, files 0600) stops at SPOOL_CAP with 507,
logged in receiver.log. The spool is loaded idempotently (first event per query id wins) into
governance.access_log by `catalog.audit`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra import trino_security
from infra.settings import Settings
from infra.trino_security import enabled, events_port, spool_dir

_lock = threading.Lock()
TOKEN_ENV = "GOVLAKE_EVENTS_TOKEN"  # how before_start hands the token to the receiver process
IDLE_TIMEOUT = 10.0  # seconds a client may stay silent before it is disconnected
MAX_BODY = 1 << 20  # bytes of one event (Trino's completed events are a few KiB; slim drops the plans)
SPOOL_CAP = 256 << 20  # bytes of spool in total; above it events are refused (507) and logged


class ReceiverError(RuntimeError):
    """The receiver process did not come up; the message names its log."""


def slim(event: dict[str, Any]) -> dict[str, Any]:
    """Drop the query plans and operator statistics; keep who, what, when and the outcome."""
    meta = {
        k: v for k, v in (event.get("metadata") or {}).items() if k not in ("plan", "jsonPlan", "payload")
    }
    stats = event.get("statistics") or {}
    kept: dict[str, Any] = {
        k: event[k] for k in ("context", "ioMetadata", "failureInfo", "createTime", "endTime") if k in event
    }
    if isinstance(kept.get("context"), dict):
        kept["context"] = {k: v for k, v in kept["context"].items() if k != "sessionProperties"}
    return {"metadata": meta, "statistics": {"wallTime": stats.get("wallTime")}, **kept}


def _log(message: str) -> None:
    """One line in receiver.log (the receiver process's stderr)."""
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {message}", file=sys.stderr, flush=True)


def spool_size(spool: Path) -> int:
    return sum(p.stat().st_size for p in spool.glob("events-*.jsonl"))


def _append(path: Path, line: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also a file an older receiver created world-readable
        os.write(fd, line)
    finally:
        os.close(fd)


class EventHandler(BaseHTTPRequestHandler):
    """POST /events: one event, authenticated by EVENTS_HEADER; GET /health. `make_handler` sets the
    spool and the token; `timeout` (StreamRequestHandler) disconnects an idle client."""

    spool: Path
    token: bytes = b""
    timeout = IDLE_TIMEOUT
    max_body = MAX_BODY
    spool_cap = SPOOL_CAP

    def do_GET(self) -> None:  # health check
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def _answer(self, code: int, why: str = "") -> None:
        if why:
            _log(f"{self.command} {self.path} from {self.client_address[0]}: {code} {why}")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        if code >= 400:  # the body may be left unread: never parse it as the next request
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _body(self) -> bytes | None:
        """The request body, or None after answering why it is refused."""
        given = (self.headers.get(trino_security.EVENTS_HEADER) or "").encode()
        if not self.token or not hmac.compare_digest(given, self.token):
            self._answer(401, f"no or wrong {trino_security.EVENTS_HEADER}")
            return None
        length = self.headers.get("Content-Length")
        if length is None:
            self._answer(411, "no Content-Length")
            return None
        if not (length.strip().isascii() and length.strip().isdigit()):
            self._answer(400, f"bad Content-Length {length[:40]!r}")
            return None
        if int(length) > self.max_body:
            self._answer(413, f"body of {int(length)} bytes (at most {self.max_body})")
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            self._answer(400, f"body ended after {len(body)} of {int(length)} bytes")
            return None
        return body

    def do_POST(self) -> None:
        if self.path != "/events":
            self._answer(404)
            return
        body = self._body()
        if body is None:
            return
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            event = None
        if not isinstance(event, dict):
            self._answer(400, "the body is not a JSON object")
            return
        line = (json.dumps(slim(event), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with _lock:
            full = spool_size(self.spool) + len(line) > self.spool_cap
            if not full:
                _append(self.spool / f"events-{dt.date.today():%Y%m%d}.jsonl", line)
        if full:
            query = (event.get("metadata") or {}).get("queryId")
            self._answer(507, f"spool {self.spool} is full ({self.spool_cap} bytes): query {query} refused")
            return
        self._answer(200)

    def log_message(self, format: str, *args: object) -> None:  # quiet; refusals go through _log
        pass


def make_handler(
    spool: Path,
    token: str,
    timeout: float = IDLE_TIMEOUT,
    max_body: int = MAX_BODY,
    spool_cap: int = SPOOL_CAP,
) -> type[EventHandler]:
    """The handler class for one spool and token (for ThreadingHTTPServer)."""
    if not token:
        raise ValueError("the event receiver needs the events token (infra.trino_security.events_token)")
    attrs = {"spool": spool, "token": token.encode(), "timeout": timeout}
    return type("Handler", (EventHandler,), {**attrs, "max_body": max_body, "spool_cap": spool_cap})


def private_spool(spool: Path) -> Path:
    """The spool directory, readable by this user only."""
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    spool.chmod(0o700)
    return spool


def main(argv: list[str]) -> None:
    token = os.environ.pop(TOKEN_ENV, "")  # not inherited further, never on the command line
    if not token:
        raise SystemExit(f"event receiver: no events token in ${TOKEN_ENV}; start it with before_start")
    port, spool = int(argv[0]), private_spool(Path(argv[1]))
    ThreadingHTTPServer(("127.0.0.1", port), make_handler(spool, token)).serve_forever()


# ---- the receiver process beside Trino -------------------------------------------------------------


def _receiver_pid_file(s: Settings) -> Path:
    return spool_dir(s) / "receiver.pid"


def receiver_running(s: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{events_port(s)}/health", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def before_start(s: Settings) -> None:
    """Start the event receiver (if not running) so Trino's first events are not lost."""
    if not enabled(s) or receiver_running(s):
        return
    spool = private_spool(spool_dir(s))
    env = {**os.environ, TOKEN_ENV: trino_security.events_token(s)}
    fd = os.open(spool / "receiver.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.event_receiver", str(events_port(s)), str(spool)],
            cwd=str(s.home),
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    _receiver_pid_file(s).write_text(str(proc.pid))
    deadline = time.monotonic() + 20
    while not receiver_running(s):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ReceiverError(f"the Trino event receiver did not start; see {spool / 'receiver.log'}")
        time.sleep(0.2)


def after_stop(s: Settings) -> None:
    pid_file = _receiver_pid_file(s)
    if not pid_file.exists():
        return
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1:])
