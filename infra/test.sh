#!/usr/bin/env bash
# Runs the whole test suite on the real engines (Spark + Delta, Airflow, Trino), after an idempotent set-up.
# Tests use their own installation home and Trino port, never the demo's .lake/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/infra/setup.sh" --no-demo
cd "$ROOT"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
