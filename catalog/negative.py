"""The negative list by meaning: every gold column whose value derives from a negative-list item, wherever
it flows — not only the column of the table the item's resource is mounted to.

An item taints (1) the column its resource is mounted to, and the feed column behind it; (2) any column of
the item's own department's feeds that declares the item (same column name, or labelled with the item's
name — an item whose resource is not mounted yet is still caught); (3) a golden library's attribute whose
authoritative feed column is tainted ("one number, one source" copies the value); (4) a theme column whose
select expression reads a tainted column, and every column of a theme that filters or joins on one (the
rows it keeps would reveal the value). A theme's lineage is read from its SQL's parse tree (sqlglot, Spark
SQL) by a conservative reader: a subquery counts as one source, and a select list it cannot pair with the
declared columns taints them all once the SQL reads anything tainted.

Used by the share engine and provisioning (never a negative column in a view) and by the Trino rules
(catalog.server: a column mask that fails with the item and its legal basis).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from catalog.loader import Catalog
from catalog.models import NegativeItem
from schemas.contracts import FeedContract, load_contracts
from schemas.libraries import Library, ThemeTable, load_libraries

Negatives = dict[str, dict[str, NegativeItem]]  # gold table → column → the item its value derives from


def label_base(label: str) -> str:
    """`营业收入（万元）` → `营业收入`: a label without its unit or standard."""
    return re.split(r"[（(]", label, maxsplit=1)[0].strip()


def _feed_columns(cat: Catalog, feeds: dict[str, FeedContract]) -> dict[tuple[str, str], NegativeItem]:
    """(feed ref, column) → item, for (1) and (2) above."""
    out: dict[tuple[str, str], NegativeItem] = {}
    resources = cat.resources
    for n in cat.negative:
        _, res = resources[n.resource]
        column = n.column or next((i.column for i in res.items if i.name == n.item), None)
        for ref, f in feeds.items():
            for c in f.columns:
                mounted = f.target.table == res.table and c.name == column
                declared = f.department == n.department and (
                    c.name == column or label_base(c.label) == n.item
                )
                if mounted or declared:
                    out.setdefault((ref, c.name), n)
    return out


def negative_columns(
    cat: Catalog, feeds: dict[str, FeedContract] | None = None, libraries: dict[str, Library] | None = None
) -> Negatives:
    """gold table → column → the negative-list item its value derives from (denied to everyone but the
    platform, never in a share view)."""
    feeds = feeds if feeds is not None else load_contracts()
    libraries = libraries if libraries is not None else load_libraries()
    tainted = _feed_columns(cat, feeds)
    out: Negatives = {}
    for (ref, column), n in tainted.items():
        out.setdefault(feeds[ref].target.table, {})[column] = n
    for table, lib in libraries.items():
        if isinstance(lib, ThemeTable):
            continue
        if (lib.base[0], lib.key) in tainted:
            out.setdefault(table, {})[lib.key] = tainted[(lib.base[0], lib.key)]
        for a in lib.attributes:
            hit = next((tainted[(r, a.name)] for r in a.authority if (r, a.name) in tainted), None)
            if hit:
                out.setdefault(table, {})[a.name] = hit
    themes = [lib for lib in libraries.values() if isinstance(lib, ThemeTable)]
    for _ in themes:  # a theme may read another theme: repeat until nothing changes
        before = sum(map(len, out.values()))
        for theme in themes:
            found = theme_negatives(theme, out)
            if found:
                out[theme.table] = out.get(theme.table, {}) | found
        if sum(map(len, out.values())) == before:
            break
    return out


_Output = tuple[str, NegativeItem | None]  # an output column's name, and the negative item it reads


class _Outputs(NamedTuple):
    """What a source yields: its output columns in order (a gold table: only its negative ones), and the item
    every one of them reveals (a filter or join on it, or a select list that cannot be followed)."""

    columns: tuple[_Output, ...]
    every: NegativeItem | None = None

    def read(self, column: str) -> NegativeItem | None:
        """The item that reading `column` (`*`: any column) of this source reveals."""
        if self.every or column != "*":
            return self.every or dict(self.columns).get(column)
        return next((n for _, n in self.columns if n), None)


Sources = dict[str, _Outputs]  # alias (or table name) → what it yields


class _Scope(NamedTuple):
    sources: Sources  # of the query being read ("": its select list's aliases, which Spark lets it name)
    outer: Sources  # of the queries around it (a correlated subquery reads them)
    ctes: Sources  # the WITH queries it can name

    def named(self, columns: list[_Output]) -> _Scope:
        """This scope with the select list's aliases so far."""
        return self._replace(sources={**self.sources, "": _Outputs(tuple(columns))})


@functools.cache
def _parse(sql: str) -> exp.Query | None:
    """The theme's SQL as a tree (Spark SQL, as jobs/theme.py runs it); None if it is no single query."""
    try:
        tree = sqlglot.parse_one(sql, read="spark")
    except SqlglotError:
        return None
    return tree if isinstance(tree, exp.Query) else None


def _parts(node: exp.Expr, skip: set[str]) -> list[exp.Expr]:
    """`node`'s children outside the argument names `skip`."""
    values = [v for k, v in node.args.items() if k not in skip]
    return [e for v in values for e in (v if isinstance(v, list) else [v]) if isinstance(e, exp.Expr)]


def _ordinals(node: exp.Select) -> list[int]:
    """The select items that `GROUP BY 1` and `ORDER BY 2` name by position (from 0)."""
    group, order = node.args.get("group"), node.args.get("order")
    keys = [*(group.expressions if group else []), *(o.this for o in (order.expressions if order else []))]
    return [int(k.name) - 1 for k in keys if isinstance(k, exp.Literal) and k.is_int]


class _Reader:
    """Follows one theme's parse tree to the tainted columns of the tables it reads; a subquery (or WITH
    query) is read the same way, into its own outputs, and counts as one source."""

    def __init__(self, negatives: Negatives) -> None:
        self.negatives = negatives

    def table(self, name: str) -> _Outputs:
        return _Outputs(tuple(self.negatives.get(name, {}).items()))

    def query(self, node: exp.Expr, outer: Sources, ctes: Sources) -> _Outputs:
        """A query's outputs; a set operation (UNION …) cannot be followed column by column."""
        if isinstance(node, exp.Subquery):
            return self.query(node.this, outer, ctes)
        for cte in node.ctes if isinstance(node, exp.Query) else []:  # each may read the ones before it
            ctes = ctes | {cte.alias.lower(): self.renamed(self.query(cte.this, outer, ctes), cte)}
        if isinstance(node, exp.Select):
            return self.select(node, outer, ctes)
        if isinstance(node, exp.SetOperation):
            sides = (self.query(node.left, outer, ctes), self.query(node.right, outer, ctes))
            return _Outputs((), next((n for side in sides if (n := side.read("*"))), None))
        return _Outputs((), self.reads(node, _Scope({}, outer, ctes)))  # VALUES and the like

    def select(self, node: exp.Select, outer: Sources, ctes: Sources) -> _Outputs:
        """A SELECT's outputs: whatever it keeps rows by (WHERE, JOIN ON/USING, GROUP BY, HAVING, ORDER BY,
        LATERAL VIEW …) reveals its items in every row kept, and `*` cannot be followed column by column."""
        joins: list[exp.Join] = node.args.get("joins") or []
        scope = _Scope(self.sources([node.args.get("from_"), *joins], outer, ctes), outer, ctes)
        columns: list[_Output] = []
        for i, item in enumerate(node.expressions):  # an item may name an earlier one's alias
            columns.append((item.output_name.lower() or f"_col{i}", self.reads(item, scope.named(columns))))
        kept = _parts(node, {"expressions", "with_", "from_", "joins"})
        kept += [part for join in joins for part in _parts(join, {"this"})]
        named = scope.named(columns)
        every = next((n for part in kept if (n := self.reads(part, named))), None)
        by_position = (columns[i][1] for i in _ordinals(node) if 0 <= i < len(columns))
        every = every or next((n for n in by_position if n), None)
        if every or node.is_star:
            return _Outputs((), every or self.reads(node, named))
        return _Outputs(tuple(columns))

    def sources(self, relations: list[exp.Expr | None], outer: Sources, ctes: Sources) -> Sources:
        """alias → what each FROM and JOIN relation yields."""
        out: Sources = {}
        for relation in relations:
            source = relation.this if relation else None
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                name = source.name.lower()
                found = ctes[name] if name in ctes and not source.db else self.table(name)
            elif isinstance(source, exp.Subquery):
                found = self.query(source, outer, ctes)
            elif source:  # a table function, VALUES, LATERAL (…): all it yields, if it reads anything
                found = _Outputs((), self.reads(source, _Scope(out, outer, ctes)))
            else:
                continue
            out[source.alias_or_name.lower() or f"#{len(out)}"] = self.renamed(found, source)
        return out

    def renamed(self, found: _Outputs, source: exp.Expr) -> _Outputs:
        """`found` under the column names an alias gives (`AS x(a, b)`; positional, so all for a table)."""
        names = [c.lower() for c in source.alias_column_names]
        if not names:
            return found
        if isinstance(source, exp.Table) or found.every or len(names) != len(found.columns):
            return _Outputs((), found.read("*"))
        return _Outputs(tuple((name, n) for name, (_, n) in zip(names, found.columns, strict=True)))

    def reads(self, node: exp.Expr, scope: _Scope) -> NegativeItem | None:
        """The first negative item `node` reads: a column, a `*`, the outputs of a subquery within it."""
        inner = {**scope.outer, **scope.sources}
        for n in node.walk(prune=lambda n: n is not node and isinstance(n, exp.Query)):
            if n is not node and isinstance(n, exp.Query):
                found = self.query(n, inner, scope.ctes).read("*")
            elif isinstance(n, exp.Column):
                found = self.column([p.name.lower() for p in n.parts], scope)
            elif isinstance(n, exp.Identifier) and n.arg_key == "using":  # JOIN … USING (key)
                found = self.column([n.name.lower()], scope)
            elif isinstance(n, exp.Star) and isinstance(n.parent, exp.Select):
                found = next((i for s in scope.sources.values() if (i := s.read("*"))), None)
            else:
                continue
            if found:
                return found
        return None

    def column(self, parts: list[str], scope: _Scope) -> NegativeItem | None:
        """What a column reference reads: `alias.column[.field]`; a bare `column[.field]` in any source
        that has it; `[db.]table.column` of a gold table not named in FROM."""
        visible = {**scope.outer, **scope.sources}
        if len(parts) > 1 and parts[0] in visible:
            return visible[parts[0]].read(parts[1])
        bare = next((n for s in visible.values() if (n := s.read(parts[0]))), None)
        return bare or (self.table(parts[-2]).read(parts[-1]) if len(parts) > 1 else None)


def theme_negatives(theme: ThemeTable, negatives: Negatives) -> dict[str, NegativeItem]:
    """The theme's columns that derive from a tainted column of its sources (its select list pairs with
    the declared columns in order, as jobs/theme.py checks)."""
    names = [c.name for c in theme.columns]
    tree = _parse(theme.sql)
    if tree is None:  # no query the parser can read: all, if any of its sources has a negative column
        found = next((n for table in theme.sources for n in negatives.get(table, {}).values()), None)
        return dict.fromkeys(names, found) if found else {}
    out = _Reader(negatives).query(tree, {}, {})
    if out.every or len(out.columns) != len(names):  # unreadable: all, if it reads anything tainted
        found = out.read("*")
        return dict.fromkeys(names, found) if found else {}
    return {name: n for name, (_, n) in zip(names, out.columns, strict=True) if n}


def message(n: NegativeItem, table: str, column: str) -> str:
    """Why a column is refused, naming the item and its legal basis (worded as Trino's own denials)."""
    where = f"Access Denied: gold.{table}.{column} 属负面清单 {n.code}「{n.item}」（{n.resource}）"
    return f"{where}，不予共享：{n.reason}（依据{n.basis}）"


def fail_mask(n: NegativeItem, table: str, column: str) -> str:
    """A Trino column mask that refuses any query reading the column, with `message` (fail() coerces to
    the column's type; a query not reading the column is not affected)."""
    return "fail('" + message(n, table, column).replace("'", "''") + "')"


def refusal(
    cat: Catalog,
    table: str,
    columns: list[str] | tuple[str, ...],
    resource: str | None = None,
    negatives: Negatives | None = None,
) -> str | None:
    """The legal basis for refusing a request for `columns` of gold.`table` (None: nothing negative):
    every requested column deriving from a negative item, and the resource's own listed items."""
    negatives = negatives if negatives is not None else negative_columns(cat)
    hits = {c: n for c, n in negatives.get(table, {}).items() if c in columns}
    if resource:
        res = cat.resources.get(resource, (None, None))[1]
        names = {i.name for c in columns if res and (i := res.item_by_column(c))}
        for n in cat.negative_for(resource):
            if n.item in names or n.column in columns:
                hits.setdefault(n.column or n.item, n)
    if not hits:
        return None
    return "；".join(f"{c} ← {n.code} {n.item}：{n.reason}（{n.basis}）" for c, n in sorted(hits.items()))
