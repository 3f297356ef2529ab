"""Every test session gets its own installation home (warehouse, landing, Airflow DB, Trino data) and
its own Trino port, so tests never touch a developer's .lake/ or a running demo server."""

from __future__ import annotations

import os
import tempfile

import pytest

if "GOVLAKE_TEST_HOME" not in os.environ:
    os.environ["GOVLAKE_TEST_HOME"] = tempfile.mkdtemp(prefix="govlake-test-")
os.environ["GOVLAKE_HOME"] = os.environ["GOVLAKE_TEST_HOME"]
os.environ.setdefault("GOVLAKE_TRINO_PORT", "18181")
os.environ.setdefault("GOVLAKE_POSTGRES_PORT", "15482")  # the served Airflow's (test_served_airflow.py)
os.environ.setdefault("GOVLAKE_AIRFLOW_API_PORT", "18191")
os.environ.setdefault("GOVLAKE_SPARK_DRIVER_MEMORY", "2g")
os.environ["AIRFLOW_HOME"] = os.path.join(os.environ["GOVLAKE_HOME"], "airflow")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{os.environ['AIRFLOW_HOME']}/airflow.db"


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    """An empty installation home of this test's own (settings() re-read before and after)."""
    from infra.settings import settings

    monkeypatch.setenv("GOVLAKE_HOME", str(tmp_path))
    settings.cache_clear()
    yield tmp_path
    settings.cache_clear()
