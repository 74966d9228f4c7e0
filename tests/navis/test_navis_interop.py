"""navis interop: skeletons and meshes to and from navis neurons, in nm, IDs kept."""

from __future__ import annotations

import sys

import navis  # the navis extra is part of the test extras
import numpy as np
import pytest

from tracertools.errors import InvalidGeometryError, InvalidInputError, MissingDependencyError
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.skeleton import Skeleton

ROOT_ID = 720575941473274509
VERTICES = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 12.0], [6.0, 8.0, 0.0]])
RADII = np.array([40.0, 30.0, 20.0, 10.0])


def undirected(edges: np.ndarray) -> set[tuple[int, int]]:
    return {tuple(sorted(map(int, e))) for e in edges}


def test_skeleton_to_navis_is_a_tree_neuron_in_nm_with_the_segment_id():
    sk = Skeleton(VERTICES, [[1, 0], [2, 1], [3, 1]], RADII, segment_id=ROOT_ID)
    neuron = sk.to_navis()
    assert isinstance(neuron, navis.TreeNeuron)
    assert neuron.id == ROOT_ID
    assert str(neuron.units) == "1 nanometer"
    assert neuron.nodes.node_id.tolist() == [0, 1, 2, 3]
    assert np.array_equal(neuron.nodes[["x", "y", "z"]].to_numpy(), VERTICES)
    assert np.array_equal(neuron.nodes.radius.to_numpy(), RADII)
    assert neuron.nodes.parent_id.tolist() == [-1, 0, 1, 1]
    assert neuron.cable_length == pytest.approx(sk.cable_length())


def test_bones_given_either_way_round_give_the_same_tree():
    forward = Skeleton(VERTICES, [[0, 1], [1, 2], [3, 1]], RADII).to_navis()
    assert forward.nodes.parent_id.tolist() == [-1, 0, 1, 1]


def test_the_service_root_vertex_becomes_the_tree_root():
    sk = Skeleton(VERTICES, [[1, 0], [2, 1], [3, 1]], RADII, meta={"root": 2})
    parents = sk.to_navis().nodes.set_index("node_id").parent_id
    assert parents[2] == -1 and parents[1] == 2 and parents[0] == 1 and parents[3] == 1


def test_a_skeleton_in_pieces_gives_one_root_per_piece():
    v = np.vstack([VERTICES, VERTICES + 100])
    sk = Skeleton(v, [[1, 0], [2, 1], [3, 1], [5, 4], [6, 5], [7, 5]])
    parents = sk.to_navis().nodes.parent_id.to_numpy()
    assert np.flatnonzero(parents == -1).tolist() == [0, 4]


def test_a_skeleton_with_a_cycle_is_refused():
    sk = Skeleton(VERTICES[:3], [[0, 1], [1, 2], [2, 0]])
    with pytest.raises(InvalidGeometryError, match="needs a tree"):
        sk.to_navis()


def test_skeleton_round_trip_keeps_vertices_radii_bones_and_id():
    sk = Skeleton(VERTICES, [[1, 0], [2, 1], [3, 1]], RADII, segment_id=ROOT_ID)
    back = Skeleton.from_navis(sk.to_navis())
    assert back == sk  # child->parent bones in vertex order, as the skeleton service gives them
    assert back.segment_id == ROOT_ID


def test_round_trip_of_a_service_skeleton(ds, world):
    root = int(world.latest_roots_now()[0])
    sk = ds.segment(root).skeleton()
    back = Skeleton.from_navis(sk.to_navis())
    assert np.array_equal(back.vertices, sk.vertices)
    assert np.array_equal(back.radii, sk.radii)
    assert undirected(back.edges) == undirected(sk.edges)
    assert back.segment_id == root
    assert back.cable_length() == pytest.approx(world.cable_length(root), rel=1e-12)


def test_from_navis_converts_other_units_to_nm():
    import pandas as pd

    nodes = pd.DataFrame({"node_id": [1, 2], "parent_id": [-1, 1], "x": [0.0, 1.0],
                          "y": [0.0, 0.0], "z": [0.0, 0.0], "radius": [0.5, 0.25]})
    sk = Skeleton.from_navis(navis.TreeNeuron(nodes, units="1 micrometer", id=ROOT_ID))
    assert np.allclose(sk.vertices, [[0, 0, 0], [1000, 0, 0]])
    assert np.allclose(sk.radii, [500, 250])
    assert sk.edges.tolist() == [[1, 0]]
    assert sk.segment_id == ROOT_ID
    voxels = Skeleton.from_navis(navis.TreeNeuron(nodes, units="8 nm"))
    assert np.allclose(voxels.vertices[1], [8, 0, 0])
    assert voxels.segment_id is None  # navis made up an ID; it names no segment


def test_from_navis_refuses_what_is_not_a_tree_neuron():
    with pytest.raises(InvalidInputError, match="TreeNeuron"):
        Skeleton.from_navis(object())


def test_mesh_round_trip_in_nm_with_its_id():
    mesh = Mesh.convex_hull(np.array([[0, 0, 0], [400, 0, 0], [0, 400, 0], [0, 0, 900.0]]))
    neuron = mesh.to_navis(segment_id=ROOT_ID, name="tetra")
    assert isinstance(neuron, navis.MeshNeuron)
    assert neuron.id == ROOT_ID and neuron.name == "tetra" and str(neuron.units) == "1 nanometer"
    assert Mesh.from_navis(neuron) == mesh


def test_segment_list_skeletons_as_a_neuron_list(ds, world, local_cave):
    roots = [int(r) for r in world.latest_roots_now()[:3]]
    neurons = ds.segments(roots).navis_skeletons(progress=False)
    assert isinstance(neurons, navis.NeuronList)
    assert [int(i) for i in neurons.id] == roots
    assert all(str(n.units) == "1 nanometer" for n in neurons)
    for neuron, root in zip(neurons, roots, strict=True):
        assert neuron.cable_length == pytest.approx(world.cable_length(root), rel=1e-9)
    single = ds.segment(roots[0]).navis_skeleton()
    assert single.id == roots[0]


def test_failed_segments_are_left_out_under_warn(ds, world):
    from tracertools.errors import PartialResultWarning

    good = int(world.latest_roots_now()[0])
    unknown = good + 10_000_000  # a root-layer ID the chunkedgraph never made
    with pytest.warns(PartialResultWarning):
        neurons = ds.segments([good, unknown]).navis_skeletons(errors="warn", progress=False)
    assert [int(i) for i in neurons.id] == [good]


def test_without_navis_the_error_names_the_extra_before_any_request(ds, local_cave, monkeypatch):
    monkeypatch.setitem(sys.modules, "navis", None)  # as if it were not installed
    local_cave.stats.reset()
    with pytest.raises(MissingDependencyError, match=r"tracertools\[navis\]"):
        ds.segments([int(local_cave.world.latest_roots_now()[0])]).navis_skeletons()
    assert local_cave.stats.total == 0
    with pytest.raises(ImportError):
        Skeleton(VERTICES, [[1, 0]]).to_navis()
