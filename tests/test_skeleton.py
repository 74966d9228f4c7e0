"""Skeleton: a value object in nm built from CAVE dicts, SWC and osteoid; bones and crossings."""

from __future__ import annotations

import io
import math
import pickle
from dataclasses import dataclass

import numpy as np
import osteoid
import pandas as pd
import pytest

from tracertools.errors import InvalidGeometryError, InvalidInputError
from tracertools.geometry.skeleton import Skeleton

ROOT_ID = 720575941473274509

# A small Y-shaped skeleton (nm): a 5 nm trunk, a 12 nm branch up in z and a 5 nm branch.
VERTICES = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 12.0], [6.0, 8.0, 0.0]])
EDGES = np.array([[1, 0], [2, 1], [3, 1]])
RADII = np.array([40.0, 30.0, 20.0, 10.0])
Y_CABLE_NM = 5.0 + 12.0 + 5.0

# The same skeleton as the skeleton service's SWC (no header; 0-based ids; root parent -1).
Y_SWC = (
    "0 1 0.0 0.0 0.0 40.0 -1\n"
    "1 3 3.0 4.0 0.0 30.0 0\n"
    "2 3 3.0 4.0 12.0 20.0 1\n"
    "3 3 6.0 8.0 0.0 10.0 1\n"
)


def y_skeleton(**kwargs) -> Skeleton:
    return Skeleton(VERTICES, EDGES, RADII, **kwargs)


def cave_dict() -> dict:
    """What caveclient's get_skeleton(..., output_format="dict") returns for the Y skeleton."""
    return {
        "meta": {"root_id": ROOT_ID, "skeleton_version": 4, "space": "physical", "units": "nm"},
        "edges": EDGES.copy(),
        "vertices": VERTICES.copy(),
        "mesh_to_skel_map": np.array([0, 1, 1, 2, 3]),
        "root": 0,
        "radius": RADII.copy(),
        "compartment": np.array([1, 3, 3, 3]),
        "lvl2_ids": np.array([11, 12, 13, 14, 15]),
    }


def random_tree(n: int, seed: int = 0) -> Skeleton:
    rng = np.random.default_rng(seed)
    vertices = rng.uniform(0, 50_000, size=(n, 3))
    parents = np.array([rng.integers(0, i) for i in range(1, n)])
    edges = np.stack([np.arange(1, n), parents], axis=1)
    return Skeleton(vertices, edges, rng.uniform(50, 500, size=n), segment_id=ROOT_ID)


# A unit square (scaled to 1000 nm) in the z=0 plane, made of two triangles sharing the diagonal
# from (0,0,0) to (1000,1000,0).
SQUARE = 1000.0 * np.array(
    [
        [[0, 0, 0], [1, 0, 0], [1, 1, 0]],
        [[0, 0, 0], [1, 1, 0], [0, 1, 0]],
    ],
    dtype=float,
)


@dataclass
class SquareMesh:
    """Anything with a ``triangles`` attribute (F, 3, 3) in nm is accepted as a mesh."""

    triangles: np.ndarray


def crossing_skeleton() -> Skeleton:
    """Bone 0 pierces the first triangle at (750, 250, 0); bone 1 runs above the square."""
    vertices = [[750, 250, -500], [750, 250, 500], [0, 0, 100], [1000, 1000, 100]]
    return Skeleton(vertices, [[0, 1], [2, 3]])


def hovering_skeleton() -> Skeleton:
    return Skeleton([[0, 0, 100], [1000, 1000, 100], [500, 500, 400]], [[0, 1], [1, 2]])


# ---------------------------------------------------------------------------------------------
# Construction and validation
# ---------------------------------------------------------------------------------------------


def test_properties_hold_the_given_arrays_in_nm():
    sk = y_skeleton(segment_id=ROOT_ID)
    np.testing.assert_array_equal(sk.vertices, VERTICES)
    np.testing.assert_array_equal(sk.edges, EDGES)
    np.testing.assert_array_equal(sk.radii, RADII)
    assert (sk.n_vertices, sk.n_edges, sk.segment_id) == (4, 3, ROOT_ID)
    assert sk.vertices.dtype == np.float64 and sk.edges.dtype == np.int64


def test_arrays_are_read_only_copies():
    vertices = VERTICES.copy()
    sk = Skeleton(vertices, EDGES, RADII)
    vertices[0, 0] = 99.0
    assert sk.vertices[0, 0] == 0.0
    with pytest.raises(ValueError):
        sk.vertices[0, 0] = 1.0


def test_radii_may_be_unknown():
    assert Skeleton(VERTICES, EDGES).radii is None


def test_segment_id_accepts_digit_strings():
    assert Skeleton(VERTICES, EDGES, segment_id=str(ROOT_ID)).segment_id == ROOT_ID


def test_empty_skeleton_has_no_bones_and_zero_cable():
    sk = Skeleton(np.empty((0, 3)), np.empty((0, 2)))
    assert (sk.n_vertices, sk.n_edges, sk.cable_length()) == (0, 0, 0.0)
    assert sk.bones().shape == (0, 2, 3)


@pytest.mark.parametrize(
    ("vertices", "edges", "radii", "message"),
    [
        (np.zeros((4, 2)), EDGES, None, "shape"),
        (VERTICES, np.array([[0, 1, 2]]), None, "shape"),
        (VERTICES, np.array([[0, 4]]), None, "outside"),
        (VERTICES, np.array([[-1, 0]]), None, "outside"),
        (VERTICES, np.array([[0.5, 1.0]]), None, "whole"),
        (np.array([[0, 0, np.nan]] * 4), EDGES, None, "NaN"),
        (VERTICES, EDGES, np.ones(3), "radii"),
        (VERTICES, EDGES, -RADII, "negative"),
    ],
    ids=[
        "vertices-not-3d",
        "edges-not-pairs",
        "edge-index-too-large",
        "edge-index-negative",
        "edge-index-fractional",
        "vertex-nan",
        "radii-wrong-length",
        "radii-negative",
    ],
)
def test_malformed_input_raises_invalid_geometry(vertices, edges, radii, message):
    with pytest.raises(InvalidGeometryError, match=message):
        Skeleton(vertices, edges, radii)


def test_whole_float_edges_are_accepted():
    assert Skeleton(VERTICES, EDGES.astype(float)).edges.dtype == np.int64


# ---------------------------------------------------------------------------------------------
# From the skeleton service: caveclient dict and SWC
# ---------------------------------------------------------------------------------------------


def test_from_cave_dict_reads_vertices_edges_radius_and_root_id():
    sk = Skeleton.from_cave_dict(cave_dict())
    assert sk == y_skeleton(segment_id=ROOT_ID)


def test_from_cave_dict_keeps_service_metadata_and_extras_in_meta():
    meta = Skeleton.from_cave_dict(cave_dict()).meta
    assert meta["skeleton_version"] == 4
    assert meta["root"] == 0
    np.testing.assert_array_equal(meta["compartment"], [1, 3, 3, 3])


def test_from_cave_dict_accepts_bulk_lists():
    bulk = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in cave_dict().items()}
    assert Skeleton.from_cave_dict(bulk) == Skeleton.from_cave_dict(cave_dict())


def test_from_cave_dict_explicit_segment_id_wins():
    assert Skeleton.from_cave_dict(cave_dict(), segment_id=5).segment_id == 5


def test_from_cave_dict_without_vertices_raises():
    d = cave_dict()
    del d["vertices"]
    with pytest.raises(InvalidGeometryError, match="vertices"):
        Skeleton.from_cave_dict(d)


def test_from_swc_text_matches_the_cave_dict_of_the_same_skeleton():
    from_swc = Skeleton.from_swc(Y_SWC, segment_id=ROOT_ID)
    assert from_swc == Skeleton.from_cave_dict(cave_dict())


def test_from_swc_dataframe_as_caveclient_parses_it():
    df = pd.read_csv(
        io.StringIO(Y_SWC), sep=" ", names=["id", "type", "x", "y", "z", "radius", "parent"]
    )
    assert Skeleton.from_swc(df) == Skeleton.from_swc(Y_SWC)


def test_from_swc_reads_standard_one_based_files_with_comments_in_micrometres():
    text = (
        "# SWC exported in micrometres\n"
        "1 1 0 0 0 0.04 -1\n"
        "3 3 0.003 0.004 0.012 0.02 2\n"  # listed before its parent
        "2 3 0.003 0.004 0 0.03 1\n"
        "4 3 0.006 0.008 0 0.01 2\n"
    )
    sk = Skeleton.from_swc(text, scale_to_nm=1000.0)
    assert sk.cable_length() == pytest.approx(Y_CABLE_NM)
    np.testing.assert_allclose(sk.radii, [40.0, 20.0, 30.0, 10.0])
    np.testing.assert_array_equal(sk.edges, [[1, 2], [2, 0], [3, 2]])


def test_from_swc_radii_of_minus_one_mean_unknown():
    assert Skeleton.from_swc("1 1 0 0 0 -1 -1\n2 3 5 0 0 -1 1\n").radii is None


def test_from_swc_parent_that_is_not_a_node_raises():
    with pytest.raises(InvalidGeometryError, match="parent 7"):
        Skeleton.from_swc("0 1 0 0 0 1 -1\n1 3 1 0 0 1 7\n")


def test_from_swc_duplicate_node_ids_raise():
    with pytest.raises(InvalidGeometryError, match="unique"):
        Skeleton.from_swc("0 1 0 0 0 1 -1\n0 3 1 0 0 1 0\n")


# ---------------------------------------------------------------------------------------------
# osteoid
# ---------------------------------------------------------------------------------------------


def test_to_osteoid_is_physical_space_in_nm_like_the_original():
    ost = y_skeleton(segment_id=ROOT_ID).to_osteoid(resolution=(4, 4, 45))
    assert isinstance(ost, osteoid.Skeleton)
    assert ost.space == "physical"
    assert ost.id == ROOT_ID
    np.testing.assert_array_equal(ost.vertices, VERTICES)
    np.testing.assert_array_equal(ost.radius, RADII)
    np.testing.assert_array_equal(np.diag(ost.transform[:, :3]), [4, 4, 45])


def test_osteoid_round_trip_gives_an_equal_skeleton():
    sk = random_tree(200)
    assert Skeleton.from_osteoid(sk.to_osteoid()) == sk


def test_from_osteoid_maps_voxel_space_through_its_transform():
    transform = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 45, 0]]
    voxels = osteoid.Skeleton(
        [[0, 0, 0], [10, 10, 1]], [[0, 1]], radii=[2.0, 1.0], transform=transform, space="voxel"
    )
    sk = Skeleton.from_osteoid(voxels)
    np.testing.assert_allclose(sk.vertices, [[0, 0, 0], [40, 40, 45]])


def test_from_osteoid_default_radii_mean_unknown():
    assert Skeleton.from_osteoid(osteoid.Skeleton([[0, 0, 0], [1, 0, 0]], [[0, 1]])).radii is None


# ---------------------------------------------------------------------------------------------
# Cable length and bones
# ---------------------------------------------------------------------------------------------


def test_cable_length_is_the_sum_of_bone_lengths_in_nm():
    assert y_skeleton().cable_length() == Y_CABLE_NM


def test_cable_length_equals_osteoids():
    sk = random_tree(500, seed=3)
    expected = sum(math.dist(sk.vertices[a], sk.vertices[b]) for a, b in sk.edges)
    assert sk.cable_length() == pytest.approx(expected, rel=1e-12)
    assert sk.cable_length() == float(sk.to_osteoid().cable_length())


def test_bones_are_edge_endpoints_in_nm():
    bones = y_skeleton().bones()
    assert bones.shape == (3, 2, 3)
    np.testing.assert_array_equal(bones[1], [[3, 4, 12], [3, 4, 0]])


def test_bones_at_a_resolution_are_in_viewer_voxels():
    bones = y_skeleton().bones(resolution=(4, 4, 45))
    np.testing.assert_allclose(bones[1], [[0.75, 1.0, 12 / 45], [0.75, 1.0, 0.0]])


def test_bones_reject_a_bad_resolution():
    with pytest.raises(InvalidInputError, match="resolution"):
        y_skeleton().bones(resolution=(4, 0, 45))


# ---------------------------------------------------------------------------------------------
# Intersections with meshes
# ---------------------------------------------------------------------------------------------


def test_intersections_with_a_triangle_array_are_crossing_points_in_nm():
    points = crossing_skeleton().intersections(SQUARE)
    np.testing.assert_allclose(points, [[750.0, 250.0, 0.0]])


def test_intersections_accept_any_object_with_triangles():
    points = crossing_skeleton().intersections(SquareMesh(SQUARE))
    np.testing.assert_allclose(points, [[750.0, 250.0, 0.0]])


def test_intersections_accept_a_tracertools_mesh():
    from tracertools.geometry.mesh import Mesh

    corners = 1000.0 * np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    square = Mesh(corners, [[0, 1, 2], [0, 2, 3]])
    np.testing.assert_allclose(crossing_skeleton().intersections(square), [[750.0, 250.0, 0.0]])


def test_a_bone_through_the_shared_diagonal_is_reported_once():
    sk = Skeleton([[500, 500, -10], [500, 500, 10]], [[0, 1]])
    np.testing.assert_allclose(sk.intersections(SQUARE), [[500.0, 500.0, 0.0]])


def test_no_crossing_gives_an_empty_array():
    assert hovering_skeleton().intersections(SQUARE).shape == (0, 3)


def test_crosses_is_true_for_a_crossing_skeleton():
    assert crossing_skeleton().crosses(SquareMesh(SQUARE)) is True


def test_crosses_is_false_for_a_skeleton_beside_the_mesh():
    assert hovering_skeleton().crosses(SquareMesh(SQUARE)) is False


def test_intersections_reject_malformed_triangles():
    with pytest.raises(InvalidGeometryError):
        crossing_skeleton().intersections(np.zeros((2, 4, 3)))


# ---------------------------------------------------------------------------------------------
# Value-object behaviour
# ---------------------------------------------------------------------------------------------


def test_pickle_round_trip_keeps_content_and_read_only_arrays():
    sk = Skeleton.from_cave_dict(cave_dict())
    back = pickle.loads(pickle.dumps(sk))
    assert back == sk
    assert back.meta["skeleton_version"] == 4
    assert not back.vertices.flags.writeable


def test_skeletons_differing_in_radii_are_not_equal():
    assert y_skeleton() != Skeleton(VERTICES, EDGES, RADII * 2)
    assert y_skeleton() != Skeleton(VERTICES, EDGES)


def test_repr_shows_counts_cable_length_in_micrometres_and_segment_id():
    sk = Skeleton([[0, 0, 0], [1500, 0, 0]], [[0, 1]], segment_id=ROOT_ID)
    assert repr(sk) == (
        f"Skeleton(segment_id={ROOT_ID}, n_vertices=2, n_edges=1, cable_length=1.50 µm)"
    )


def test_html_repr_summarises_the_skeleton():
    page = y_skeleton(segment_id=ROOT_ID)._repr_html_()
    assert str(ROOT_ID) in page and "0.02 µm" in page and "10.0 – 40.0" in page
