"""Government data lakehouse: department feeds → bronze/silver/gold Delta tables → Trino."""

__version__ = "0.1.0"
