"""The command line's one error path: a known failure is ONE line on stderr naming the fix, exit code 2;
any other exception is a bug and keeps its traceback.

`KNOWN` maps exception types to the function that words them (None: not known after all, try the next);
Trino query errors are told apart by their error name (`TRINO_QUERY`), Spark's and Delta's by their error
condition (`SPARK`). The first known exception along the `raise … from` chain decides. `run` applies it
once around a command (`govlake.cli.main`, `python -m tools.synthetic`, `python -m tools.demo`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from urllib.parse import urlparse

import requests
import urllib3.exceptions
from py4j.protocol import Py4JError, Py4JJavaError
from pydantic import ValidationError
from pyspark.errors import PySparkException
from trino import exceptions as trino_errors

from catalog.loader import CatalogError
from govlake.airflow_served import AirflowServedError
from govlake.engine_client import EngineError
from infra import spark_cluster, trino, trino_cluster
from infra.event_receiver import ReceiverError
from infra.postgres import PostgresError
from infra.settings import Settings, settings
from infra.trino_client import TrinoUnreachable
from jobs.preflight import DeliveryRejected
from schemas.contracts import ContractError
from schemas.quality import QualityGateFailed

EXIT_KNOWN = 2
START = "start it with `govlake trino start`"
RESTART = "restart it with `govlake trino stop` and `govlake trino start`"
RUN_FEED = "run the feed that builds it first (`govlake run <department>/<feed>` or `govlake province run`)"

TRINO_QUERY = {  # Trino's error name → the fix
    "TABLE_NOT_FOUND": RUN_FEED,
    "SCHEMA_NOT_FOUND": RUN_FEED + "; share schemas come with `govlake share provision`",
    "CATALOG_NOT_FOUND": "Trino runs without this catalog: " + RESTART,
    "COLUMN_NOT_FOUND": 'fix the column name (`govlake query "SHOW COLUMNS FROM <table>"` lists them)',
    "PERMISSION_DENIED": "this user may not read it: request a share (catalog/requests), then "
    "`govlake share provision`",
    "SYNTAX_ERROR": "fix the SQL",
}
SPARK = {  # Spark's or Delta's error condition → the fix
    "JAVA_GATEWAY_EXITED": "Spark could not start its JVM: check Java 17 or 21 (GOVLAKE_SPARK_JAVA_HOME, "
    "JAVA_HOME) and run `govlake setup`",
    "TABLE_OR_VIEW_NOT_FOUND": RUN_FEED,
    "SCHEMA_NOT_FOUND": RUN_FEED,
    "PATH_NOT_FOUND": RUN_FEED,
    "DELTA_MISSING_DELTA_TABLE": RUN_FEED,
    "DELTA_PATH_DOES_NOT_EXIST": RUN_FEED,
    "DELTA_TABLE_NOT_FOUND": RUN_FEED,
}

Words = Callable[[BaseException, str], str | None]  # (exception, command) → the line, or None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def trino_down(exc: BaseException, s: Settings) -> str:
    """Trino does not take queries: not running, still starting, or answering only on its HTTP port."""
    where = f"{s.trino_host}:{s.trino_port}"
    if not s.manage_trino:
        return (
            f"no Trino answers at {where} (GOVLAKE_MANAGE_TRINO=0): start that cluster, or set "
            "GOVLAKE_TRINO_HOST and GOVLAKE_TRINO_PORT to where it runs"
        )
    info = trino.server_info(s)
    if info is None:
        return f"Trino is not running at {where}: {START}"
    if info.get("starting", False):
        return f"Trino at {where} is still starting: retry in a few seconds (log: {trino.log_file(s)})"
    return f"Trino answers at {where} but takes no queries ({_first_line(exc)}): {RESTART}"


def _address(exc: BaseException) -> tuple[str | None, int | None]:
    """Host and port a requests/urllib3 error was about, where it says."""
    url = getattr(getattr(exc, "request", None), "url", None)
    if url:
        parsed = urlparse(url)
        return parsed.hostname, parsed.port
    pool = getattr(exc, "pool", None)
    return getattr(pool, "host", None), getattr(pool, "port", None)


def _unreachable(exc: BaseException, command: str) -> str:
    """A connection error is Trino's unless it names another address (e.g. GOVLAKE_LINEAGE_URL's)."""
    s = settings()
    host, port = _address(exc)
    if host is not None and port not in (s.trino_port, s.trino_https_port):
        return f"cannot reach {host}:{port} ({_first_line(exc)}): check that it runs (GOVLAKE_LINEAGE_URL?)"
    return trino_down(exc, s)


def _refused(exc: BaseException, command: str) -> str:
    return (
        f"Trino refused the login ({_first_line(exc)}): check that GOVLAKE_TRINO_SECURITY matches the "
        f"server, or {RESTART} (rewrites the passwords)"
    )


def _http(exc: BaseException, command: str) -> str | None:
    status = re.match(r"error (\d{3})", str(exc))
    code = int(status.group(1)) if status else 0
    if isinstance(exc, trino_errors.Http502Error | trino_errors.Http503Error | trino_errors.Http504Error):
        code = 503
    if code in (502, 503, 504):
        return trino_down(exc, settings())
    return _refused(exc, command) if code in (401, 403) else None


def _query(exc: BaseException, command: str) -> str:
    assert isinstance(exc, trino_errors.TrinoQueryError)
    fix = TRINO_QUERY.get(exc.error_name or "")
    if fix is None and isinstance(exc, trino_errors.TrinoUserError):
        fix = "fix the statement"
    if fix is None:
        fix = f"see Trino's log {trino.log_file(settings())} (query {exc.query_id})"
    return f"Trino: {exc.error_name}: {exc.message}: {fix}"


def _condition(exc: BaseException) -> str:
    """`[CONDITION] message` as PySpark words it, or its getCondition() (which may need the JVM)."""
    named = re.match(r"\[([A-Z0-9_]+)[.\]]", str(exc).strip())
    if named:
        return named.group(1)
    try:
        return exc.getCondition() or ""  # type: ignore[attr-defined]
    except Exception:  # the JVM is gone: no condition to read
        return ""


def _spark(exc: BaseException, command: str) -> str | None:
    fix = SPARK.get(_condition(exc))
    if fix is None and "is not a Delta table" in str(exc):
        fix = RUN_FEED
    return f"{_first_line(exc)}: {fix}" if fix else None


def _py4j(exc: BaseException, command: str) -> str | None:
    if isinstance(exc, Py4JJavaError):  # a Java exception PySpark did not translate: a bug to look at
        return None
    return (
        f"the Spark engine's JVM does not answer ({_first_line(exc)}): run the command again; if it recurs "
        "check Java (GOVLAKE_SPARK_JAVA_HOME) and memory (GOVLAKE_SPARK_DRIVER_MEMORY)"
    )


def _settings(exc: BaseException, command: str) -> str | None:
    assert isinstance(exc, ValidationError)
    if exc.title != Settings.__name__:
        return None  # another model's: worded as a ValueError below
    problems = "; ".join(
        f"GOVLAKE_{'_'.join(map(str, e['loc'])).upper() or '*'}={e.get('input')!r}: {e['msg']}"
        for e in exc.errors()
    )
    return f"invalid setting {problems}: fix or unset the variable (README, Configuration)"


def _bad_value(exc: BaseException, command: str) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return f"{exc.title}: {problems}: see `{command} --help`"
    return f"{exc}: see `{command} --help`"


KNOWN: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Words], ...] = (
    (ValidationError, _settings),
    ((TrinoUnreachable, trino_errors.TrinoConnectionError), lambda e, c: trino_down(e, settings())),
    (trino_errors.TrinoAuthError, _refused),
    (trino_errors.HttpError, _http),
    (trino_errors.TrinoQueryError, _query),
    ((requests.exceptions.RequestException, urllib3.exceptions.HTTPError), _unreachable),
    ((trino.TrinoError, ReceiverError, EngineError), lambda e, c: str(e)),
    ((spark_cluster.SparkClusterError, trino_cluster.TrinoClusterError), lambda e, c: str(e)),
    ((AirflowServedError, PostgresError), lambda e, c: str(e)),
    (PySparkException, _spark),
    (Py4JError, _py4j),
    (
        ContractError,
        lambda e, c: f"{e}: check the feed name and its contract (`govlake contracts` checks them all)",
    ),
    (CatalogError, lambda e, c: f"{e}: fix the catalog file (`govlake catalog validate` checks them)"),
    (
        QualityGateFailed,
        lambda e, c: (
            f"{e}: gold is untouched; the department fixes the rows (fix list: "
            "`govlake quality report`), then run the batch again"
        ),
    ),
    (
        DeliveryRejected,
        lambda e, c: (
            f"delivery rejected: {e}: the department fixes and re-delivers it, then run the same batch again"
        ),
    ),
    (FileNotFoundError, lambda e, c: f"{getattr(e, 'filename', None) or e} not found: check the path"),
    (ValueError, _bad_value),
)


def describe(exc: BaseException, command: str) -> str | None:
    """The one line for a known failure (whitespace folded), or None for a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for types, words in KNOWN:
            if not isinstance(current, types):
                continue
            try:
                line = words(current, command)
            except Exception:  # the error path must not hide the original failure
                return None
            if line:
                return " ".join(line.split())
        current = current.__cause__
    return None


def run(command: str, fn: Callable[[], int]) -> int:
    """`fn()`'s exit code; a known failure prints `<command>: error: <line>` and gives 2. Settings are
    read first, so an invalid GOVLAKE_* variable fails every command the same way."""
    try:
        settings()
        return fn()
    except Exception as exc:
        line = describe(exc, command)
        if line is None:
            raise
        print(f"{command}: error: {line}", file=sys.stderr)
        return EXIT_KNOWN
