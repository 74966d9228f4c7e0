"""The world's annotation tables: synapses, proofreading status and cell info.

* ``synapses``: for every ordered pair of regular neurons 0-24 synapses (with
  ``World(synapse_partners=k)``: for each neuron and k partners drawn at random, so large
  worlds stay linear in size), plus a few autapses on neurons 0 and 3; pre/post points are random voxels of the two neurons. All rows exist
  from the start (created before version 1).
* ``proofreading_status``: rows created at different times (so versions differ), including
  one whose ``proofread`` is False and rows whose ``valid_id`` is now an ancestor of the
  current root.
* ``cell_info``: one row per neuron with a ``tag``, at the soma.
* ``nuclei``: one row per neuron at its soma, stored at the segmentation resolution (its native
  ``voxel_resolution`` differs from the viewer resolution), with the soma volume.
* ``cell_types``: a *reference table* on ``nuclei`` (``target_id`` -> ``nuclei.id``): a cell type
  for every nucleus but the last, and a second classification for the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tracertools.testing._history import DAY
from tracertools.testing._tables import AnnotationTable

if TYPE_CHECKING:
    from tracertools.testing.world import World

TAGS = ("KC", "PN", "LN", "MBON", "DN", "AN", "SEZ", "ORN")


def _view(world: World, vox: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    from tracertools.testing.world import seg_to_view

    return seg_to_view(vox, world.seg_resolution, world.resolution)


def build_tables(world: World, rng: np.random.Generator, aux: dict[str, np.ndarray]) -> dict[str, AnnotationTable]:
    """Create the three tables of a world."""
    svs = world.svs
    vox_sv = aux["sv"]
    vox_xyz = aux["xyz"]
    vox_neuron = svs.neuron[vox_sv]
    by_neuron = [np.flatnonzero(vox_neuron == k) for k in range(world.n_neurons)]
    pre: list[np.ndarray] = []
    post: list[np.ndarray] = []
    partners = getattr(world, "synapse_partners", None)
    for a in range(world.n_neurons):
        targets = range(world.n_neurons) if partners is None else np.sort(
            rng.choice(world.n_neurons, size=min(partners, world.n_neurons), replace=False))
        for b in targets:
            if a == b:
                n = int(rng.integers(3, 7)) if a in (0, 3) else 0
            else:
                n = int(rng.integers(0, 25))
            if n == 0 or len(by_neuron[a]) == 0 or len(by_neuron[b]) == 0:
                continue
            pre.append(rng.choice(by_neuron[a], n))
            post.append(rng.choice(by_neuron[b], n))
    pre_v = np.concatenate(pre)
    post_v = np.concatenate(post)
    n_syn = len(pre_v)
    t_syn = world.t0 + 0.5 * DAY
    synapses = AnnotationTable(
        name="synapses",
        schema="synapse",
        description="Synthetic synapses between LocalCave neurons (positions in viewer voxels).",
        columns=[
            ("id", "int"), ("created", "time"), ("valid", "bool"), ("size", "int"),
            ("pre_pt_supervoxel_id", "sv"), ("pre_pt_root_id", "root"),
            ("post_pt_supervoxel_id", "sv"), ("post_pt_root_id", "root"),
            ("pre_pt_position", "pos"), ("post_pt_position", "pos"),
        ],
        data={
            "id": np.arange(1, n_syn + 1, dtype=np.int64),
            "created": np.full(n_syn, t_syn),
            "valid": np.ones(n_syn, dtype=bool),
            "size": rng.integers(20, 2000, n_syn).astype(np.int64),
            "pre_pt_supervoxel_id": svs.ids[vox_sv[pre_v]].astype(np.int64),
            "post_pt_supervoxel_id": svs.ids[vox_sv[post_v]].astype(np.int64),
            "pre_pt_position": _view(world, vox_xyz[pre_v]),
            "post_pt_position": _view(world, vox_xyz[post_v]),
        },
    )
    # points at the somas
    soma_vox = np.floor(world.trees.pos_nm[world.trees.soma_node] / np.array(world.seg_resolution)).astype(np.int64)
    soma_sv = np.array([world.supervoxel_at(v) for v in soma_vox], dtype=np.int64)
    soma_view = _view(world, soma_vox)
    _, v2, _ = world.story.version_times
    rows = [  # (neuron, created, proofread)
        (6 % world.n_neurons, world.t0 + 3 * DAY, True),
        (5, world.t0 + 10 * DAY, True),
        (0, v2 + 1 * DAY, True),
        (1, v2 + 2 * DAY, False),
        (3, v2 + 3 * DAY, True),
    ]
    ids = np.arange(1, len(rows) + 1, dtype=np.int64)
    neurons = np.array([r[0] for r in rows])
    created = np.array([r[1] for r in rows], dtype=np.float64)
    valid_id = np.array(
        [int(world.graph.roots_at(np.array([soma_sv[k]], dtype=np.uint64), t)[0]) for k, t, _ in rows],
        dtype=np.int64,
    )
    proof = AnnotationTable(
        name="proofreading_status",
        schema="proofreading_boolstatus_user",
        description="Proofreading status per neuron; valid_id is the root the status was set for.",
        columns=[
            ("id", "int"), ("created", "time"), ("valid", "bool"),
            ("pt_supervoxel_id", "sv"), ("pt_root_id", "root"),
            ("valid_id", "int"), ("proofread", "bool"), ("user_id", "int"),
            ("pt_position", "pos"),
        ],
        data={
            "id": ids,
            "created": created,
            "valid": np.ones(len(rows), dtype=bool),
            "pt_supervoxel_id": soma_sv[neurons],
            "valid_id": valid_id,
            "proofread": np.array([r[2] for r in rows], dtype=bool),
            "user_id": np.array([1001 + i % 5 for i in range(len(rows))], dtype=np.int64),
            "pt_position": soma_view[neurons],
        },
    )
    n = world.n_neurons
    cell = AnnotationTable(
        name="cell_info",
        schema="cell_type_local",
        description="One tag per neuron, at its soma.",
        columns=[
            ("id", "int"), ("created", "time"), ("valid", "bool"),
            ("pt_supervoxel_id", "sv"), ("pt_root_id", "root"), ("tag", "str"),
            ("pt_position", "pos"),
        ],
        data={
            "id": np.arange(1, n + 1, dtype=np.int64),
            "created": np.full(n, world.t0 + 1 * DAY),
            "valid": np.ones(n, dtype=bool),
            "pt_supervoxel_id": soma_sv,
            "tag": np.array([TAGS[k % len(TAGS)] for k in range(n)], dtype=object),
            "pt_position": soma_view,
        },
    )
    nuclei = AnnotationTable(
        name="nuclei",
        schema="nucleus_detection",
        description="One nucleus per neuron, at its soma (positions in segmentation voxels).",
        columns=[
            ("id", "int"), ("created", "time"), ("valid", "bool"), ("volume", "float"),
            ("pt_supervoxel_id", "sv"), ("pt_root_id", "root"), ("pt_position", "pos"),
        ],
        data={
            "id": np.arange(1, n + 1, dtype=np.int64),
            "created": np.full(n, world.t0 + 1 * DAY),
            "valid": np.ones(n, dtype=bool),
            "volume": (4 / 3 * np.pi * world.trees.radius_nm[world.trees.soma_node] ** 3) / 1e9,
            "pt_supervoxel_id": soma_sv,
            "pt_position": soma_vox,
        },
        voxel_resolution=tuple(float(v) for v in world.seg_resolution),  # type: ignore[arg-type]
    )
    typed = list(range(max(n - 1, 1))) + [0]
    cell_types = AnnotationTable(
        name="cell_types",
        schema="cell_type_reference",
        description="Cell types of the nuclei (a reference table on 'nuclei').",
        columns=[
            ("id", "int"), ("created", "time"), ("valid", "bool"), ("target_id", "int"),
            ("classification_system", "str"), ("cell_type", "str"),
        ],
        data={
            "id": np.arange(1, len(typed) + 1, dtype=np.int64),
            "created": np.full(len(typed), world.t0 + 2 * DAY),
            "valid": np.ones(len(typed), dtype=bool),
            "target_id": np.asarray([k + 1 for k in typed], dtype=np.int64),
            "classification_system": np.asarray(
                ["morphology"] * (len(typed) - 1) + ["connectivity"], dtype=object),
            "cell_type": np.asarray([TAGS[k % len(TAGS)] for k in typed[:-1]] + ["hub"],
                                    dtype=object),
        },
        reference_table="nuclei",
    )
    return {t.name: t for t in (synapses, proof, cell, nuclei, cell_types)}
