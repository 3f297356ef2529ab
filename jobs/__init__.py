"""Generic Spark jobs driven by feed contracts.

ingest (landing → bronze), refine (→ silver + quarantine), publish (→ gold).
"""
