"""Hand-written baselines for benchmarks/layers.py: the household feed's bronze → silver → gold with no
framework, once in bare PySpark + Delta (`spark_bare`) and once in polars + delta-rs (`polars_delta`)."""
