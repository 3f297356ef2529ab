"""Receives Trino's HTTP event listener POSTs and spools each event as one JSON line per day.

Run by `infra.trino_security.before_start`: `python -m infra.event_receiver <port> <spool-dir>`.
The spool is loaded idempotently (by query id) into governance.access_log by `catalog.audit`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_lock = threading.Lock()


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


if __name__ == "__main__":
    main(sys.argv[1:])
