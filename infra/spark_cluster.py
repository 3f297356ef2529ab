"""A Spark standalone cluster on this machine for the cluster profile: one master and two workers, run from
the classes the pyspark distribution ships (`bin/spark-class`), with the Java infra.java picks for Spark.

Selected by configuration only: with GOVLAKE_SPARK_MASTER=spark://127.0.0.1:17077 (the port is taken from
the URL) `jobs.spark.get_spark` submits to this cluster. State lives under `<home>/spark-cluster/`:
`logs/` (one log per process), `work/worker-N/` (the executors' folders and logs), `*.pid`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.java import spark_java_home
from infra.settings import PACKAGE_ROOT, Settings

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"
MASTER_PORT = 17077  # unless GOVLAKE_SPARK_MASTER names another
WORKER_CORES = 1  # GOVLAKE_SPARK_WORKERS workers of GOVLAKE_SPARK_WORKER_MEMORY each
DAEMON_MEMORY = "256m"  # the master's and the workers' own heap
START_TIMEOUT = 120.0


class SparkClusterError(RuntimeError):
    pass


@dataclass(frozen=True)
class Node:
    """One process of the cluster: its name (master, worker-1, …), main class and arguments."""

    name: str
    main: str
    args: tuple[str, ...]


def cluster_dir(s: Settings) -> Path:
    return s.home / "spark-cluster"


def log_file(s: Settings, name: str) -> Path:
    return cluster_dir(s) / "logs" / f"{name}.log"


def _pid_file(s: Settings, name: str) -> Path:
    return cluster_dir(s) / f"{name}.pid"


def master_port(s: Settings) -> int:
    """The port of GOVLAKE_SPARK_MASTER when it is spark://host:port, else MASTER_PORT."""
    if s.spark_master.startswith("spark://"):
        tail = s.spark_master.removeprefix("spark://").rsplit(":", 1)
        if len(tail) == 2 and tail[1].isdigit():
            return int(tail[1])
    return MASTER_PORT


def worker_ui_ports(s: Settings) -> range:
    """GOVLAKE_SPARK_UI_PORT is the master's web UI; worker N's is the N-th port after it."""
    return range(s.spark_ui_port + 1, s.spark_ui_port + 1 + s.spark_workers)


def master_url(s: Settings) -> str:
    return f"spark://{HOST}:{master_port(s)}"


def is_local_master(s: Settings) -> bool:
    """GOVLAKE_SPARK_MASTER names a standalone master on this machine (the one `start` runs)."""
    return s.spark_master.startswith(("spark://127.0.0.1:", "spark://localhost:"))


def spark_home() -> Path:
    """The pyspark distribution (bin/spark-class, jars/) of this venv, found without importing pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SparkClusterError("pyspark is not installed in this environment: run infra/setup.sh")
    return Path(spec.origin).parent


def nodes(s: Settings) -> list[Node]:
    """The master, then one worker per web UI port, each with its own work folder."""
    master = Node(
        "master",
        MASTER_CLASS,
        ("--host", HOST, "--port", str(master_port(s)), "--webui-port", str(s.spark_ui_port)),
    )
    workers = [
        Node(
            f"worker-{i}",
            WORKER_CLASS,
            (
                *("--host", HOST, "--cores", str(WORKER_CORES), "--memory", s.spark_worker_memory),
                *("--webui-port", str(port), "--work-dir", str(cluster_dir(s) / "work" / f"worker-{i}")),
                master_url(s),
            ),
        )
        for i, port in enumerate(worker_ui_ports(s), start=1)
    ]
    return [master, *workers]


def _env(s: Settings) -> dict[str, str]:
    home = spark_home()
    java = spark_java_home(s.spark_java_home)
    return {
        **os.environ,
        "SPARK_HOME": str(home),
        "JAVA_HOME": str(java),
        "PATH": f"{java / 'bin'}:{os.environ.get('PATH', '')}",
        "SPARK_LOCAL_IP": HOST,
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        # A port in use fails the start (default: Spark quietly takes the next one, the workers and our
        # status poll would then talk to whatever holds the configured port).
        "SPARK_DAEMON_JAVA_OPTS": "-Dspark.port.maxRetries=0",
        "SPARK_LOG_DIR": str(cluster_dir(s) / "logs"),
        "SPARK_LOCAL_DIRS": str(cluster_dir(s) / "local"),  # executors' scratch (shuffle, fetched jars)
        # Python workers run our code: the venv's interpreter, the checkout importable from any folder.
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "PYTHONPATH": os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p),
    }


def master_state(s: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """The master's JSON status (workers, aliveworkers, activeapps, completedapps), None if it does not
    answer."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{s.spark_ui_port}/json/", timeout=timeout) as resp:
            state: dict[str, Any] = json.load(resp)
            return state
    except (urllib.error.URLError, OSError, ValueError):
        return None


def alive_workers(state: dict[str, Any] | None) -> int:
    if not state:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def _running_pid(s: Settings, node: Node) -> int | None:
    """The pid in the node's pid file if that process still runs this node's class."""
    path = _pid_file(s, node.name)
    try:
        pid = int(path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if node.main in cmdline else None


def _launch(s: Settings, node: Node, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = log_file(s, node.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), node.main, *node.args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cluster_dir(s),
            env=env,
            start_new_session=True,  # survives the caller; spark-class execs java, so this is the JVM
        )
    _pid_file(s, node.name).write_text(f"{proc.pid}\n")
    return proc


def _exited(s: Settings, name: str, code: int | None) -> SparkClusterError:
    """The error for a process that exited while starting: the end of its log, and the log's name."""
    log = log_file(s, name)
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    return SparkClusterError(f"spark {name} exited while starting (code {code}); its log {log} ends:\n{tail}")


def start(s: Settings, timeout: float = START_TIMEOUT) -> dict[str, Any]:
    """Start the master and the workers that do not run yet (in the background); wait until the master
    reports every worker ALIVE and return its status. Errors name the log to read."""
    state = master_state(s)
    everyone = nodes(s)
    if state is not None and _running_pid(s, everyone[0]) is None:
        raise SparkClusterError(
            f"a Spark master answers on {HOST}:{s.spark_ui_port} but none runs from {cluster_dir(s)}: "
            "it belongs to another installation; stop it first"
        )
    (cluster_dir(s) / "work").mkdir(parents=True, exist_ok=True)
    env = _env(s)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for node in everyone:
        if _running_pid(s, node) is None:
            procs[node.name] = _launch(s, node, env)
        if node.main == MASTER_CLASS:
            _wait_for_master(s, procs.get(node.name), time.monotonic() + timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = master_state(s)
        if alive_workers(state) >= s.spark_workers and state is not None:
            return state
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise _exited(s, name, proc.returncode)
        time.sleep(0.5)
    raise SparkClusterError(
        f"the Spark workers did not register with {master_url(s)} within {timeout:.0f}s "
        f"({alive_workers(master_state(s))} of {s.spark_workers} alive); see "
        + ", ".join(str(log_file(s, n.name)) for n in everyone)
    )


def _wait_for_master(s: Settings, proc: subprocess.Popen[bytes] | None, deadline: float) -> None:
    """Workers register faster once the master listens; wait for its status page."""
    while time.monotonic() < deadline:
        if master_state(s) is not None:
            return
        if proc is not None and proc.poll() is not None:
            raise _exited(s, "master", proc.returncode)
        time.sleep(0.5)
    raise SparkClusterError(f"the Spark master did not answer in time; see its log {log_file(s, 'master')}")


def stop(s: Settings, timeout: float = 15.0) -> list[str]:
    """Stop the workers, then the master (SIGTERM; after `timeout`, SIGKILL to the process group, with the
    worker's executors), once running applications have ended (10 s at most); the names of those stopped."""
    deadline = time.monotonic() + 10
    while (master_state(s) or {}).get("activeapps") and time.monotonic() < deadline:
        time.sleep(0.5)
    stopped = []
    for node in reversed(nodes(s)):
        pid = _running_pid(s, node)
        if pid is not None:
            _terminate(pid, timeout)
            stopped.append(node.name)
        _pid_file(s, node.name).unlink(missing_ok=True)
    return stopped


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.25)
    try:
        os.killpg(pid, signal.SIGKILL)  # its own session (start_new_session): the daemon and its executors
    except ProcessLookupError:
        return


def _alive(pid: int) -> bool:
    """Still running (a daemon this process started, e.g. in a test, stays a zombie until reaped here)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return False
    except ChildProcessError:  # not our child
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def status(s: Settings) -> dict[str, Any]:
    """Each process's pid (None: not running), and the master's alive workers and applications."""
    state = master_state(s)
    return {
        "url": master_url(s),
        "processes": {node.name: _running_pid(s, node) for node in nodes(s)},
        "alive_workers": alive_workers(state),
        "active_apps": [a.get("name") for a in (state or {}).get("activeapps", [])],
        "completed_apps": [a.get("name") for a in (state or {}).get("completedapps", [])],
        "web_ui": f"http://{HOST}:{s.spark_ui_port}/",
    }


if __name__ == "__main__":  # python -m infra.spark_cluster start|stop|status
    from infra.settings import settings

    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    actions: dict[str, Callable[[Settings], object]] = {"start": start, "stop": stop, "status": status}
    if command not in actions:
        sys.exit("usage: python -m infra.spark_cluster start|stop|status")
    print(json.dumps(actions[command](settings()), indent=1, default=str))
