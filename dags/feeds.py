"""Department feed DAGs: one per contract in schemas/<department>/<feed>.yaml (see govlake.dag_factory)."""

from govlake.dag_factory import build_feed_dags

globals().update(build_feed_dags())
