#!/usr/bin/env bash
# Runs the whole test suite on the real engines (Spark + Delta, Airflow, Trino), after an idempotent set-up.
# Tests use their own installation home and Trino port, never the demo's .lake/.
# First the static checks, all three even if one fails, and no tests unless they pass: ruff, the import-linter
# contracts (pyproject.toml [tool.importlinter]) and mypy --strict ([tool.mypy]) on the files below.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/infra/setup.sh" --no-demo
cd "$ROOT"
MYPY_FILES=(
  infra/settings.py schemas                               # the ground floor
  govlake/stages.py govlake/results.py govlake/pipeline.py govlake/gates.py govlake/runner.py govlake/batch_claim.py # the stage layer
  catalog/chain.py catalog/signing.py catalog/negative.py catalog/masks.py catalog/audit.py catalog/engine.py
  infra/event_receiver.py infra/trino_security.py infra/trino_credentials.py                # the security path
  govlake/engine.py govlake/engine_client.py govlake/engine_protocol.py lineage/reparent.py  # the shared engine
  govlake/delivery_watch.py govlake/arrivals.py govlake/airflow_served.py infra/postgres.py  # served Airflow
)
failed=()
.venv/bin/ruff check . || failed+=("ruff check")
.venv/bin/lint-imports || failed+=(lint-imports)
.venv/bin/mypy "${MYPY_FILES[@]}" || failed+=(mypy)
if [ ${#failed[@]} -gt 0 ]; then
  echo "infra/test.sh: ${failed[*]} failed; tests not run" >&2
  exit 1
fi
exec .venv/bin/python -m pytest --durations=25 "$@"  # the slowest tests, to keep the suite under 25 min
