"""Receives Trino's HTTP event listener POSTs and spools each event as one JSON line per day; and the
process beside Trino that does it, started and stopped with Trino (`before_start`, `after_stop`).

`before_start` runs it as `python -m infra.event_receiver <port> <spool-dir>`. The spool is loaded
idempotently (by query id) into governance.access_log by `catalog.audit`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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

from infra.settings import Settings
from infra.trino_security import enabled, events_port, spool_dir

_lock = threading.Lock()


class ReceiverError(RuntimeError):
    """The receiver process did not come up; the message names its log."""


def slim(event: dict) -> dict:
    """Drop the query plans and operator statistics; keep who, what, when and the outcome."""
    meta = {
        k: v for k, v in (event.get("metadata") or {}).items() if k not in ("plan", "jsonPlan", "payload")
    }
    stats = event.get("statistics") or {}
    kept = {
        k: event[k] for k in ("context", "ioMetadata", "failureInfo", "createTime", "endTime") if k in event
    }
    if isinstance(kept.get("context"), dict):
        kept["context"] = {k: v for k, v in kept["context"].items() if k != "sessionProperties"}
    return {"metadata": meta, "statistics": {"wallTime": stats.get("wallTime")}, **kept}


def make_handler(spool: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # health check
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = json.loads(body)
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            event = slim(event)
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
            path = spool / f"events-{dt.date.today():%Y%m%d}.jsonl"
            with _lock, path.open("a", encoding="utf-8") as f:
                f.write(line)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args) -> None:  # quiet
            pass

    return Handler


def main(argv: list[str]) -> None:
    port, spool = int(argv[0]), Path(argv[1])
    spool.mkdir(parents=True, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", port), make_handler(spool)).serve_forever()


# ---- the receiver process beside Trino -------------------------------------------------------------


def _receiver_pid_file(s: Settings) -> Path:
    return spool_dir(s) / "receiver.pid"


def receiver_running(s: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{events_port(s)}/health", timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def before_start(s: Settings) -> None:
    """Start the event receiver (if not running) so Trino's first events are not lost."""
    if not enabled(s) or receiver_running(s):
        return
    spool_dir(s).mkdir(parents=True, exist_ok=True)
    with open(spool_dir(s) / "receiver.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.event_receiver", str(events_port(s)), str(spool_dir(s))],
            cwd=str(s.home),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    _receiver_pid_file(s).write_text(str(proc.pid))
    deadline = time.monotonic() + 20
    while not receiver_running(s):
        if proc.poll() is not None or time.monotonic() > deadline:
            log = spool_dir(s) / "receiver.log"
            raise ReceiverError(f"the Trino event receiver did not start; see {log}")
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
