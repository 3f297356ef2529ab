"""What the shared Spark engine and its callers agree on: where its files are, how settings are compared,
and which errors travel back as themselves."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from govlake.batch_claim import BatchTaken
from infra.settings import LINEAGE_JOB_ENV, LINEAGE_PARENT_ENV, LINEAGE_ROOT_ENV, Settings
from jobs.preflight import DeliveryRejected
from schemas.contracts import ContractError
from schemas.quality import QualityGateFailed

# What a retry cannot change: the data, the contract or the request is wrong (an Airflow task fails at once).
PERMANENT: tuple[type[Exception], ...] = (
    QualityGateFailed, DeliveryRejected, ContractError, FileNotFoundError, ValueError, KeyError,
)  # fmt: skip
APP_NAME = "govlake_engine"
SOCKET_PATH_MAX = 100  # AF_UNIX paths are at most 107 bytes on Linux
HANDOFF = (*LINEAGE_PARENT_ENV, *LINEAGE_ROOT_ENV, LINEAGE_JOB_ENV)  # a task's lineage, sent with its work


@dataclass(frozen=True)
class EngineFiles:
    folder: Path
    socket: Path
    pid: Path
    log: Path
    raw_lineage: Path  # the listener's own file; its events are handed on to the tasks


def engine_files(s: Settings) -> EngineFiles:
    """The engine's files under `<home>/engine` (0700); the socket in a short folder of the user's own
    under /tmp when the home's path is too long for a Unix socket."""
    folder = s.engine_dir
    socket = folder / "engine.sock"
    if len(str(socket)) > SOCKET_PATH_MAX:
        digest = hashlib.sha256(str(s.home).encode()).hexdigest()[:16]
        short = Path("/tmp") / f"govlake-{os.getuid()}"
        short.mkdir(mode=0o700, exist_ok=True)
        socket = short / f"{digest}.sock"
    return EngineFiles(folder, socket, folder / "engine.pid", folder / "engine.log", folder / "lineage.jsonl")


def settings_digest(s: Settings) -> str:
    """The settings an engine and its caller must share (every field but whether to use the engine and
    the Airflow tasks' retry policy), as one digest."""
    caller_only = {"spark_engine", "task_retries", "task_retry_delay", "task_max_retry_delay"}
    return hashlib.sha256(s.model_dump_json(exclude=caller_only).encode()).hexdigest()[:16]


def errors_by_name() -> dict[str, type[Exception]]:
    """Errors the engine returns by name, raised again as themselves on the caller's side."""
    return {e.__name__: e for e in (*PERMANENT, BatchTaken)}
