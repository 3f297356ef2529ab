"""Trino as a cluster on this machine for the cluster profile: the coordinator infra.trino configures, made
coordinator-only (`node-scheduler.include-coordinator=false`), plus worker nodes run from the same cached
server, each with its own etc/, data folder, node.id and HTTP port.

A worker has the coordinator's catalogs, JVM flags and log levels (copied from the coordinator's etc/ as
infra.trino.configure writes it), `coordinator=false`, `discovery.uri` at the coordinator's HTTP port (where
node-internal traffic goes, also with security on) and, with security on, the same
`internal-communication.shared-secret` — from the launcher's environment (`${ENV:…}`), never in a file.
Authentication, access control and the event listener stay on the coordinator, which alone serves users.
State lives under `<home>/trino-workers/worker-N/{etc,data}`; worker N listens on
GOVLAKE_TRINO_WORKER_PORT + N - 1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from infra import event_receiver, trino, trino_security
from infra.settings import TRINO_VERSION, Settings
from infra.trino_client import connect

START_TIMEOUT = 180.0


class TrinoClusterError(RuntimeError):
    pass


def worker_dir(s: Settings, n: int = 1) -> Path:
    return s.home / "trino-workers" / f"worker-{n}"


def worker_port(s: Settings, n: int = 1) -> int:
    return s.trino_worker_port + n - 1  # GOVLAKE_TRINO_WORKER_PORT (default trino_port + 10), then on


def node_id(n: int = 1) -> str:
    return f"govlake-worker-{n}"


def log_file(s: Settings, n: int = 1) -> Path:
    return worker_dir(s, n) / "data" / "var" / "log" / "server.log"


def _props(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _write_props(path: Path, props: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def coordinator_only(s: Settings) -> Path:
    """Make sure the coordinator's config.properties schedules no work on itself (infra.trino.configure
    writes so when GOVLAKE_TRINO_WORKERS > 0; kept for a coordinator configured without it)."""
    config = s.trino_dir / "etc" / "config.properties"
    props = _props(config)
    if not props:
        raise TrinoClusterError(f"no coordinator configuration at {config}: configure Trino first")
    props["node-scheduler.include-coordinator"] = "false"
    _write_props(config, props)
    return config


def configure_worker(s: Settings, n: int = 1) -> Path:
    """Write worker N's etc/: its node, its port, the coordinator's catalogs and JVM flags."""
    coordinator_etc, etc = s.trino_dir / "etc", worker_dir(s, n) / "etc"
    coordinator = _props(coordinator_etc / "config.properties")
    if not coordinator:
        raise TrinoClusterError(f"no coordinator configuration in {coordinator_etc}: configure Trino first")
    address = _props(coordinator_etc / "node.properties").get("node.internal-address", "127.0.0.1")
    host = f"[{address}]" if ":" in address else address
    shutil.rmtree(etc / "catalog", ignore_errors=True)
    (etc / "catalog").mkdir(parents=True)
    for catalog in (coordinator_etc / "catalog").glob("*.properties"):  # the same catalogs
        shutil.copyfile(catalog, etc / "catalog" / catalog.name)
    _write_props(
        etc / "node.properties",
        {
            "node.environment": "govlake",  # must equal the coordinator's
            "node.id": node_id(n),
            "node.data-dir": str(worker_dir(s, n) / "data"),
            "node.bind-ip": s.trino_bind,
            "node.internal-address": address,
        },
    )
    config = {
        "coordinator": "false",
        "http-server.http.port": str(worker_port(s, n)),
        "discovery.uri": f"http://{host}:{s.trino_port}",  # the coordinator's HTTP (node-internal) port
        "query.max-memory": coordinator.get("query.max-memory", "2GB"),
        "query.max-memory-per-node": coordinator.get("query.max-memory-per-node", "1GB"),
    }
    if "internal-communication.shared-secret" in coordinator:  # security on: the same secret, by reference
        config["internal-communication.shared-secret"] = coordinator["internal-communication.shared-secret"]
    _write_props(etc / "config.properties", config)
    shutil.copyfile(coordinator_etc / "log.properties", etc / "log.properties")
    jvm = (coordinator_etc / "jvm.config").read_text().splitlines()
    jvm = [f"-Xmx{s.trino_worker_heap}" if flag.startswith("-Xmx") else flag for flag in jvm]
    (etc / "jvm.config").write_text("\n".join(jvm) + "\n")
    return etc


def _launcher(s: Settings, n: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = trino.launcher_env(s)  # the coordinator's: Java, the shared secret etc/ names as ${ENV:…}, …
    cmd = [
        str(s.trino_server_dir / "bin" / "launcher"),
        f"--etc-dir={worker_dir(s, n) / 'etc'}",
        f"--data-dir={worker_dir(s, n) / 'data'}",
        *args,
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def worker_info(s: Settings, n: int = 1) -> dict[str, Any] | None:
    """The worker's own /v1/info (answers before it has announced itself to the coordinator)."""
    url = f"http://{trino._internal_address(s)}:{worker_port(s, n)}/v1/info"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            info: dict[str, Any] = json.load(resp)
            return info
    except (urllib.error.URLError, OSError, ValueError):
        return None


def active_workers(s: Settings) -> list[str]:
    """node ids of the workers the coordinator lists as active (system.runtime.nodes)."""
    with connect(s) as conn:
        cur = conn.cursor()
        cur.execute("SELECT node_id FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'")
        return sorted(row[0] for row in cur.fetchall())


def start_worker(s: Settings, n: int = 1) -> None:
    """Configure and launch worker N (in the background) unless it runs; see `wait_for_workers`."""
    if not (s.trino_server_dir / ".complete").exists():
        raise TrinoClusterError(f"Trino {TRINO_VERSION} is not installed in {s.trino_server_dir}: run setup")
    if _launcher(s, n, "status").returncode == 0:
        return
    if worker_info(s, n) is not None:
        raise TrinoClusterError(
            f"a server answers on port {worker_port(s, n)} but no worker runs from {worker_dir(s, n)}: "
            "it belongs to another installation; stop it, or set GOVLAKE_TRINO_PORT elsewhere"
        )
    configure_worker(s, n)
    result = _launcher(s, n, "start")
    if result.returncode != 0 and "Already running" not in result.stdout:
        raise TrinoClusterError(
            f"trino worker launcher failed: {result.stdout}{result.stderr}; log: {log_file(s, n)}"
        )


def wait_for_workers(s: Settings, workers: int = 1, timeout: float = START_TIMEOUT) -> list[str]:
    """Wait until the coordinator lists every worker as active; their node ids."""
    wanted = [node_id(n) for n in range(1, workers + 1)]
    deadline, active = time.monotonic() + timeout, list[str]()
    while time.monotonic() < deadline:
        for n in range(1, workers + 1):
            if _launcher(s, n, "status").returncode != 0:
                raise TrinoClusterError(
                    f"Trino worker {n} exited during start-up; see its log {log_file(s, n)}"
                )
        try:
            active = active_workers(s)
        except Exception:  # the coordinator is still starting
            active = []
        if all(w in active for w in wanted):
            return active
        time.sleep(1)
    logs = ", ".join(str(log_file(s, n)) for n in range(1, workers + 1))
    raise TrinoClusterError(
        f"Trino workers {sorted(set(wanted) - set(active))} not active on the coordinator within "
        f"{timeout:.0f}s; see {logs} and {trino.log_file(s)}"
    )


def start(s: Settings, access: trino_security.Access | None = None, workers: int = 1) -> list[str]:
    """The coordinator (coordinator-only) and `workers` workers; returns once the coordinator lists them
    active and the catalog answers. A coordinator already running is kept as it is."""
    if trino.is_running(s) and not trino._runs_here(s):
        raise TrinoClusterError(
            f"a Trino server answers on {s.trino_host}:{s.trino_port} but none runs from {s.trino_dir}: "
            "it belongs to another installation; stop it, or set GOVLAKE_TRINO_PORT to a free port"
        )
    if not trino.is_running(s):
        trino.install(s)
        trino.configure(s, access)
        coordinator_only(s)
        event_receiver.before_start(s)
        result = trino._launcher(s, "start")
        if result.returncode != 0 and "Already running" not in result.stdout:
            raise TrinoClusterError(f"trino launcher failed: {result.stdout}{result.stderr}")
        _wait_for_coordinator(s, time.monotonic() + START_TIMEOUT)
    for n in range(1, workers + 1):
        start_worker(s, n)
    active = wait_for_workers(s, workers)
    trino._wait_for_catalog(s, time.monotonic() + START_TIMEOUT)  # needs a worker: it runs a query
    return active


def _wait_for_coordinator(s: Settings, deadline: float) -> None:
    while time.monotonic() < deadline:
        if trino.is_running(s):
            return
        if trino._launcher(s, "status").returncode != 0:
            raise TrinoClusterError(f"Trino exited during start-up; see its log {trino.log_file(s)}")
        time.sleep(1)
    raise TrinoClusterError(f"Trino did not start in time; see its log {trino.log_file(s)}")


def stop_worker(s: Settings, n: int = 1) -> bool:
    """Stop worker N; True if it was running."""
    if _launcher(s, n, "status").returncode != 0:
        return False
    result = _launcher(s, n, "stop")
    if result.returncode != 0 and "Not running" not in result.stdout:
        raise TrinoClusterError(
            f"trino worker stop failed: {result.stdout}{result.stderr}; log: {log_file(s, n)}"
        )
    return True


def stop(s: Settings, workers: int = 1) -> None:
    """The workers, then the coordinator (infra.trino.stop)."""
    for n in range(1, workers + 1):
        stop_worker(s, n)
    trino.stop(s)


def status(s: Settings, workers: int = 1) -> dict[str, Any]:
    """The coordinator's and each worker's process state, and the workers the coordinator lists active."""
    try:
        active = active_workers(s) if trino.is_running(s) else []
    except Exception as exc:  # e.g. the coordinator is still starting
        active = [f"unknown: {exc}"]
    return {
        "coordinator": {"port": s.trino_port, "running": trino.is_running(s), "log": str(trino.log_file(s))},
        "workers": {
            node_id(n): {
                "port": worker_port(s, n),
                "running": _launcher(s, n, "status").returncode == 0,
                "log": str(log_file(s, n)),
            }
            for n in range(1, workers + 1)
        },
        "active_workers": active,
    }
