"""A PostgreSQL server for Airflow's metadata DB when the scheduler is served (`govlake airflow start`):
Debian's binaries (`postgresql-15`, installed by infra/setup.sh), one cluster per installation on
127.0.0.1:`postgres_port`, password (scram-sha-256) generated once into `<home>/postgres/password` (0600).

PostgreSQL refuses to run as root; under root the cluster runs as Debian's `postgres` user with its data in
`/var/lib/postgresql/govlake/<installation>` (a home under /root or a 0700 temporary folder is not theirs to
enter), otherwise as the caller with its data under `<home>/postgres/data`.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from infra.private_files import generated_secret
from infra.settings import Settings

HOST = "127.0.0.1"
DATABASE = "airflow"
ROLE = "govlake"
SERVICE_USER = "postgres"  # Debian's system user, for a root caller


class PostgresError(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise PostgresError("PostgreSQL is not installed (`bash infra/setup.sh` installs postgresql-15)")
    return Path(found[-1]).parent


def state_dir(s: Settings) -> Path:
    return s.home / "postgres"


def _as_root() -> bool:
    return os.geteuid() == 0


def data_dir(s: Settings) -> Path:
    if _as_root():
        key = hashlib.sha256(str(s.home).encode()).hexdigest()[:12]
        return Path("/var/lib/postgresql/govlake") / key / "data"
    return state_dir(s) / "data"


def log_file(s: Settings) -> Path:
    return data_dir(s).parent / "postgres.log"


def password(s: Settings) -> str:
    """This installation's password of the `govlake` role: generated once, kept 0600 under the home."""
    return generated_secret(state_dir(s) / "password")


def url(s: Settings, driver: str = "psycopg") -> str:
    """SQLAlchemy URL of the metadata DB here (driver `psycopg`, or `asyncpg` for Airflow's async engine)."""
    return f"postgresql+{driver}://{ROLE}:{quote(password(s), safe='')}@{HOST}:{s.postgres_port}/{DATABASE}"


def _run(s: Settings, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A PostgreSQL binary, as the service user when we are root; its output in the error if it fails."""
    argv = [str(bin_dir() / cmd[0]), *cmd[1:]]
    if _as_root():
        argv = ["runuser", "-u", SERVICE_USER, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, cwd="/")
    if check and done.returncode != 0:
        raise PostgresError(f"{cmd[0]} failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
    return done


def _own(path: Path) -> None:
    """Make a folder the service user's (root callers)."""
    if _as_root():
        shutil.chown(path, SERVICE_USER, SERVICE_USER)


def init(s: Settings) -> None:
    """Create the cluster once: UTF-8, scram-sha-256 for every connection, the `govlake` superuser."""
    data = data_dir(s)
    if (data / "PG_VERSION").exists():
        return
    data.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _own(data.parent)
    pwfile = data.parent / "initdb.pw"  # readable by initdb's user only while it runs
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password(s))
    _own(pwfile)
    try:
        _run(s, "initdb", "-D", str(data), "-U", ROLE, "--auth=scram-sha-256", f"--pwfile={pwfile}",
             "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)


def is_running(s: Settings) -> bool:
    if not (data_dir(s) / "postmaster.pid").exists():
        return False
    return _run(s, "pg_isready", "-h", HOST, "-p", str(s.postgres_port), "-q", check=False).returncode == 0


def start(s: Settings) -> None:
    """Start the server (unless it runs) and create the `airflow` database once; its log on failure."""
    init(s)
    if not is_running(s):
        options = f"-p {s.postgres_port} -c listen_addresses={HOST} -c unix_socket_directories={data_dir(s)}"
        try:
            _run(s, "pg_ctl", "-D", str(data_dir(s)), "-l", str(log_file(s)), "-o", options, "-w", "-t", "60",
                 "start")  # fmt: skip
        except PostgresError as exc:
            raise PostgresError(f"{exc}\nsee {log_file(s)}") from exc
    _create_database(s)


def _create_database(s: Settings) -> None:
    env = {**os.environ, "PGPASSWORD": password(s)}
    base = [str(bin_dir() / "psql"), "-h", HOST, "-p", str(s.postgres_port), "-U", ROLE, "-d", "postgres"]
    base.append("-tAc")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
    exists = subprocess.run([*base, query], env=env, capture_output=True, text=True)
    if exists.returncode != 0:
        raise PostgresError(f"psql failed: {exists.stderr[-2000:]}")
    if exists.stdout.strip() != "1":
        made = subprocess.run([*base, f"CREATE DATABASE {DATABASE}"], env=env, capture_output=True, text=True)
        if made.returncode != 0:
            raise PostgresError(f"CREATE DATABASE failed: {made.stderr[-2000:]}")


def stop(s: Settings) -> bool:
    """Stop the server (fast shutdown: open sessions are ended); False when it was not running."""
    if not (data_dir(s) / "postmaster.pid").exists():
        return False
    _run(s, "pg_ctl", "-D", str(data_dir(s)), "-m", "fast", "-w", "stop", check=False)
    return True


def destroy(s: Settings) -> None:
    """Stop the server and delete its cluster (a test installation's, say), leaving the password."""
    stop(s)
    if data_dir(s).parent.is_dir():
        shutil.rmtree(data_dir(s).parent)
