"""OpenLineage for the lake: capture (Spark listener, Airflow provider, our own emitters), validation
against the spec, loading into governance tables, tracing and auditor reports."""
