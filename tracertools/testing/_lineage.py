"""Lineage queries of the chunkedgraph (PyChunkedGraph's traversal rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracertools.testing._graph import Operation, RootRecord


class LineageMixin:
    """Lineage graph, ancestors/descendants and past IDs over ``self.roots``."""

    roots: dict[int, RootRecord]
    op_by_id: dict[int, Operation]

    def lineage_graph(
        self, root_ids: Iterable[int], t_past: float, t_future: float
    ) -> tuple[dict[int, dict[str, float | int]], list[tuple[int, int]]]:
        """PyChunkedGraph's lineage traversal: nodes (with attributes) and past->future links.

        Walks back from each root through former roots, stopping at nodes created before
        ``t_past``, and forward through new roots, stopping at nodes created after
        ``t_future`` (the boundary nodes themselves are included, as upstream does).
        """
        nodes: dict[int, dict[str, float | int]] = {}
        links: set[tuple[int, int]] = set()

        def add(rid: int) -> RootRecord:
            rec = self.roots[rid]
            if rid not in nodes:
                op = rec.superseded_by if rec.superseded_by is not None else rec.created_by
                attrs: dict[str, float | int] = {"timestamp": rec.created}
                if op is not None:
                    attrs["operation_id"] = op
                nodes[rid] = attrs
            return rec

        def walk(rid: int, beyond: Callable[[RootRecord], bool], forward: bool) -> None:
            """Breadth-first from ``rid`` along lineage edges (to children if ``forward``,
            else to parents), linking each step; a node ``beyond`` the time bound is kept
            but not passed."""
            todo = [rid]
            seen: set[int] = set()
            while todo:
                nxt = []
                for k in todo:
                    rec = add(k)
                    if k in seen or beyond(rec):
                        continue
                    seen.add(k)
                    for n in rec.children if forward else rec.parents:
                        links.add((k, n) if forward else (n, k))
                        nxt.append(n)
                todo = nxt

        for r in root_ids:
            rid = int(r)
            if rid not in self.roots:
                from tracertools.testing._graph import UnknownNodeError

                raise UnknownNodeError([rid])
            walk(rid, lambda rec: rec.created < t_past, forward=False)
            walk(rid, lambda rec: rec.created > t_future, forward=True)
        for a, b in links:
            add(a)
            add(b)
        return nodes, sorted(links)

    def _reachable(self, root: int, forward: bool) -> list[int]:
        """Every root reachable from ``root`` along lineage edges (to children if
        ``forward``, else to parents), not including itself, sorted."""
        out: set[int] = set()
        rec = self.roots[int(root)]
        stack = list(rec.children if forward else rec.parents)
        while stack:
            r = stack.pop()
            if r in out:
                continue
            out.add(r)
            rec = self.roots[r]
            stack.extend(rec.children if forward else rec.parents)
        return sorted(out)

    def ancestors(self, root: int) -> list[int]:
        """All former roots of ``root`` (not including itself), sorted."""
        return self._reachable(root, forward=False)

    def descendants(self, root: int) -> list[int]:
        """All roots that descend from ``root`` (not including itself), sorted."""
        return self._reachable(root, forward=True)

    def history_operations(self, root: int) -> list[Operation]:
        """Operations in a root's past (those that ended one of its ancestors), by ID."""
        ops = {self.roots[a].superseded_by for a in self.ancestors(root)}
        return [self.op_by_id[o] for o in sorted(o for o in ops if o is not None)]

    def past_ids(self, root: int, t_past: float) -> list[int]:
        """Upstream ``past_id_mapping`` for one root: in-degree-0 nodes of its past lineage."""
        nodes, links = self.lineage_graph([root], t_past, float("inf"))
        has_in = {b for _, b in links}
        past = set(self.ancestors(root)) | {int(root)}
        return sorted(n for n in nodes if n not in has_in and n in past)
