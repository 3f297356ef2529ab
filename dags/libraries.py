"""Library DAGs for Airflow: one per contract in schemas/libraries/*.yaml (built by govlake.library_dags)."""

from govlake.library_dags import build_library_dags

globals().update(build_library_dags())
