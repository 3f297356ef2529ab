"""A lineage graph as a self-contained SVG: one column of boxes per hop, arrows between them."""

from __future__ import annotations

from html import escape

from lineage.trace import Edge, Node

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 250, 30, 70, 14, 20


def _label(node: Node) -> str:
    text = str(node)
    return text if len(text) <= 40 else "…" + text[-39:]


def render(focus: list[Node], upstream: list[tuple[int, Edge]], downstream: list[tuple[int, Edge]]) -> str:
    level: dict[Node, int] = {n: 0 for n in focus}
    for depth, e in upstream:
        level.setdefault(e.source, -depth)
    for depth, e in downstream:
        level.setdefault(e.target, depth)
    lo = min(level.values())
    columns: dict[int, list[Node]] = {}
    for node, lvl in sorted(level.items(), key=lambda kv: (kv[1], kv[0])):
        columns.setdefault(lvl, []).append(node)
    pos = {}
    for lvl, nodes in columns.items():
        for i, node in enumerate(nodes):
            pos[node] = (PAD + (lvl - lo) * (BOX_W + GAP_X), PAD + i * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(columns) - lo + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(v) for v in columns.values()) * (BOX_H + GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12"><defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>'
    ]
    drawn = set()
    for _, e in upstream + downstream:
        if e.source in pos and e.target in pos and (e.source, e.target) not in drawn:
            drawn.add((e.source, e.target))
            (x1, y1), (x2, y2) = pos[e.source], pos[e.target]
            parts.append(
                f'<line x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2}" x2="{x2}" y2="{y2 + BOX_H / 2}" '
                f'stroke="#888" marker-end="url(#arrow)"><title>{escape(e.job)}</title></line>'
            )
    for node, (x, y) in pos.items():
        fill = "#ffe9a8" if node in focus else ("#dbeafe" if node.origin is None else "#dcfce7")
        parts.append(
            f'<g><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5" fill="{fill}" stroke="#555"/>'
            f'<text x="{x + 8}" y="{y + 19}">{escape(_label(node))}</text>'
            f"<title>{escape(str(node))}</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
