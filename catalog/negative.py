"""The negative list by meaning: every gold column whose value derives from a negative-list item, wherever
it flows — not only the column of the table the item's resource is mounted to.

An item taints (1) the column its resource is mounted to, and the feed column behind it; (2) any column of
the item's own department's feeds that declares the item (same column name, or labelled with the item's
name — an item whose resource is not mounted yet is still caught); (3) a golden library's attribute whose
authoritative feed column is tainted ("one number, one source" copies the value); (4) a theme column whose
select expression reads a tainted column, and every column of a theme that filters or joins on one (the
rows it keeps would reveal the value). A theme's lineage is read from its SQL by a small conservative
reader: a subquery counts as one source, and a select list it cannot pair with the declared columns
taints them all once the SQL reads anything tainted.

Used by the share engine and provisioning (never a negative column in a view) and by the Trino rules
(catalog.server: a column mask that fails with the item and its legal basis).
"""

from __future__ import annotations

import re

from catalog.loader import Catalog
from catalog.models import NegativeItem
from schemas.contracts import FeedContract, load_contracts
from schemas.libraries import Library, ThemeTable, load_libraries

Negatives = dict[str, dict[str, NegativeItem]]  # gold table → column → the item its value derives from

_STRING = re.compile(r"'(?:[^']|'')*'")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_QUALIFIED = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\.\s*([a-z_][a-z0-9_]*|\*)")
_WORD = re.compile(r"(?<![.\w])([a-z_][a-z0-9_]*)\b(?!\s*[.(])")
_RELATION = re.compile(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)(?:\s+(?:as\s+)?([a-z_][a-z0-9_]*))?")
_NOT_ALIAS = {"on", "left", "right", "inner", "outer", "full", "cross", "join", "where", "group", "order"}
_NOT_ALIAS |= {"having", "limit", "union", "natural", "using", "lateral", "window"}
_KEYWORDS = {"as", "case", "when", "then", "else", "end", "and", "or", "not", "null", "is", "in", "like"}
_KEYWORDS |= {"between", "distinct", "true", "false", "int", "integer", "bigint", "varchar", "double", "date"}
_KEYWORDS |= {"decimal", "boolean", "string", "interval", "over", "partition", "by", "asc", "desc", "from"}


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


def _subqueries(sql: str) -> tuple[str, list[str]]:
    """The SQL with each top-level `(SELECT …)` replaced by `__sub<i>`, and the bodies."""
    bodies: list[str] = []
    out, i = [], 0
    while i < len(sql):
        if sql[i] == "(" and re.match(r"\(\s*(select|with)\b", sql[i:]):
            depth, j = 0, i
            while j < len(sql):
                depth += {"(": 1, ")": -1}.get(sql[j], 0)
                if depth == 0:
                    break
                j += 1
            bodies.append(sql[i + 1 : j])
            out.append(f" __sub{len(bodies) - 1} ")
            i = j + 1
            continue
        out.append(sql[i])
        i += 1
    return "".join(out), bodies


def _split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _select_list(flat: str) -> tuple[str, str]:
    """(the main select list, the rest) of a subquery-free SQL text."""
    start = re.search(r"\bselect\b", flat)
    if not start:
        return "", flat
    depth = 0
    for m in re.finditer(r"[()]|\bfrom\b", flat[start.end() :]):
        depth += {"(": 1, ")": -1}.get(m.group(), 0)
        if m.group() == "from" and depth == 0:
            cut = start.end() + m.start()
            return flat[start.end() : cut], flat[: start.start()] + flat[cut:]
    return flat[start.end() :], flat[: start.start()]


_ALIAS = re.compile(r"\s+as\s+([a-z_][a-z0-9_]*)\s*$")
_STAR = re.compile(r"(?:[a-z_][a-z0-9_]*\s*\.\s*)?\*")
Outputs = tuple[dict[str, NegativeItem], NegativeItem | None]  # tainted output columns; or all of them


def _output_name(expr: str, position: int) -> str | None:
    """The name a select item is known by outside its query (None: `*`, every column)."""
    if _STAR.fullmatch(expr):
        return None
    alias = _ALIAS.search(expr)
    bare = re.fullmatch(r"(?:[a-z_][a-z0-9_]*\s*\.\s*)?([a-z_][a-z0-9_]*)", expr)
    return alias.group(1) if alias else bare.group(1) if bare else f"_col{position}"


class _Reader:
    """Resolves the column references of one query against the tainted columns of the tables it reads; a
    subquery (or WITH query) is read the same way, into its own tainted output columns."""

    def __init__(self, sql: str, negatives: Negatives, cleaned: bool = False) -> None:
        clean = sql if cleaned else _COMMENT.sub(" ", _STRING.sub("''", sql)).lower()
        self.flat, bodies = _subqueries(clean)
        self.negatives = negatives
        self.aliases: dict[str, str] = {}
        for cte, sub in re.findall(r"\b([a-z_][a-z0-9_]*)\s+as\s+(__sub\d+)", self.flat):
            self.aliases[cte] = sub
        for name, alias in _RELATION.findall(self.flat):
            target = self.aliases.get(name, name)
            self.aliases[name] = target
            if alias and alias not in _NOT_ALIAS:
                self.aliases[alias] = target
        self.subs = {f"__sub{i}": _Reader(b, negatives, True).outputs() for i, b in enumerate(bodies)}
        self.select, self.rest = _select_list(self.flat)
        self.items = [e.strip() for e in _split_top(self.select)]

    def outputs(self) -> Outputs:
        """This query's tainted output columns, or the item tainting all of them: a filter or join on a
        negative item reveals it in every row kept, and `*` cannot be followed column by column."""
        implicit = self.item(self.rest)
        names = [_output_name(e, i) for i, e in enumerate(self.items)]
        if implicit or None in names:
            return {}, implicit or self.item(self.flat)
        found = {name: self.item(_ALIAS.sub("", e)) for name, e in zip(names, self.items, strict=True)}
        return {n: item for n, item in found.items() if n and item}, None

    def item(self, expr: str) -> NegativeItem | None:
        """The negative item `expr` reads, if any (qualified, `*` and bare references)."""
        for alias, column in _QUALIFIED.findall(expr):
            found = self._in(self.aliases.get(alias, alias), column)
            if found:
                return found
        targets = set(self.aliases.values())
        for word in set(_WORD.findall(expr)) - _KEYWORDS:
            found = next((n for t in targets if (n := self._in(t, word))), None)
            if found:
                return found
        return None

    def _in(self, source: str, column: str) -> NegativeItem | None:
        tainted, everything = self.subs.get(source) or (self.negatives.get(source, {}), None)
        if everything or column != "*":
            return everything or tainted.get(column)
        return next(iter(tainted.values()), None)


def theme_negatives(theme: ThemeTable, negatives: Negatives) -> dict[str, NegativeItem]:
    """The theme's columns that derive from a tainted column of its sources (its select list pairs with
    the declared columns in order, as jobs/theme.py checks)."""
    reader = _Reader(theme.sql, negatives)
    names = [c.name for c in theme.columns]
    implicit = reader.item(reader.rest)  # a filter or join on a negative item reveals it in every row kept
    if implicit or len(reader.items) != len(names) or any(_STAR.fullmatch(e) for e in reader.items):
        found = implicit or reader.item(reader.flat)  # unreadable: all, if it reads anything tainted
        return dict.fromkeys(names, found) if found else {}
    pairs = zip(names, reader.items, strict=True)
    return {name: n for name, expr in pairs if (n := reader.item(_ALIAS.sub("", expr)))}


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
