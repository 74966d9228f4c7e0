"""Edits and user contributions of a 5,000-edit neuron on the scale world (issue #14).

The neuron is ``scale_world.long_history_neurons[0]``: a small piece split off its core and
merged back, 5,000 times; about 30,000 supervoxels in 145 L2 nodes. Each test warms a fresh
Datastack up on another long-history neuron, resets LocalCave's counters, runs the method once
and checks the answer against the world's ground truth, then the requests and bytes the
counters saw, bounded by the number of operations (no timings).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

#: Operation IDs per ``operation_details`` request (they travel in the URL).
OPS_PER_REQUEST = 250
#: Nodes per ``leaves_many`` request (roots for their L2 IDs, L2 nodes for their supervoxels).
NODES_PER_REQUEST = 500
#: JSON bytes per ID in a ``leaves_many`` answer: up to 20 digits and a separator, with room
#: for the keys.
BYTES_PER_ID = 24


@pytest.fixture(scope="module")
def root(scale_world: Any) -> int:
    """The current root of the first 5,000-edit neuron."""
    return int(scale_world.neuron_root(scale_world.long_history_neurons[0]))


@pytest.fixture(scope="module")
def neuron_l2(scale_world: Any, root: int) -> int:
    """L2 nodes of the neuron (its roots' L2 nodes never change in the scale world)."""
    nodes = [scale_world.l2_ids(o) for o in scale_world.original_roots(root)]
    return int(np.unique(np.concatenate([*nodes, scale_world.l2_ids(root)])).size)


def _fresh(scale_cave: Any, scale_world: Any, call: str) -> Any:
    """A Datastack warmed up by ``call`` on the second long-history neuron, counters reset."""
    ds = scale_cave.datastack()
    other = int(scale_world.neuron_root(scale_world.long_history_neurons[1]))
    getattr(ds.segments([other]), call)()
    scale_cave.reset()
    return ds


def test_user_contributions_of_a_5000_edit_neuron_are_exact_in_bytes_bounded_by_l2_nodes(
    scale_cave: Any, scale_world: Any, root: int, neuron_l2: int
) -> None:
    ops = scale_world.edits(root)
    assert len(ops) == 5_000
    splits = sum(1 for op in ops if len(op.after_roots) > 1)
    ds = _fresh(scale_cave, scale_world, "user_contributions")

    credit = ds.segment(root).user_contributions()

    assert {str(u): int(c) for u, c in credit.items()} == scale_world.user_sv_credit(root)
    # fetched: the L2 IDs of the original and of every root a split made (a merge's root is
    # the union of its parts), then the supervoxels of each distinct L2 node once
    fetched_roots = 1 + 2 * splits
    n_sv = sum(scale_world.n_supervoxels(o) for o in scale_world.original_roots(root))
    requests = scale_cave.stats.as_dict()
    assert requests["tabular_change_log"] == 1
    assert requests["leaves_many"] <= (math.ceil(fetched_roots / NODES_PER_REQUEST)
                                       + math.ceil(neuron_l2 / NODES_PER_REQUEST))
    assert set(requests) == {"tabular_change_log", "leaves_many"}
    # the nodes asked for travel in the request bodies: the roots above and the L2 nodes
    asked_bytes = scale_cave.request_bytes.as_dict()["leaves_many"]
    assert asked_bytes <= BYTES_PER_ID * (fetched_roots + neuron_l2)
    leaves_bytes = scale_cave.response_bytes.as_dict()["leaves_many"]
    assert leaves_bytes <= BYTES_PER_ID * (fetched_roots * neuron_l2 + n_sv)
    # never the supervoxels of every root of every edit (the old path: 2.5 GiB here)
    assert leaves_bytes < len(ops) * n_sv


def test_user_contributions_of_a_5000_edit_neuron_a_second_time_cost_no_request(
    scale_cave: Any, scale_world: Any, root: int
) -> None:
    ds = _fresh(scale_cave, scale_world, "changelogs")
    first = ds.segment(root).user_contributions()
    scale_cave.reset()
    assert ds.segment(root).user_contributions().equals(first)
    assert scale_cave.stats.total == 0


def test_edits_of_a_5000_edit_neuron_are_one_change_log_and_operation_chunks(
    scale_cave: Any, scale_world: Any, root: int
) -> None:
    ds = _fresh(scale_cave, scale_world, "edits")

    edits = ds.segment(root).edits()

    assert sorted(edits["operation_id"].tolist()) == sorted(
        op.operation_id for op in scale_world.edits(root))
    assert scale_cave.stats.as_dict() == {
        "tabular_change_log": 1,
        "operation_details": math.ceil(5_000 / OPS_PER_REQUEST),
    }
