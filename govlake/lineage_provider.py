"""[openlineage] settings of the Airflow OpenLineage provider, as environment variables for Airflow."""

from __future__ import annotations

import json

from infra.settings import Settings
from schemas.datasets import JOB_NAMESPACE


def provider_env(s: Settings) -> dict[str, str]:
    """[openlineage] settings of the Airflow OpenLineage provider, as environment variables."""
    if not s.lineage:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    if s.lineage_url:
        transport = {"type": "http", "url": s.lineage_url, "endpoint": "api/v1/lineage"}
    else:
        (s.lineage_dir / "airflow").mkdir(parents=True, exist_ok=True)
        path = s.lineage_dir / "airflow" / "events.jsonl"
        transport = {"type": "file", "log_file_path": str(path), "append": True}
    return {
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": JOB_NAMESPACE,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": "govlake.lineage_airflow.LakeTaskExtractor",
        "AIRFLOW__OPENLINEAGE__DISABLE_SOURCE_CODE": "True",
    }
