"""Expected-arrival DAGs for Airflow: one per feed contract that declares its update frequency (`arrival:`).

The DAGs are built by govlake.arrivals; this file only exposes them to the DAG processor.
"""

from govlake.arrivals import build_arrival_dags

globals().update(build_arrival_dags())
