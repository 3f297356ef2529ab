"""Runs feed DAGs through Airflow 3 (`airflow dags test`) on the installation's SQLite metadata DB."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from govlake.lineage_provider import provider_env
from infra.settings import Settings, settings

DAGS_FOLDER = Path(__file__).resolve().parent.parent / "dags"  # installed beside this package


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    state: str
    returncode: int
    output: str


def airflow_env(s: Settings | None = None) -> dict[str, str]:
    s = s or settings()
    home = s.airflow_home
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        **provider_env(s),  # OpenLineage provider: on unless GOVLAKE_LINEAGE=0
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "GOVLAKE_HOME": str(s.home),
        "GOVLAKE_CACHE": str(s.cache),
        "PYTHONUNBUFFERED": "1",
    }


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def migrate(s: Settings | None = None) -> None:
    """Create or upgrade the metadata DB once per installation."""
    s = s or settings()
    marker = s.airflow_home / ".migrated"
    if marker.exists():
        return
    s.airflow_home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([_airflow(), "db", "migrate"], env=airflow_env(s), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    marker.touch()


def run_dag(dag_id: str, conf: dict | None = None, echo: bool = True, s: Settings | None = None) -> DagRun:
    """`airflow dags test` the DAG and report the run's final state."""
    s = s or settings()
    migrate(s)
    cmd = [_airflow(), "dags", "test", dag_id]
    if conf:
        cmd += ["--conf", json.dumps(conf)]
    proc = subprocess.Popen(
        cmd, env=airflow_env(s), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo:
            sys.stdout.write(line)
    proc.wait()
    output = "".join(lines)
    state = _final_state(output)
    return DagRun(dag_id, state, proc.returncode, output)


def _final_state(output: str) -> str:
    """The state Airflow reports in its 'DagRun Finished: … state=<state>, …' line."""
    for line in reversed(output.splitlines()):
        if "DagRun Finished" in line:
            match = re.search(r"\bstate=(\w+)", line)
            if match:
                return match.group(1)
    return "unknown"
