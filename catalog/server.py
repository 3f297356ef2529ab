"""Trino as the catalog serves it: the department users and denied columns come from the catalog,
process management (infra.trino) only writes them out."""

from __future__ import annotations

import sys

from catalog.loader import CatalogError, load_catalog
from infra import trino
from infra.settings import Settings
from infra.trino_security import Access


def access() -> Access:
    """Department users and negative-list columns from the catalog; with a broken catalog only platform
    and analyst log in (the catalog's error is printed, Trino still starts)."""
    try:
        cat = load_catalog()
    except CatalogError as exc:
        print(f"trino security: catalog not loaded ({exc}); only platform and analyst users", file=sys.stderr)
        return Access()
    return Access(tuple(sorted(cat.departments)), cat.negative_columns())


def start_trino(s: Settings) -> None:
    trino.start(s, access())


def configure_trino(s: Settings) -> None:
    trino.configure(s, access())
