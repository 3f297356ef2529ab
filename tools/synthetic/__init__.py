"""Deterministic synthetic department deliveries, with defects at known counts."""
