"""The scripted edit history of the LocalCave world.

The initial segmentation splits some neurons into a main body plus fragments (subtrees). The
script then replays a proofreading campaign in four phases separated by the three
materialization versions:

* neuron 0 has a long history: fragments merged one by one, pieces split off and merged
  back, and one piece split off at the end that stays separate;
* neurons 1 and 2 are merged whole (a false merge) and later split apart again, so the stale
  merged root has two real candidates; neuron 2's part is later merged whole into neuron 5
  (a whole-neuron merge that remains);
* neuron 3 is split into two parts holding about 70 % and 30 % of its supervoxels, and its
  larger part loses a small piece that is merged back later;
* neuron 4 collects fragments (some after the last materialization) and loses a piece at
  the end;
* neurons 6, 7, ... are never edited.

Optionally (``long_history=N``) the last neuron gets ``N`` more operations after the script:
a small piece (a subtree of 1-20 % of its supervoxels) is split off and merged back, again and
again, by all five users in turn at increasing timestamps (days 141-190), so its final root has
``N`` edits and a chain of ``N + 1`` roots (plus the split-off pieces). These operations use
their own random generator, so the rest of the world is the same as without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tracertools.testing._graph import ChunkGraph, HugeNeuron, Operation, RootRecord
from tracertools.testing._ids import GraphLayout
from tracertools.testing._neurons import NeuronTrees, Supervoxels

DAY = 86400.0
U64 = np.uint64
IntArray = npt.NDArray[np.int64]

USERS: dict[str, tuple[str, str]] = {
    "1001": ("Ada Byron", "Synthetic Lab A"),
    "1002": ("Ben Cajal", "Synthetic Lab A"),
    "1003": ("Cleo Golgi", "Synthetic Lab B"),
    "1004": ("Dev Sherrington", "Synthetic Lab B"),
    "1005": ("Eve Hodgkin", "Synthetic Lab C"),
}
"""User IDs of the editors: (name, affiliation)."""

# phase windows, days after t0: edits in A happen before version 1, B before version 2, ...
PHASES = {"A": (5.0, 18.0), "B": (22.0, 60.0), "C": (64.0, 100.0), "D": (104.0, 140.0)}
VERSION_DAYS = (20.0, 62.0, 102.0)
LONG_HISTORY_DAYS = (141.0, 190.0)
"""Window (days after t0) of the optional long history's operations, after the script."""

# (phase, kind, args..., user)
SCRIPT: list[tuple[object, ...]] = [
    ("A", "attach_frag", 0, 0, "1001"),
    ("A", "attach_frag", 4, 0, "1002"),
    ("A", "attach_frag", 1, 0, "1003"),
    ("B", "attach_frag", 0, 1, "1002"),
    ("B", "merge_neurons", 1, 2, "1004"),
    ("B", "cut", 0, "x", 0.15, "1001"),
    ("B", "attach_frag", 0, 2, "1003"),
    ("B", "cut", 3, "n3_small_part", 0.3, "1005"),
    ("B", "attach_cut", "x", "1002"),
    ("B", "split_neurons", 1, 2, "1001"),
    ("B", "attach_frag", 4, 1, "1004"),
    ("C", "attach_frag", 0, 3, "1005"),
    ("C", "cut", 0, "y", 0.12, "1004"),
    ("C", "cut", 3, "w", 0.1, "1002"),
    ("C", "attach_frag", 0, 4, "1001"),
    ("C", "attach_cut", "w", "1003"),
    ("C", "attach_frag", 4, 2, "1005"),
    ("D", "attach_cut", "y", "1001"),
    ("D", "merge_neurons", 2, 5, "1003"),
    ("D", "cut", 4, "z", 0.15, "1002"),
    ("D", "cut", 0, "q", 0.1, "1005"),
]
FRAGMENTS = {0: 5, 1: 1, 4: 3}
MIN_NEURONS = 7


@dataclass
class Story:
    """Named facts about the script, for tests and docs.

    Attributes:
        fragments: initial fragment top runs per neuron.
        cuts: top run of each named cut piece.
        op_names: a short description of each operation, by operation ID.
        version_times: materialization version timestamps (epoch s).
        unchanged_neurons: neurons never edited.
        long_history_neuron: the neuron with the optional long history (None without one).
        long_history_pieces: top run of each piece split off in the long history, in order.
    """

    fragments: dict[int, list[int]] = field(default_factory=dict)
    cuts: dict[str, int] = field(default_factory=dict)
    op_names: dict[int, str] = field(default_factory=dict)
    version_times: tuple[float, ...] = ()
    unchanged_neurons: tuple[int, ...] = ()
    long_history_neuron: int | None = None
    long_history_pieces: list[int] = field(default_factory=list)


class _Builder:
    def __init__(self, trees: NeuronTrees, svs: Supervoxels, layout: GraphLayout, rng: np.random.Generator, t0: float, res: npt.NDArray[np.float64]) -> None:
        self.trees = trees
        self.svs = svs
        self.layout = layout
        self.rng = rng
        self.t0 = t0
        self.res = res
        order = np.argsort(svs.run, kind="stable")
        starts = np.searchsorted(svs.run[order], np.arange(trees.n_runs + 1))
        self.run_svs = [order[starts[r] : starts[r + 1]] for r in range(trees.n_runs)]
        self.cur = np.zeros(len(svs.ids), dtype=U64)
        self.roots: dict[int, RootRecord] = {}
        self.ops: list[Operation] = []
        self.epochs: list[npt.NDArray[np.uint64]] = []
        self.next_seg = 1
        self.detached: set[int] = set()
        self.used_tops: set[int] = set()
        self.story = Story()
        self.subtree_cache: dict[int, IntArray] = {}

    # -- helpers ---------------------------------------------------------------------------

    def subtree(self, run: int) -> IntArray:
        if run not in self.subtree_cache:
            self.subtree_cache[run] = self.trees.subtree_runs(run)
        return self.subtree_cache[run]

    def svs_of_runs(self, runs: IntArray) -> IntArray:
        parts = [self.run_svs[int(r)] for r in runs]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def nonempty_ancestor(self, run: int) -> int:
        r = int(self.trees.run_parent[run])
        while r >= 0 and len(self.run_svs[r]) == 0:
            r = int(self.trees.run_parent[r])
        if r < 0:
            raise RuntimeError("run has no non-empty ancestor")
        return r

    def nm(self, sv: int) -> npt.NDArray[np.float64]:
        return self.svs.rep_voxel[sv] * self.res

    def closest_pair(self, a: IntArray, b: IntArray) -> tuple[int, int]:
        pa = self.svs.rep_voxel[a] * self.res
        pb = self.svs.rep_voxel[b] * self.res
        d = ((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        return int(a[i]), int(b[j])

    def new_root(self, members: IntArray, created: float, op: int | None, parents: tuple[int, ...]) -> int:
        rid = self.layout.encode(self.layout.n_layers, (0, 0, 0), self.next_seg)
        self.next_seg += 1
        self.roots[rid] = RootRecord(
            root_id=rid, created=created, created_by=op, parents=parents, svs=np.sort(members)
        )
        self.cur[members] = U64(rid)
        return rid

    def soma_root(self, neuron: int) -> int:
        run = int(self.trees.run[self.trees.soma_node[neuron]])
        return int(self.cur[self.run_svs[run][0]])

    def _finish(self, op: Operation) -> None:
        for r in op.before_roots:
            rec = self.roots[r]
            rec.superseded = op.timestamp
            rec.superseded_by = op.operation_id
            rec.children = op.after_roots
        self.ops.append(op)
        self.epochs.append(self.cur.copy())

    def coords(self, sv: int) -> tuple[int, int, int]:
        v = self.svs.rep_voxel[sv]
        return (int(v[0]), int(v[1]), int(v[2]))

    # -- edits -----------------------------------------------------------------------------

    def merge(self, sv_a: int, sv_b: int, ts: float, user: str, link: bool) -> int:
        ra, rb = int(self.cur[sv_a]), int(self.cur[sv_b])
        if ra == rb:
            raise RuntimeError("merge within one root")
        op_id = len(self.ops) + 1
        members = np.concatenate([self.roots[ra].svs, self.roots[rb].svs])
        new = self.new_root(members, ts, op_id, (ra, rb))
        ida, idb = int(self.svs.ids[sv_a]), int(self.svs.ids[sv_b])
        self._finish(
            Operation(
                operation_id=op_id, timestamp=ts, user_id=user, is_merge=True,
                before_roots=(ra, rb), after_roots=(new,), edges=((ida, idb),),
                source_coords=(self.coords(sv_a),), sink_coords=(self.coords(sv_b),),
                source_ids=(ida,), sink_ids=(idb,),
                skeleton_link=(int(self.svs.node[sv_a]), int(self.svs.node[sv_b])) if link else None,
            )
        )
        return new

    def split(self, root: int, part: IntArray, sv_a: int, sv_b: int, ts: float, user: str) -> tuple[int, int]:
        rec = self.roots[root]
        keep = np.setdiff1d(rec.svs, part)
        if len(keep) == 0 or len(part) == 0:
            raise RuntimeError("degenerate split")
        op_id = len(self.ops) + 1
        r_keep = self.new_root(keep, ts, op_id, (root,))
        r_part = self.new_root(part, ts, op_id, (root,))
        ida, idb = int(self.svs.ids[sv_a]), int(self.svs.ids[sv_b])
        self._finish(
            Operation(
                operation_id=op_id, timestamp=ts, user_id=user, is_merge=False,
                before_roots=(root,), after_roots=(r_keep, r_part), edges=((ida, idb),),
                source_coords=(self.coords(sv_a),), sink_coords=(self.coords(sv_b),),
                source_ids=(ida,), sink_ids=(idb,),
            )
        )
        return r_keep, r_part

    # -- script ----------------------------------------------------------------------------

    def choose_subtree(self, neuron: int, within: IntArray, lo: float, hi: float, target: float) -> int:
        """Top run of a subtree of ``neuron`` whose share of ``within`` svs is near ``target``."""
        total = len(within)
        best, best_d = -1, np.inf
        within_set = set(within.tolist())
        cands = np.flatnonzero(
            (self.trees.run_neuron == neuron) & (self.trees.run_parent >= 0)
        ).tolist()
        for r in cands:
            st = self.subtree(r)
            if r in self.used_tops or self.detached_runs().intersection(st.tolist()):
                continue
            if len(self.run_svs[r]) == 0:
                continue
            n = sum(1 for s in self.svs_of_runs(st).tolist() if s in within_set)
            f = n / max(total, 1)
            if n < 2 or total - n < 2:
                continue
            d = abs(f - target) + 1e-3 * self.rng.random() + (0 if lo <= f <= hi else 1.0)
            if d < best_d:
                best, best_d = r, d
        if best < 0:
            raise RuntimeError(f"no subtree for neuron {neuron} near {target}")
        self.used_tops.add(best)
        self.detached.add(best)
        return best

    def detached_runs(self) -> set[int]:
        out: set[int] = set()
        for top in self.detached:
            out.update(self.subtree(top).tolist())
        return out

    def attach(self, top_run: int, ts: float, user: str) -> int:
        self.detached.discard(top_run)
        anc = self.nonempty_ancestor(top_run)
        sv_b0 = self.run_svs[top_run]
        sv_a, sv_b = self.closest_pair(self.run_svs[anc], sv_b0)
        return self.merge(sv_a, sv_b, ts, user, link=False)

    def long_history(self, neuron: int, n_ops: int, rng: np.random.Generator) -> None:
        """Append ``n_ops`` operations on ``neuron``: split off a small piece, merge it back."""
        root = self.soma_root(neuron)
        total = len(self.roots[root].svs)
        cands: list[int] = []
        runs = np.flatnonzero((self.trees.run_neuron == neuron) & (self.trees.run_parent >= 0))
        for r in runs.tolist():
            if len(self.run_svs[r]) == 0:
                continue
            n = len(self.svs_of_runs(self.subtree(r)))
            if n >= 2 and total - n >= 2 and 0.01 <= n / total <= 0.2:
                cands.append(r)
        if not cands:
            raise RuntimeError(f"neuron {neuron} has no small subtree for the long history")
        users = sorted(USERS)
        order: list[str] = []
        lo, hi = LONG_HISTORY_DAYS
        top, name = -1, ""
        for i in range(n_ops):
            ts = float(round(self.t0 + (lo + (hi - lo) * (i + 0.5) / n_ops) * DAY, 3))
            if not order:
                order = [users[j] for j in rng.permutation(len(users)).tolist()]
            user = order.pop()
            if i % 2 == 0:
                choices = [c for c in cands if c != top] or cands
                top = int(choices[int(rng.integers(len(choices)))])
                root = self.soma_root(neuron)
                part = self.svs_of_runs(self.subtree(top))
                anc = self.nonempty_ancestor(top)
                sv_a, sv_b = self.closest_pair(self.run_svs[anc], self.run_svs[top])
                self.split(root, part, sv_a, sv_b, ts, user)
                name = f"L{i // 2}"
                self.story.long_history_pieces.append(top)
                desc = f"split piece {name!r} off neuron {neuron} (long history)"
            else:
                self.attach(top, ts, user)
                desc = f"merge piece {name!r} back (long history)"
            self.story.op_names[len(self.ops)] = desc
        self.story.long_history_neuron = neuron

    def run(
        self,
        n_neurons: int,
        huge: HugeNeuron | None,
        long_history: int = 0,
        long_rng: np.random.Generator | None = None,
    ) -> Story:
        # initial fragments
        for k, n_frag in FRAGMENTS.items():
            all_svs = self.svs_of_runs(np.flatnonzero(self.trees.run_neuron == k))
            tops = [self.choose_subtree(k, all_svs, 0.03, 0.22, float(self.rng.uniform(0.05, 0.15))) for _ in range(n_frag)]
            self.story.fragments[k] = tops
        for k in range(n_neurons):
            runs = np.flatnonzero(self.trees.run_neuron == k)
            frag_runs: set[int] = set()
            pieces = []
            for top in self.story.fragments.get(k, []):
                st = self.subtree(top)
                frag_runs.update(st.tolist())
                pieces.append(self.svs_of_runs(st))
            main = self.svs_of_runs(np.array([r for r in runs.tolist() if r not in frag_runs], dtype=np.int64))
            self.new_root(main, self.t0, None, ())
            for p in pieces:
                if len(p):
                    self.new_root(p, self.t0, None, ())
        self.epochs.append(self.cur.copy())
        # timestamps by phase
        counts: dict[str, int] = {}
        for step in SCRIPT:
            counts[str(step[0])] = counts.get(str(step[0]), 0) + 1
        seen: dict[str, int] = {}
        merge_edges: dict[tuple[int, int], tuple[int, int]] = {}
        for step in SCRIPT:
            phase, kind = str(step[0]), str(step[1])
            lo, hi = PHASES[phase]
            i = seen.get(phase, 0)
            seen[phase] = i + 1
            span = (hi - lo) / counts[phase]
            ts = self.t0 + (lo + span * (i + 0.2 + 0.6 * float(self.rng.random()))) * DAY
            ts = float(round(ts, 3))
            user = str(step[-1])
            if kind == "attach_frag":
                k, j = int(step[2]), int(step[3])  # type: ignore[call-overload]
                self.attach(self.story.fragments[k][j], ts, user)
                desc = f"merge fragment {j} into neuron {k}"
            elif kind == "attach_cut":
                name = str(step[2])
                self.attach(self.story.cuts[name], ts, user)
                desc = f"merge piece {name!r} back"
            elif kind == "cut":
                k, name, target = int(step[2]), str(step[3]), float(step[4])  # type: ignore[call-overload, arg-type]
                root = self.soma_root(k)
                within = self.roots[root].svs
                lo_f = 0.2 if target >= 0.25 else 0.03
                hi_f = 0.45 if target >= 0.25 else 0.25
                top = self.choose_subtree(k, within, lo_f, hi_f, target)
                self.story.cuts[name] = top
                part = np.intersect1d(self.svs_of_runs(self.subtree(top)), within)
                anc = self.nonempty_ancestor(top)
                keep_anc = np.intersect1d(self.run_svs[anc], within)
                sv_a, sv_b = self.closest_pair(keep_anc, np.intersect1d(self.run_svs[top], within))
                self.split(root, part, sv_a, sv_b, ts, user)
                desc = f"split piece {name!r} off neuron {k}"
            elif kind == "merge_neurons":
                a, b = int(step[2]), int(step[3])  # type: ignore[call-overload]
                ra, rb = self.soma_root(a), self.soma_root(b)
                sa = self.roots[ra].svs[self.svs.neuron[self.roots[ra].svs] == a]
                sb = self.roots[rb].svs[self.svs.neuron[self.roots[rb].svs] == b]
                sv_a, sv_b = self.closest_pair(sa, sb)
                merge_edges[(a, b)] = (sv_a, sv_b)
                self.merge(sv_a, sv_b, ts, user, link=True)
                desc = f"merge neuron {b} into neuron {a} (whole neurons)"
            elif kind == "split_neurons":
                a, b = int(step[2]), int(step[3])  # type: ignore[call-overload]
                root = self.soma_root(a)
                members = self.roots[root].svs
                part = members[self.svs.neuron[members] == b]
                sv_a, sv_b = merge_edges[(a, b)]
                self.split(root, part, sv_a, sv_b, ts, user)
                desc = f"split neuron {b} off neuron {a} (undo false merge)"
            else:  # pragma: no cover - script typo
                raise ValueError(kind)
            self.story.op_names[len(self.ops)] = desc
        edited = {0, 1, 2, 3, 4, 5}
        if long_history > 0:
            neuron = n_neurons - 1
            self.long_history(neuron, long_history, long_rng or np.random.default_rng(0))
            edited.add(neuron)
        if huge is not None:
            self.roots[huge.root_id] = RootRecord(
                root_id=huge.root_id, created=self.t0, created_by=None, huge=True
            )
        self.story.version_times = tuple(self.t0 + d * DAY for d in VERSION_DAYS)
        self.story.unchanged_neurons = tuple(k for k in range(n_neurons) if k not in edited)
        return self.story


def build_history(
    trees: NeuronTrees,
    svs: Supervoxels,
    layout: GraphLayout,
    rng: np.random.Generator,
    t0: float,
    res: npt.NDArray[np.float64],
    n_neurons: int,
    huge_supervoxels: int = 0,
    long_history: int = 0,
    long_rng: np.random.Generator | None = None,
) -> tuple[ChunkGraph, Story]:
    """Create the original roots, replay the script and build the chunkedgraph.

    Args:
        long_history: extra operations on the last neuron after the script (0: none).
        long_rng: the generator for those operations (kept apart from ``rng`` so the rest of
            the world does not depend on ``long_history``).
    """
    if n_neurons < MIN_NEURONS:
        raise ValueError(f"n_neurons must be at least {MIN_NEURONS}")
    if long_history < 0:
        raise ValueError("long_history must be >= 0")
    if long_history and n_neurons < MIN_NEURONS + 1:
        raise ValueError(
            f"long_history needs n_neurons >= {MIN_NEURONS + 1} (one neuron stays unedited)"
        )
    b = _Builder(trees, svs, layout, rng, t0, res)
    huge = None
    if huge_supervoxels:
        n_seg = 1 << 20
        chunks = tuple((x, layout.grid[1] - 1, layout.grid[2] - 1) for x in range(layout.grid[0]))
        per = -(-huge_supervoxels // len(chunks))
        # the huge root gets the first segment number after all script roots (reserved below)
        huge_root = layout.encode(layout.n_layers, (0, 0, 0), (1 << 40) + 1)
        huge = HugeNeuron(root_id=huge_root, chunks=chunks, per_chunk=per, base=n_seg, created=t0)
    story = b.run(n_neurons, huge, long_history, long_rng)
    graph = ChunkGraph(
        layout, svs.ids, svs.chunk, b.epochs, b.roots, b.ops, t0, huge=huge
    )
    return graph, story
