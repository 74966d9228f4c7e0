"""The Mesh value object: validation, geometry, OBJ text, hulls and unions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import trimesh

from tracertools.errors import InvalidGeometryError, InvalidInputError
from tracertools.geometry.mesh import Mesh, point_cloud_obj

# A unit-free tetrahedron with outward-facing triangles.
TET_VERTICES = np.array([[0, 0, 0], [10, 0, 0], [0, 20, 0], [0, 0, 30]], dtype=float)
TET_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def _box(size=(2.0, 2.0, 2.0), centre=(0.0, 0.0, 0.0)) -> Mesh:
    box = trimesh.creation.box(extents=size)
    box.apply_translation(centre)
    return Mesh.from_trimesh(box)


def _sphere(radius: float, centre=(0.0, 0.0, 0.0), subdivisions: int = 3) -> Mesh:
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    sphere.apply_translation(centre)
    return Mesh.from_trimesh(sphere)


# ---------------------------------------------------------------------------------------------
# Construction and value semantics
# ---------------------------------------------------------------------------------------------


def test_mesh_stores_float64_vertices_and_int64_faces():
    mesh = Mesh(TET_VERTICES.tolist(), TET_FACES.tolist())
    assert mesh.vertices.dtype == np.float64 and mesh.vertices.shape == (4, 3)
    assert mesh.faces.dtype == np.int64 and mesh.faces.shape == (4, 3)


def test_mesh_arrays_are_read_only_copies():
    vertices = TET_VERTICES.copy()
    mesh = Mesh(vertices, TET_FACES)
    vertices[0] = 99
    assert mesh.vertices[0].tolist() == [0, 0, 0]
    with pytest.raises(ValueError):
        mesh.vertices[0, 0] = 1.0


def test_meshes_with_equal_arrays_are_equal():
    assert Mesh(TET_VERTICES, TET_FACES) == Mesh(TET_VERTICES.tolist(), TET_FACES.tolist())
    assert Mesh(TET_VERTICES, TET_FACES) != Mesh(TET_VERTICES * 2, TET_FACES)


def test_mesh_pickles_to_an_equal_mesh():
    mesh = _sphere(5.0)
    assert pickle.loads(pickle.dumps(mesh)) == mesh


def test_repr_names_counts_and_bounds():
    assert repr(Mesh(TET_VERTICES, TET_FACES)) == (
        "Mesh(4 vertices, 4 faces, bounds_nm=[[0.0, 0.0, 0.0], [10.0, 20.0, 30.0]])"
    )


@pytest.mark.parametrize(
    ("vertices", "faces", "message"),
    [
        (TET_VERTICES, np.empty((0, 3), dtype=int), "at least one face"),
        (TET_VERTICES[:, :2], TET_FACES, r"shape \(N, 3\)"),
        (TET_VERTICES, TET_FACES[:, :2], r"shape \(F, 3\)"),
        (TET_VERTICES, TET_FACES + 1, "face index 4 does not name a vertex"),
        (TET_VERTICES, TET_FACES - 1, "face index -1"),
        (TET_VERTICES, TET_FACES + 0.5, "integer indices"),
        (np.where(TET_VERTICES == 10, np.nan, TET_VERTICES), TET_FACES, "NaN"),
    ],
)
def test_invalid_arrays_are_refused(vertices, faces, message):
    with pytest.raises(InvalidGeometryError, match=message):
        Mesh(vertices, faces)


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def test_triangles_are_face_corners_in_nm():
    mesh = Mesh(TET_VERTICES, TET_FACES)
    assert mesh.triangles.shape == (4, 3, 3)
    assert mesh.triangles[3].tolist() == [[10, 0, 0], [0, 20, 0], [0, 0, 30]]


def test_triangles_in_voxels_divide_by_the_resolution():
    mesh = Mesh(TET_VERTICES, TET_FACES)
    voxels = mesh.triangles_in_voxels([2, 4, 10])
    assert voxels[3].tolist() == [[5, 0, 0], [0, 5, 0], [0, 0, 3]]


@pytest.mark.parametrize("resolution", [[4, 4], [4, 0, 45], "4,4,45"])
def test_triangles_in_voxels_refuses_a_bad_resolution(resolution):
    with pytest.raises(InvalidInputError, match="resolution"):
        Mesh(TET_VERTICES, TET_FACES).triangles_in_voxels(resolution)


def test_bounds_are_min_and_max_corners():
    assert _box(centre=(10, 20, 30)).bounds.tolist() == [[9, 19, 29], [11, 21, 31]]


def test_closed_box_is_watertight_and_has_its_volume():
    box = _box(size=(2, 3, 4))
    assert box.is_watertight
    assert box.volume_nm3 == pytest.approx(24.0)


def test_volume_is_exact_far_from_the_origin():
    assert _box(size=(2, 3, 4), centre=(1e6, 2e6, 3e5)).volume_nm3 == pytest.approx(24.0)


def test_box_missing_a_face_is_not_watertight_and_has_no_volume():
    box = _box()
    open_box = Mesh(box.vertices, box.faces[1:])
    assert not open_box.is_watertight
    with pytest.raises(InvalidGeometryError, match="not watertight"):
        _ = open_box.volume_nm3


def test_body_count_counts_pieces_joined_by_edges():
    a, b = _box(), _box(centre=(10, 0, 0))
    both = Mesh(np.vstack([a.vertices, b.vertices]), np.vstack([a.faces, b.faces + 8]))
    assert a.body_count == 1
    assert both.body_count == 2


def test_to_trimesh_keeps_vertices_and_faces():
    sphere = _sphere(3.0)
    tm = sphere.to_trimesh()
    assert np.array_equal(tm.vertices, sphere.vertices)
    assert np.array_equal(tm.faces, sphere.faces)
    assert tm.is_volume


# ---------------------------------------------------------------------------------------------
# OBJ
# ---------------------------------------------------------------------------------------------


def test_obj_text_round_trips_exactly():
    mesh = _sphere(1234.567, centre=(1e6 / 3, 2e5, -7.25))
    assert Mesh.from_obj(mesh.to_obj().encode()) == mesh


def test_obj_file_round_trips_through_a_path(tmp_path):
    mesh = _sphere(10.0)
    written = mesh.to_obj(tmp_path / "sub" / "sphere.obj")
    assert written == tmp_path / "sub" / "sphere.obj"
    assert Mesh.from_obj(written) == mesh
    assert Mesh.from_obj(str(written)) == mesh


def test_obj_quads_are_fanned_and_slash_and_negative_indices_understood():
    text = b"""# a unit square as one quad, then a triangle by relative indices
o square
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vn 0 0 1
vt 0 0
f 1/1/1 2/1/1 3/1/1 4/1/1
f -4//1 -2//1 -1//1
"""
    mesh = Mesh.from_obj(text)
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 2, 3]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"v 0 0\nf 1 1 1\n", "line 1: a vertex needs 3 coordinates"),
        (b"v 0 0 x\n", "line 1: non-numeric vertex"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", "line 4: a face needs at least 3 corners"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "line 4: a face refers to vertex 4"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n", "line 4: face corner '-4'"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 a\n", "line 4: face corner 'a'"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nbanana 1\nf 1 2 3\n", "line 4: unknown OBJ statement"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", "not a text OBJ file"),
        (b"", "holds nothing"),
    ],
)
def test_malformed_obj_names_the_problem(text, message):
    with pytest.raises(InvalidGeometryError, match=message):
        Mesh.from_obj(text)


def test_obj_with_two_objects_is_refused_unless_merged():
    a, b = _box(), _box(centre=(5, 0, 0))
    # The second object's face indices continue after the first object's 8 vertices.
    lines_b = [
        line if not line.startswith("f ")
        else "f " + " ".join(str(int(i) + 8) for i in line.split()[1:])
        for line in b.to_obj().splitlines()
    ]
    text = "o first\n" + a.to_obj() + "o second\n" + "\n".join(lines_b) + "\n"
    with pytest.raises(InvalidGeometryError, match=r"2 objects with faces \('first', 'second'\)"):
        Mesh.from_obj(text.encode())
    merged = Mesh.from_obj(text.encode(), merge_objects=True)
    assert len(merged.faces) == 24 and merged.body_count == 2


def test_point_cloud_obj_has_only_vertices_and_is_not_a_mesh(tmp_path):
    points = np.array([[1.5, 2.0, 3.0], [4.0, 5.0, 6.25]])
    text = point_cloud_obj(points)
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "v 1.5 2.0 3.0",
        "v 4.0 5.0 6.25",
    ]
    path = point_cloud_obj(points, tmp_path / "cloud.obj")
    assert path.read_text() == text
    with pytest.raises(InvalidGeometryError, match="2 vertices and no faces"):
        Mesh.from_obj(path)


# ---------------------------------------------------------------------------------------------
# Hulls and unions
# ---------------------------------------------------------------------------------------------


def test_convex_hull_of_cube_points_is_the_cube():
    grid = np.stack(np.meshgrid(*[np.linspace(0, 100, 5)] * 3), axis=-1).reshape(-1, 3)
    hull = Mesh.convex_hull(grid)
    assert hull.bounds.tolist() == [[0, 0, 0], [100, 100, 100]]
    assert hull.volume_nm3 == pytest.approx(1e6)
    assert hull.to_trimesh().is_volume  # outward-facing, consistently wound


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "got none"),
        ([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "at least 4 points; got 3"),
        ([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 3, 0]], "coplanar"),
    ],
)
def test_convex_hull_of_degenerate_points_is_refused(points, message):
    with pytest.raises(InvalidGeometryError, match=message):
        Mesh.convex_hull(points)


def test_union_of_overlapping_spheres_is_one_watertight_body():
    a = _sphere(100.0, centre=(1e6, 1e6, 1e5))
    b = _sphere(100.0, centre=(1e6 + 120, 1e6, 1e5))
    union = Mesh.union([a, b])
    assert union.is_watertight and union.body_count == 1
    assert max(a.volume_nm3, b.volume_nm3) < union.volume_nm3 < a.volume_nm3 + b.volume_nm3


def test_union_of_one_mesh_is_that_mesh():
    box = _box()
    assert Mesh.union([box]) == box


def test_union_refuses_an_open_mesh_by_position():
    box = _box()
    with pytest.raises(InvalidGeometryError, match="mesh 1 of the union"):
        Mesh.union([box, Mesh(box.vertices, box.faces[1:])])


def test_union_of_nothing_is_refused():
    with pytest.raises(InvalidGeometryError, match="at least one mesh"):
        Mesh.union([])
