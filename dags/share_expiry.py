"""The daily share-expiry DAG for Airflow (govlake.share_dags): decide, record, drop expired views."""

from govlake.share_dags import build_share_dags

globals().update(build_share_dags())
