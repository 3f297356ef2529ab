"""Multi-hop column lineage over governance.column_lineage: upstream traces and downstream impact."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from schemas.datasets import LANDING_NAMESPACE, NAMESPACE

Query = Callable[[str, list[Any] | None], list[list[Any]]]


@dataclass(frozen=True, order=True)
class Node:
    namespace: str
    dataset: str
    column: str

    def __str__(self) -> str:
        return (
            f"{self.dataset}.{self.column}"
            if self.namespace == NAMESPACE
            else f"{self.dataset} [{self.column}]"
        )

    @property
    def origin(self) -> dict[str, str] | None:
        """department, feed, batch and file of a landing-zone file, else None."""
        parts = self.dataset.split("/")
        if self.namespace != LANDING_NAMESPACE or len(parts) != 4:
            return None
        keys = ("department", "feed", "batch", "file")
        return dict(zip(keys, parts, strict=True)) | {"column": self.column}


@dataclass(frozen=True, order=True)
class Edge:
    source: Node
    target: Node
    job: str
    transformation: str


@dataclass
class Graph:
    edges: list[Edge]

    def __post_init__(self) -> None:
        self.into: dict[Node, list[Edge]] = {}
        self.out_of: dict[Node, list[Edge]] = {}
        for e in self.edges:
            self.into.setdefault(e.target, []).append(e)
            self.out_of.setdefault(e.source, []).append(e)

    def columns(self, dataset: str) -> list[Node]:
        return sorted(
            {n for n in (*self.into, *self.out_of) if n.dataset == dataset and n.namespace == NAMESPACE}
        )

    def _walk(
        self, start: Iterable[Node], step: dict[Node, list[Edge]], upstream: bool
    ) -> list[tuple[int, Edge]]:
        seen, found = set(start), []
        queue = deque((n, 1) for n in seen)
        while queue:
            node, depth = queue.popleft()
            for e in step.get(node, []):
                found.append((depth, e))
                nxt = e.source if upstream else e.target
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, depth + 1))
        return found

    def upstream(self, start: Iterable[Node]) -> list[tuple[int, Edge]]:
        return self._walk(start, self.into, upstream=True)

    def downstream(self, start: Iterable[Node]) -> list[tuple[int, Edge]]:
        return self._walk(start, self.out_of, upstream=False)


EDGES_SQL = """
SELECT DISTINCT source_namespace, source_dataset, source_column, target_namespace, target_dataset,
       target_column, coalesce(transformation, ''), job_name
FROM {catalog}.governance.column_lineage
WHERE NOT (source_namespace = target_namespace AND source_dataset = target_dataset)"""


def load_graph(query: Query, catalog: str = "lake") -> Graph:
    rows = query(EDGES_SQL.format(catalog=catalog), None)
    return Graph(sorted(Edge(Node(r[0], r[1], r[2]), Node(r[3], r[4], r[5]), r[7], r[6]) for r in rows))


def origins(trace: list[tuple[int, Edge]]) -> list[dict[str, str]]:
    """The landing files and source columns an upstream trace ends at, one row per file and column."""
    found = {tuple(e.source.origin.items()) for _, e in trace if e.source.origin}
    return [dict(o) for o in sorted(found)]
