"""The command line's one error path: a known failure is one line on stderr naming the fix, exit code 2;
an unknown exception (a bug) keeps its traceback. Runs the real CLI as a subprocess against a closed port
and an empty installation home, so Trino need not (and must not) run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from py4j.protocol import Py4JJavaError, Py4JNetworkError
from pyspark.errors import AnalysisException, PySparkRuntimeError
from trino.exceptions import TrinoUserError

from govlake.cli_errors import EXIT_KNOWN, describe
from infra.trino import TrinoError
from jobs.preflight import DeliveryRejected
from schemas.quality import QualityGateFailed

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    """A port nothing listens on, nor on +5 (HTTPS) and +7 (events)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 7 < 65536 and all(_closed(port + d) for d in (0, 5, 7)):
            return port
    raise RuntimeError("no free port triple")


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def env(tmp_path):
    """The environment of a fresh installation whose Trino is not running."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOVLAKE_") or k == "GOVLAKE_CACHE"}
    return clean | {"GOVLAKE_HOME": str(tmp_path), "GOVLAKE_TRINO_PORT": str(_closed_port())}


def govlake(env: dict[str, str], *args: str, module: str = "govlake.cli") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == EXIT_KNOWN, result.stderr
    return lines[0]


@pytest.mark.parametrize("args", [["catalog", "report"], ["query", "SELECT 1"]], ids=" ".join)
def test_trino_not_running_is_one_line_naming_the_fix(env, args):
    line = _one_line(govlake(env, *args))
    assert "Trino is not running" in line and f":{env['GOVLAKE_TRINO_PORT']}" in line
    assert "`govlake trino start`" in line


def test_trino_not_running_over_plain_http_too(env):
    line = _one_line(govlake(env | {"GOVLAKE_TRINO_SECURITY": "0"}, "query", "SELECT 1"))
    assert "`govlake trino start`" in line


def test_a_bad_batch_id_is_one_line(env):
    line = _one_line(govlake(env, "run", "public_security/household_register", "--batch", "x;DROP"))
    assert "'x;DROP' is not a valid batch id" in line and "govlake run --help" in line


def test_the_generator_reports_the_same_way(env):
    line = _one_line(govlake(env, "household", "--batch", "a b", module="tools.synthetic"))
    assert "is not a valid batch id" in line


def test_an_invalid_setting_names_the_variable(env):
    line = _one_line(govlake(env | {"GOVLAKE_TRINO_PORT": "abc"}, "contracts"))
    assert "GOVLAKE_TRINO_PORT='abc'" in line


def test_the_cli_does_not_import_great_expectations():
    code = "import sys, govlake.cli; sys.exit(any(m.startswith('great_expectations') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def _elsewhere() -> requests.ConnectionError:
    """A connection error about another service than Trino (the lineage endpoint)."""
    return requests.ConnectionError(
        "refused", request=requests.Request("POST", "http://marquez.example:5000/api/v1/lineage").prepare()
    )


def _query_error(name: str) -> TrinoUserError:
    return TrinoUserError({"errorName": name, "message": "line 1:15: Table 'lake.gold.x' does not exist"})


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (_query_error("TABLE_NOT_FOUND"), "govlake run <department>/<feed>"),
        (_query_error("SYNTAX_ERROR"), "fix the SQL"),
        (PySparkRuntimeError(errorClass="JAVA_GATEWAY_EXITED", messageParameters={}), "govlake setup"),
        (AnalysisException("[DELTA_MISSING_DELTA_TABLE] `/w/gold/x` is not a Delta table."), "govlake run"),
        (AnalysisException("[PATH_NOT_FOUND] Path does not exist: file:/w/silver/x."), "govlake run"),
        (AnalysisException("`/w/gold/x` is not a Delta table."), "province run"),
        (TrinoError("Trino exited during start-up; see its log: /h/server.log"), "see its log"),
        (_elsewhere(), "cannot reach marquez.example:5000"),
        (Py4JNetworkError("Answer from Java side is empty"), "run the command again"),
        (QualityGateFailed("quality gate blocked gold.population_person"), "govlake quality report"),
        (DeliveryRejected("a.csv: header has 8 fields, the contract 9"), "re-delivers"),
        (ValueError("'X' is not a valid name"), "see `govlake share --help`"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "",
)
def test_known_failures_name_the_fix(exc, words):
    line = describe(exc, "govlake share")
    assert line is not None and words in line and "\n" not in line


def test_a_known_cause_counts():
    try:
        try:
            raise QualityGateFailed("blocked")
        except QualityGateFailed as cause:
            raise RuntimeError("stage failed") from cause
    except RuntimeError as exc:
        assert "blocked" in (describe(exc, "govlake run") or "")


class _JavaException:
    _target_id = "o1"


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("boom"), KeyError("x"), Py4JJavaError("calling o1.foo", _JavaException())],
    ids=lambda e: type(e).__name__,
)
def test_unknown_exceptions_are_bugs(exc):
    assert describe(exc, "govlake run") is None
