"""Airflow 3 served for real (`govlake airflow start|stop|status`): scheduler with the LocalExecutor, DAG
processor, triggerer (it runs the delivery watchers, govlake.delivery_watch) and API server/UI, on a
PostgreSQL metadata DB (infra/postgres.py, or GOVLAKE_AIRFLOW_DB_URL).

Feed DAGs are unpaused at creation here, so a delivery that lands starts its feed by itself. State lives in
`<home>/airflow/served/` (AIRFLOW_HOME: logs, pids, the generated UI passwords, the shared JWT secret);
`airflow dags test` (govlake.airflow_runner) keeps its own SQLite DB beside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from govlake.airflow_runner import airflow_env
from infra import postgres
from infra.private_files import generated_secret
from infra.settings import Settings

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


class AirflowServedError(RuntimeError):
    pass


def served_home(s: Settings) -> Path:
    return s.airflow_home / "served"


def log_file(s: Settings, component: str) -> Path:
    return served_home(s) / f"{component}.log"


def _pid_file(s: Settings, component: str) -> Path:
    return served_home(s) / f"{component}.pid"


def _secret(s: Settings, name: str) -> str:
    """A secret every component must share (the execution API's JWT key), generated once, 0600."""
    return generated_secret(served_home(s) / name, 32)


def db_urls(s: Settings) -> tuple[str, str]:
    """(sync, async) SQLAlchemy URLs of the metadata DB."""
    if s.airflow_db_url:
        sync = s.airflow_db_url
        scheme, rest = sync.split("://", 1)
        return sync, f"{scheme.split('+')[0]}+asyncpg://{rest}"
    return postgres.url(s), postgres.url(s, "asyncpg")


def served_env(s: Settings) -> dict[str, str]:
    sync, async_ = db_urls(s)
    api = f"http://127.0.0.1:{s.airflow_api_port}"
    return {
        **airflow_env(s),
        "AIRFLOW_HOME": str(served_home(s)),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": async_,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(s.airflow_api_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(s, "jwt_secret"),
        "AIRFLOW__API__SECRET_KEY": _secret(s, "api_secret"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__TRIGGERER__DEFAULT_CAPACITY": "200",  # one delivery watcher a feed
    }


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _pid(s: Settings, component: str) -> int | None:
    """The pid of a component we started, if it is still that process."""
    try:
        pid = int(_pid_file(s, component).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    names = (component.encode(), component.replace("-", "_").encode())  # api-server retitles: api_server
    return pid if any(name in cmdline for name in names) else None


def health(s: Settings) -> dict[str, str] | None:
    """The API server's /api/v2/monitor/health, as {component: status}; None when it does not answer."""
    import json  # lazy: only status and start poll it

    health_url = f"http://127.0.0.1:{s.airflow_api_port}/api/v2/monitor/health"
    try:
        with urllib.request.urlopen(health_url, timeout=5) as r:
            body = json.loads(r.read())
    except (OSError, ValueError):
        return None
    return {k: str((body.get(k) or {}).get("status")) for k in ("metadatabase", *HEALTH_KEYS.values())}


def migrate(s: Settings) -> None:
    env = served_env(s)
    done = subprocess.run([_airflow(), "db", "migrate"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise AirflowServedError(f"airflow db migrate failed:\n{(done.stderr or done.stdout)[-3000:]}")


def start(s: Settings, timeout: float = 240.0) -> dict[str, object]:
    """PostgreSQL (unless an outside DB is configured), the metadata DB migrated, then each component that
    is not running; waits until the API server reports all of them healthy."""
    if not s.airflow_db_url:
        postgres.start(s)
    served_home(s).mkdir(mode=0o700, parents=True, exist_ok=True)
    migrate(s)
    env, started = served_env(s), {}
    for component in COMPONENTS:
        if _pid(s, component) is None:
            with open(log_file(s, component), "ab") as log:
                started[component] = subprocess.Popen(
                    [_airflow(), component], env=env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            _pid_file(s, component).write_text(str(started[component].pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for component, proc in started.items():
            if proc.poll() is not None:
                raise AirflowServedError(f"airflow {component} exited; see {log_file(s, component)}")
        state = health(s)
        if state and all(v == "healthy" for v in state.values()):
            return status(s)
        time.sleep(2)
    raise AirflowServedError(
        f"Airflow not healthy after {timeout:.0f}s ({health(s)}); see {served_home(s)}/*.log"
    )


def stop(s: Settings, timeout: float = 30.0) -> list[str]:
    """Stop every component (SIGTERM to its process group, then SIGKILL), then the PostgreSQL run here."""
    stopped = []
    for component in reversed(COMPONENTS):
        pid = _pid(s, component)
        if pid is None:
            continue
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid(s, component) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        if _pid(s, component) is not None:
            _signal_group(pid, signal.SIGKILL)
        _pid_file(s, component).unlink(missing_ok=True)
        stopped.append(component)
    if not s.airflow_db_url and postgres.stop(s):
        stopped.append("postgres")
    return stopped


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def status(s: Settings) -> dict[str, object]:
    return {
        "pids": {c: _pid(s, c) for c in COMPONENTS},
        "health": health(s),
        "ui": f"http://127.0.0.1:{s.airflow_api_port}",
        "passwords": str(served_home(s) / "simple_auth_manager_passwords.json.generated"),
    }
