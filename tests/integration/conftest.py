from __future__ import annotations

import pytest

from infra.settings import settings


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def spark_engine():
    """The shared Spark engine the session's Airflow tasks run on (GOVLAKE_SPARK_ENGINE=auto), as in
    production; in-process tests keep a Spark of their own."""
    from govlake import engine_client

    s = settings()
    up = engine_client.start(s)
    yield up
    engine_client.stop(s)


@pytest.fixture(scope="session")
def trino_server():
    """One real Trino server for the test session, over the test installation's warehouse."""
    from catalog.server import start_trino
    from infra import trino

    s = settings()
    start_trino(s)
    yield s
    trino.stop(s)


@pytest.fixture(scope="session")
def sql(trino_server):
    from infra.trino_client import query

    def run(statement: str, params: list | None = None) -> list[list]:
        return query(statement, params)

    return run
