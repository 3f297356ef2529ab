"""The wheel is the product: built from this checkout, installed (without the checkout) into a fresh venv
that holds only the locked dependencies, it runs `govlake` from another directory with its contracts, DAG
folder and data files, and leaves the synthetic generator (tools/) out.

Needs uv (as infra/setup.sh finds it); the locked packages come from uv's cache, so with a warm cache this
takes a few seconds (a cold cache downloads the lock's packages first).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "infra" / "requirements.lock"
CACHE = Path(os.environ.get("GOVLAKE_CACHE", Path.home() / ".cache" / "govlake"))
DATA_FILES = (  # read at run time through Path(__file__)
    "schemas/public_security/household_register.yaml",
    "schemas/libraries/population_base.yaml",
    "schemas/openlineage/run_event.schema.json",
    "infra/spark-log4j2.properties",
    "dags/feeds.py",
    "dags/libraries.py",
)
PACKAGES = ("govlake", "jobs", "quality", "catalog", "infra", "schemas", "lineage")
CHECKOUT_ONLY = ("infra/setup.sh", "infra/test.sh", "infra/requirements.lock")


def _uv() -> str | None:
    """uv as infra/setup.sh finds it: on PATH, else in the cache's bootstrap venv."""
    found = shutil.which("uv")
    bootstrap = CACHE / "bootstrap" / "bin" / "uv"
    return found or (str(bootstrap) if bootstrap.is_file() else None)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _uv_cached(uv: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
    """`uv <args>` from uv's cache alone, else with the index: online, uv revalidates every locked package
    with the index (40-55 s for the lock here), offline it links them from the cache in about a second."""
    offline = subprocess.run([uv, *args, "--offline"], cwd=cwd, env=env, capture_output=True, timeout=300)
    if offline.returncode != 0:
        _run([uv, *args], cwd, env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(wheel, venv, environment without the checkout) of a fresh install from the built wheel."""
    uv = _uv()
    if uv is None:
        pytest.skip(f"uv not found (neither on PATH nor at {CACHE / 'bootstrap/bin/uv'}; run infra/setup.sh)")
    tmp = tmp_path_factory.mktemp("packaging")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["UV_CACHE_DIR"] = env.get("UV_CACHE_DIR", str(CACHE / "uv"))
    env["GOVLAKE_HOME"] = str(tmp / "home")
    t0 = time.monotonic()
    _uv_cached(uv, ["build", "-q", "--wheel", "-o", str(tmp / "dist"), str(ROOT)], tmp, env)
    (wheel,) = (tmp / "dist").glob("govlake-*.whl")
    venv = tmp / "venv"
    _run([uv, "venv", "-q", "--python", sys.executable, str(venv)], tmp, env)
    python = ["--python", str(venv / "bin" / "python")]
    _uv_cached(uv, ["pip", "install", "-q", *python, "-r", str(LOCK)], tmp, env)
    _uv_cached(uv, ["pip", "install", "-q", *python, "--no-deps", str(wheel)], tmp, env)
    print(f"wheel built and installed in {time.monotonic() - t0:.1f}s")
    return wheel, venv, env


def test_the_wheel_holds_the_packages_and_their_data_but_not_tools(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [n for n in names if n.startswith("tools/")], "the synthetic generator must not ship"
    assert not [n for n in names if n.startswith("tests/") or n.startswith("benchmarks/")]
    missing = [f for f in DATA_FILES if f not in names]
    missing += [f"{p}/py.typed" for p in PACKAGES if f"{p}/py.typed" not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not [f for f in CHECKOUT_ONLY if f in names]
    assert len([n for n in names if n.startswith("catalog/") and n.endswith(".yaml")]) >= 10


def test_the_installed_command_runs_outside_the_checkout(installed, tmp_path: Path):
    _, venv, env = installed
    govlake = str(venv / "bin" / "govlake")
    assert "contracts" in _run([govlake, "--help"], tmp_path, env).stdout
    listed = _run([govlake, "contracts"], tmp_path, env).stdout
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert f"{site}/schemas/public_security/household_register.yaml" in listed  # the installed copy
    assert str(ROOT) not in listed
    probe = "from govlake.airflow_runner import DAGS_FOLDER; print(DAGS_FOLDER)"
    dags = Path(_run([str(venv / "bin" / "python"), "-c", probe], tmp_path, env).stdout.strip())
    assert dags == site / "dags" and (dags / "feeds.py").is_file()
