"""Department feed DAGs for Airflow: one per contract in schemas/<department>/<feed>.yaml.

The DAGs are built by govlake.dag_factory; this file only exposes them to the DAG processor.
"""

from govlake.dag_factory import build_feed_dags

globals().update(build_feed_dags())
