"""The caller's side of the shared Spark engine (govlake.engine): start, stop and check it, and hand it
work. With `GOVLAKE_SPARK_ENGINE=auto` work goes to the engine when it runs and is done in this process
otherwise; `shared` requires the engine, `local` never uses it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from govlake.engine_protocol import HANDOFF, EngineFiles, engine_files, errors_by_name, settings_digest
from infra.settings import Settings, settings

START_TIMEOUT = 180.0


class EngineError(RuntimeError):
    """The engine failed, or could not be reached or started; the message names its log."""


def _exchange(files: EngineFiles, request: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(files.socket))
        conn.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                raise EngineError(f"the spark engine closed the connection; its log: {files.log}")
            reply += chunk
    answer: dict[str, Any] = json.loads(reply)
    return answer


def status(s: Settings | None = None) -> dict[str, Any] | None:
    """The engine's status (pid, uptime, work served, memory, log), or None when it does not answer."""
    files = engine_files(s or settings())
    if not files.socket.exists():
        return None
    try:
        reply = _exchange(files, {"op": "status"}, timeout=10.0)
    except (OSError, ValueError):
        return None
    state: dict[str, Any] = reply["status"]
    return state


def use_engine(s: Settings | None = None) -> bool:
    """Whether work goes to the shared engine (see the module's doc); `shared` without one fails."""
    s = s or settings()
    if s.spark_engine == "local":
        return False
    up = status(s) is not None
    if not up and s.spark_engine == "shared":
        raise EngineError("GOVLAKE_SPARK_ENGINE=shared, but no spark engine answers: govlake spark start")
    return up


def request(op: str, args: dict[str, Any], s: Settings | None = None) -> dict[str, Any]:
    """Run `op` on the engine with this task's lineage; its error is raised here as itself."""
    s = s or settings()
    files = engine_files(s)
    handoff = {name: os.environ[name] for name in HANDOFF if os.environ.get(name)}
    message = {"op": op, "args": args, "handoff": handoff, "settings": settings_digest(s)}
    try:
        reply = _exchange(files, message, timeout=None)
    except OSError as exc:
        raise EngineError(f"the spark engine did not answer ({exc}); its log: {files.log}") from exc
    if reply.get("ok"):
        result: dict[str, Any] = reply["result"]
        return result
    error = errors_by_name().get(reply.get("error", ""))
    text = reply.get("message", "")
    if error is not None:
        raise error(text)
    raise EngineError(f"{text} (spark engine log: {reply.get('log', files.log)})")


def call(
    op: str, args: dict[str, Any], here: Callable[[], dict[str, Any]], s: Settings | None = None
) -> dict[str, Any]:
    """`op` on the shared engine when work goes there, else `here()` in this process."""
    s = s or settings()
    return request(op, args, s) if use_engine(s) else here()


def start(s: Settings | None = None) -> dict[str, Any]:
    """Start the engine in the background unless it runs; wait until it answers. On failure the error
    quotes the end of its log and names the file."""
    s = s or settings()
    running = status(s)
    if running is not None:
        return running
    files = engine_files(s)
    files.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    files.folder.chmod(0o700)
    with files.log.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "govlake.engine"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        up = status(s)
        if up is not None:
            return up
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    if proc.poll() is None:
        proc.kill()
    tail = files.log.read_text(errors="replace")[-2000:]
    raise EngineError(f"the spark engine did not start; its log {files.log} ends:\n{tail}")


def stop(s: Settings | None = None, timeout: float = 60.0) -> bool:
    """Stop the engine (after the work it runs); True if one was running."""
    s = s or settings()
    files = engine_files(s)
    pid = int(files.pid.read_text()) if files.pid.exists() else None
    if status(s) is not None:
        _exchange(files, {"op": "stop"}, timeout=timeout)
    elif pid is None:
        return False
    deadline = time.monotonic() + timeout
    while pid is not None and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid is not None and _alive(pid):
        os.kill(pid, signal.SIGTERM)
    files.pid.unlink(missing_ok=True)
    files.socket.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    """True while `pid` is an engine of ours (a pid number reused by another program is not)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"govlake.engine" in fh.read()
    except OSError:
        return False
