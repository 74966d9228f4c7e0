"""The original tracertools' CAVE functions, call for call, on the real caveclient.

The baseline of ``benchmarks/segments.py``. Each method follows one function of the original
library as ``shared/spec/original-behaviour.md`` describes it: the same caveclient calls in the
same order, a new ``CAVEclient`` wherever the original builds one (every function call; composite
functions call the others), and the same per-item requests. Only what cannot reach a service
differs: the client talks to LocalCave (its address and token are passed in), set arithmetic
replaces the original's ``list.count`` and array membership scans (CPU, not requests), and
progress bars and prints are left out.

The original ``get_seg_details`` raises as soon as one of its IDs is already current (its
``get_current_seg_ids`` returns ``[id]`` for those, a bare int for stale ones, and the volume
call fails on the list). :meth:`Original.get_seg_details` unwraps ``[id]`` so that the baseline
can finish; :attr:`Original.unwrapped` counts how often it had to.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from tracertools.testing import LocalCave


class Original:
    """The original library's request pattern against one LocalCave."""

    def __init__(self, cave: LocalCave) -> None:
        self.cave = cave
        table = cave.config.synapse_table
        assert table is not None
        self.synapse_table = table.name
        self.pre_col, self.post_col = table.pre_seg_col, table.post_seg_col
        self.resolution = [float(r) for r in cave.world.resolution]
        self.unwrapped = 0
        self.slept = 0.0
        self.logged_edits = 0
        self.logged_splits: list[list[int]] = []

    def _client(self) -> Any:
        """``CAVEclient(datastack)``, as every original function builds on every call."""
        from caveclient import CAVEclient

        cave = self.cave
        return CAVEclient(cave.datastack_name, server_address=cave.url, auth_token=cave.token,
                          write_server_cache=False)

    # -- check_seg_freshness ---------------------------------------------------------------

    def check_seg_freshness(self, seg_ids: list[int]) -> list[bool]:
        """C + 1: one batched ``is_latest_roots``."""
        client = self._client()
        return [bool(v) for v in client.chunkedgraph.is_latest_roots(seg_ids)]

    # -- get_current_seg_ids ---------------------------------------------------------------

    def get_current_seg_ids(self, seg_ids: list[int]) -> list[Any]:
        """2C + 1, then ``get_leaves`` + ``get_roots`` per stale ID (defaults: no ratios,
        first candidate only). Fresh IDs give ``[id]``, stale IDs a bare int."""
        client = self._client()
        fresh = self.check_seg_freshness(seg_ids)
        out: list[Any] = []
        for seg_id, is_fresh in zip(seg_ids, fresh, strict=True):
            if is_fresh:
                out.append([seg_id])
                continue
            svs = client.chunkedgraph.get_leaves(seg_id)
            roots = client.chunkedgraph.get_roots(svs)
            values, counts = np.unique(np.asarray(roots), return_counts=True)
            ranked = sorted(zip(values.tolist(), (counts / len(svs)).tolist(), strict=True),
                            key=lambda pair: pair[1], reverse=True)
            out.append(int(ranked[0][0]))
        return out

    # -- get_seg_3d_volume -----------------------------------------------------------------

    def get_seg_3d_volume(self, seg_id: int) -> float:
        """C + 2: L2 IDs, then their ``size_nm3`` (nodes missing from the cache are skipped)."""
        client = self._client()
        l2_ids = client.chunkedgraph.get_leaves(seg_id, stop_layer=2)
        data = client.l2cache.get_l2data([int(x) for x in l2_ids], attributes=["size_nm3"])
        frame = pd.DataFrame(data).T
        return float(frame["size_nm3"].sum() / 1e9)

    # -- get_seg_skeletons / get_cable_lengths ---------------------------------------------

    def get_seg_skeletons(self, seg_ids: list[int]) -> list[Any]:
        """C + bulk generation (version -1) + sleep(ETA), then ``get_skeleton`` per ID with
        caveclient's defaults (version 4, dict), wrapped in osteoid Skeletons (nm)."""
        from osteoid import Skeleton

        client = self._client()
        res = self.resolution
        matrix = np.array([[res[0], 0, 0, 0], [0, res[1], 0, 0], [0, 0, res[2], 0]],
                          dtype=np.float32)
        eta = client.skeleton.generate_bulk_skeletons_async(seg_ids, skeleton_version=-1)
        if isinstance(eta, dict):
            raise RuntimeError("Bad segment id.")  # the original calls sys.exit(0) here
        time.sleep(float(eta))
        self.slept += float(eta)
        skeletons = []
        for seg_id in seg_ids:
            sk = client.skeleton.get_skeleton(seg_id)
            skeletons.append(Skeleton(sk["vertices"], sk["edges"], radii=sk["radius"],
                                      transform=matrix, space="physical"))
        return skeletons

    def get_cable_lengths(self, seg_ids: list[int]) -> list[float]:
        return [float(s.cable_length()) for s in self.get_seg_skeletons(seg_ids)]

    # -- count_synapses --------------------------------------------------------------------

    def count_synapses(self, seg_ids: list[int], detailed_results: bool = False) -> Any:
        """C + 2 materialized ``query_table`` calls (every column of every matching row)."""
        ids = [int(i) for i in seg_ids]
        client = self._client()
        mat = client.materialize
        incoming = mat.query_table(self.synapse_table, filter_in_dict={self.post_col: ids})
        outgoing = mat.query_table(self.synapse_table, filter_in_dict={self.pre_col: ids})
        in_counts = incoming[self.post_col].value_counts() if len(incoming) else pd.Series()
        out_counts = outgoing[self.pre_col].value_counts() if len(outgoing) else pd.Series()
        n_in = {i: int(in_counts.get(i, 0)) for i in ids}
        n_out = {i: int(out_counts.get(i, 0)) for i in ids}
        if detailed_results:
            return {i: {"in": n_in[i], "out": n_out[i], "all": n_in[i] + n_out[i]} for i in ids}
        return [n_in[i] + n_out[i] for i in ids]

    # -- get_seg_details -------------------------------------------------------------------

    def get_seg_details(self, seg_ids: list[int]) -> list[list[Any]]:
        """Current IDs, then a volume per ID (a client each), one skeleton batch and one
        synapse count: rows [id, current, volume µm³, cable nm, out, in, total]."""
        fresh = self.get_current_seg_ids(seg_ids)
        current = []
        for value in fresh:
            if isinstance(value, list):  # the original crashes here (see the module notes)
                self.unwrapped += 1
                value = value[0]
            current.append(int(value))
        volumes = [self.get_seg_3d_volume(c) for c in current]
        cable = self.get_cable_lengths(current)
        synapses = self.count_synapses(current, detailed_results=True)
        return [[seg_id, c, v, length, synapses[c]["out"], synapses[c]["in"], synapses[c]["all"]]
                for seg_id, c, v, length in zip(seg_ids, current, volumes, cable, strict=True)]

    # -- count_user_sv_contribution --------------------------------------------------------

    def count_user_sv_contribution(self, completed_seg_id: int) -> dict[str, int]:
        """C + 2 (the default, filtered change log; the final supervoxels), then 2
        ``get_leaves`` per edit: a split credits before[0] - after[0] - final, a merge the
        smaller before-root's supervoxels that are in final."""
        client = self._client()
        cg = client.chunkedgraph
        log = cg.get_tabular_change_log(root_ids=[completed_seg_id])[completed_seg_id]
        self.logged_edits = len(log)  # bookkeeping for the report, not part of the algorithm
        self.logged_splits = [list(r) for r in log.loc[~log["is_merge"], "after_root_ids"]]
        final = set(cg.get_leaves(completed_seg_id).tolist())
        credit: dict[str, set[int]] = {str(u): set() for u in log["user_id"].unique()}
        for _, row in log.iterrows():
            if row["is_merge"]:
                a, b = (set(cg.get_leaves(r).tolist()) for r in row["before_root_ids"][:2])
                gained = (a if len(a) <= len(b) else b) & final
            else:
                before = set(cg.get_leaves(row["before_root_ids"][0]).tolist())
                after = set(cg.get_leaves(row["after_root_ids"][0]).tolist())
                gained = (before - after) - final
            credit[str(row["user_id"])].update(gained)
        return {user: len(svs) for user, svs in credit.items()}
