"""spark.openlineage.* settings for the session factory: listener, transport, naming, parent run."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from infra.settings import LINEAGE_JOB_ENV, LINEAGE_PARENT_ENV, LINEAGE_ROOT_ENV, Settings, task_handoff
from schemas.datasets import JOB_NAMESPACE

LISTENER = "io.openlineage.spark.agent.OpenLineageSparkListener"


def spark_lineage_conf(s: Settings, app_name: str, location: Path | None = None) -> dict[str, str]:
    """Listener configuration, or nothing when lineage capture is off (GOVLAKE_LINEAGE=0)."""
    if not s.lineage:
        return {}
    conf = {
        "spark.extraListeners": LISTENER,
        "spark.openlineage.namespace": JOB_NAMESPACE,
        "spark.openlineage.appName": task_handoff((LINEAGE_JOB_ENV,))[0] or app_name,
        # Delta's inputFiles() may run a Spark job on the listener thread (OpenLineage#4976): a larger
        # queue keeps events from being dropped on local[2].
        "spark.scheduler.listenerbus.eventqueue.capacity": "30000",
        "spark.openlineage.facets.spark.logicalPlan.disabled": "true",
        "spark.openlineage.facets.spark_unknown.disabled": "true",
        "spark.openlineage.facets.debug.disabled": "true",
    }
    if s.lineage_url and location is None:
        conf |= {
            "spark.openlineage.transport.type": "http",
            "spark.openlineage.transport.url": s.lineage_url,
            "spark.openlineage.transport.endpoint": "/api/v1/lineage",
        }
    else:  # to a file; the shared engine hands its file's events on to the tasks (lineage.reparent)
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        location = location or s.lineage_dir / "spark" / f"{stamp}-{os.getpid()}.jsonl"
        location.parent.mkdir(parents=True, exist_ok=True)
        conf |= {
            "spark.openlineage.transport.type": "file",
            "spark.openlineage.transport.location": str(location),
        }
    parent = _from_env(LINEAGE_PARENT_ENV, "spark.openlineage.parent")
    if parent:
        conf |= parent | _from_env(LINEAGE_ROOT_ENV, "spark.openlineage.rootParent")
    return conf


def _from_env(names: tuple[str, str, str], prefix: str) -> dict[str, str]:
    """`<prefix>JobNamespace`, `<prefix>JobName`, `<prefix>RunId` from the three variables, if all are set."""
    values = task_handoff(names)
    if not all(values):
        return {}
    return dict(zip((f"{prefix}JobNamespace", f"{prefix}JobName", f"{prefix}RunId"), values, strict=True))
