#!/usr/bin/env bash
# Sets up this checkout on a machine with nothing but python3.11, then (by default) runs the demo:
#   bash infra/setup.sh          # install + start Trino + run the household-register feed end to end
#   bash infra/setup.sh --no-demo
# Big downloads (venv, Spark jars, Trino, Java) are cached in $GOVLAKE_CACHE (default ~/.cache/govlake),
# so a second run downloads nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${GOVLAKE_CACHE:-$HOME/.cache/govlake}"
mkdir -p "$CACHE"
PYTHON="${GOVLAKE_PYTHON:-$(command -v python3.11 || command -v python3)}"

# 1. uv, in a bootstrap venv of its own (no global installs).
UV="$(command -v uv || true)"
if [ -z "$UV" ]; then
  if [ ! -x "$CACHE/bootstrap/bin/uv" ]; then
    "$PYTHON" -m venv "$CACHE/bootstrap"
    "$CACHE/bootstrap/bin/pip" install -q --disable-pip-version-check "uv>=0.9,<1"
  fi
  UV="$CACHE/bootstrap/bin/uv"
fi

# 2. The project venv, outside the clone, keyed by the lock file and this checkout's path: a changed lock
#    gets a fresh venv, and two checkouts never share one (the project is installed editable). Packages
#    come from uv's cache, hard-linked where it shares a file system, so a new venv costs seconds.
LOCK="$ROOT/infra/requirements.lock"
KEY="$(cat "$LOCK" "$ROOT/pyproject.toml" | sha256sum | cut -c1-12)-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
VENV="$CACHE/venvs/$KEY"
export UV_CACHE_DIR="$CACHE/uv"
if [ ! -f "$VENV/.complete" ]; then
  rm -rf "$VENV"
  "$UV" venv -q --python "$PYTHON" "$VENV"
  # Byte-compiled up front: every Airflow task imports Airflow and GX again, and where
  # PYTHONDONTWRITEBYTECODE is set an uncompiled venv recompiles them from source each time (GX: 18 s
  # instead of 7 s on a 2-core machine).
  # From uv's cache alone when it holds every locked package (seconds; asking the index again for all
  # of them costs about a minute), else from the index.
  "$UV" pip install -q --offline --compile-bytecode --python "$VENV/bin/python" -r "$LOCK" 2>/dev/null \
    || "$UV" pip install -q --compile-bytecode --python "$VENV/bin/python" -r "$LOCK"
  "$UV" pip install -q --offline --python "$VENV/bin/python" --no-deps -e "$ROOT" 2>/dev/null \
    || "$UV" pip install -q --python "$VENV/bin/python" --no-deps -e "$ROOT"
  touch "$VENV/.complete"
fi
ln -sfn "$VENV" "$ROOT/.venv"

# 3. PostgreSQL's server binaries from Debian (postgresql-15), for the served Airflow's metadata DB
#    (`govlake airflow start`; infra/postgres.py runs its own cluster, never the package's).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q --no-install-recommends postgresql-15 >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends postgresql-15; } \
    || { echo "infra/setup.sh: could not install Debian's postgresql-15 (needs root or sudo)" >&2; exit 1; }
fi

# 4. Jars, Trino server and its configuration (idempotent; see `govlake setup --help`).
"$ROOT/.venv/bin/govlake" setup

# 5. The demo.
if [ "${1:-}" != "--no-demo" ]; then
  cd "$ROOT" && "$ROOT/.venv/bin/python" -m tools.demo  # synthetic data through the product (tools/demo.py)
fi
