"""Precomputed mesh volumes: write legacy single-resolution volumes, read any mesh volume.

A volume written here is what neuroglancer's ``precomputed://`` source and cloud-volume expect::

    <url>/info              image info: 1-channel uint64 segmentation, raw encoding, one scale
                            (resolution in nm per voxel, voxel_offset and size in voxels),
                            "mesh": "mesh"
    <url>/mesh/info         {"@type": "neuroglancer_legacy_mesh", "transform": identity}
    <url>/mesh/<id>:0       manifest {"fragments": ["<id>:0:1"]}
    <url>/mesh/<id>:0:1     fragment: uint32 vertex count, float32 xyz (nm), uint32 triangles

Files are written uncompressed, so any static file server (and ``http.server``) can host them.
Windows forbids ``:`` in file names, so local volumes there name the two mesh files ``<id>___0``
and ``<id>___0___1`` (`tracertools.storage.bucket.COLON_PLACEHOLDER`); manifests keep the colon
names inside, so uploading with names converted back gives a standard volume. [`read_mesh()`][tracertools.geometry.precomputed.read_mesh]
reads both layouts.

URLs: ``file://``, ``gs://``, ``s3://``, ``http(s)://``, ``mem://`` and cloudfiles aliases (such
as ``nokura://``), optionally wrapped as ``precomputed://...`` or followed by neuroglancer's
``|neuroglancer-precomputed:`` suffix; a URL without a scheme is a local path.

Reading goes through cloud-volume (legacy, multi-resolution and sharded meshes); writing through
cloudfiles, whose ``CloudFiles`` objects come from [`tracertools.storage.bucket.cloudfiles_for()`][tracertools.storage.bucket.cloudfiles_for]
(which also registers user-config aliases). Both are imported inside the functions.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools.errors import (
    ConfirmationRequiredError,
    InvalidGeometryError,
    InvalidInputError,
    ServiceError,
    http_status,
    redact,
    redact_chain,
)
from tracertools.geometry.mesh import Mesh, _as_resolution
from tracertools.storage.bucket import cloudfiles_for, convert_colons

if TYPE_CHECKING:
    from cloudfiles import CloudFiles

__all__ = ["create_volume", "masked_url", "read_info", "read_mesh", "volume_url", "write_mesh"]

_PIPE_SUFFIX = "|neuroglancer-precomputed:"
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_OTHER_FORMATS = ("graphene", "zarr", "zarr2", "zarr3", "n5", "boss", "python")
_MESH_TYPES = ("neuroglancer_legacy_mesh", "neuroglancer_multilod_draco")
_IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
_UINT64_MAX = 2**64 - 1


# --------------------------------------------------------------------------------------------
# URLs and small checks
# --------------------------------------------------------------------------------------------


def volume_url(url: str | os.PathLike[str]) -> str:
    """The plain cloudfiles URL of a volume, without a trailing ``/``.

    Strips ``precomputed://`` and the ``|neuroglancer-precomputed:`` suffix; turns a local
    path (no scheme) into an absolute ``file://`` URL.

    Raises:
        InvalidInputError: not a str/path, or a URL of another format (graphene://, zarr://...).
    """
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        raise InvalidInputError(f"a volume URL must be a non-empty str or path, got {url!r}")
    text = url.strip()
    if text.endswith(_PIPE_SUFFIX):
        text = text[: -len(_PIPE_SUFFIX)]
    if text.lower().startswith("precomputed://"):
        text = text[len("precomputed://"):]
    match = _SCHEME_RE.match(text)
    if match is None:
        return "file://" + os.path.abspath(os.path.expanduser(text))
    scheme = match.group(1).lower()
    if scheme in _OTHER_FORMATS:
        raise InvalidInputError(f"{_shown(url)} is a {scheme}:// source, not a precomputed volume")
    if "|" in text:
        raise InvalidInputError(f"{_shown(url)} may end only in the pipe suffix {_PIPE_SUFFIX!r}")
    stripped = text.rstrip("/")
    return stripped if len(stripped) > len(match.group(0)) else text


def _shown(url: object) -> str:
    """``url`` for a message: user info and query strings (where tokens travel) masked."""
    text = re.sub(r"//[^/@\s'\"]*@", "//***@", str(url))
    return re.sub(r"(://[^\s?'\"]*)\?[^\s'\"]*", r"\1?***", text)


def masked_url(url: object) -> str:
    """``url`` (or an error's text) for a message, user info and query strings masked."""
    return _shown(url)


def _scheme(url: str) -> str:
    match = _SCHEME_RE.match(url)
    return match.group(1).lower() if match else ""


def _whole_numbers(value: ArrayLike, name: str, *, positive: bool) -> list[int]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be 3 whole numbers: {exc}") from exc
    low = 1 if positive else -(2**62)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or (
        np.any(arr < low)
    ):
        kind = "positive " if positive else ""
        raise InvalidInputError(f"{name} must be 3 {kind}whole numbers, got {value!r}")
    return [int(v) for v in arr]


def _segment_id(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"segment_id must be an int, got {value!r}")
    if not 0 <= int(value) <= _UINT64_MAX:
        raise InvalidInputError(f"segment_id must fit in a uint64, got {value}")
    return int(value)


def _json_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _files(url: str) -> CloudFiles:
    try:
        return cloudfiles_for(url)  # the bucket module builds every CloudFiles
    except Exception as exc:  # cloudfiles raises its own UnsupportedProtocolError etc.
        raise InvalidInputError(f"cannot open {_shown(url)}: {_shown(str(exc))}") from exc


def _remote(action: str, url: str, exc: BaseException) -> ServiceError:
    redact_chain(exc)  # cloud-volume quotes graphene replies, which may echo a token
    error = ServiceError(
        redact(f"could not {action} {_shown(url)}: {type(exc).__name__}: {_shown(str(exc))}"),
        status=http_status(exc),
    )
    error.__cause__ = exc
    return error


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def create_volume(
    url: str | os.PathLike[str],
    *,
    resolution: ArrayLike,
    volume_size: ArrayLike,
    chunk_size: ArrayLike = (512, 512, 16),
    voxel_offset: ArrayLike = (0, 0, 0),
    overwrite: bool = False,
) -> str:
    """Write the two info files of an empty legacy-mesh segmentation volume.

    Args:
        url: where the volume goes (see the module docstring for URL forms).
        resolution: nm per voxel (x, y, z).
        volume_size: extent in voxels at ``resolution``.
        chunk_size: image chunk size in voxels.
        voxel_offset: the volume's first voxel.
        overwrite: replace an existing ``info`` at ``url``.

    Returns:
        The volume's URL (as [`volume_url()`][tracertools.geometry.precomputed.volume_url] gives it).

    Raises:
        ConfirmationRequiredError: a volume exists at ``url`` and ``overwrite`` is False.
        InvalidInputError: a malformed URL, resolution or size.
        ServiceError: the storage refused the writes.
    """
    target = volume_url(url)
    res = [_json_number(r) for r in _as_resolution(resolution)]
    size = _whole_numbers(volume_size, "volume_size", positive=True)
    chunk = _whole_numbers(chunk_size, "chunk_size", positive=True)
    offset = _whole_numbers(voxel_offset, "voxel_offset", positive=False)
    info = {
        "num_channels": 1,
        "type": "segmentation",
        "data_type": "uint64",
        "scales": [
            {
                "encoding": "raw",
                "chunk_sizes": [chunk],
                "key": "_".join(str(r) for r in res),
                "resolution": res,
                "voxel_offset": offset,
                "size": size,
            }
        ],
        "mesh": "mesh",
    }
    mesh_info = {"@type": "neuroglancer_legacy_mesh", "transform": _IDENTITY}
    files = _files(target)
    try:
        exists = files.exists("info")
    except Exception as exc:
        raise _remote("check for a volume at", target, exc) from exc
    if exists and not overwrite:
        raise ConfirmationRequiredError(
            f"a volume already exists at {_shown(target)}; pass overwrite=True to replace it"
        )
    try:
        files.put_json("info", info)
        files.put_json("mesh/info", mesh_info)
    except Exception as exc:
        raise _remote("write the volume info files at", target, exc) from exc
    return target


def write_mesh(
    mesh: Mesh,
    url: str | os.PathLike[str],
    *,
    resolution: ArrayLike,
    volume_size: ArrayLike | None = None,
    segment_id: int = 1,
    chunk_size: ArrayLike = (512, 512, 16),
    overwrite: bool = False,
    windows_names: bool | None = None,
) -> str:
    """Write ``mesh`` as a legacy single-resolution precomputed volume (layout above).

    Args:
        mesh: the mesh, in nm (stored as float32 nm, the format's precision).
        url: the volume to create.
        resolution: nm per voxel of the image scale, e.g. a datastack's ``config.resolution``.
        volume_size: extent in voxels from the origin; None uses the box of whole voxels
            around the mesh (``voxel_offset`` = its lower corner), so any datastack works.
        segment_id: the ID the mesh is stored under.
        chunk_size: image chunk size in voxels.
        overwrite: replace an existing volume at ``url``.
        windows_names: name the mesh files ``<id>___0`` / ``<id>___0___1``; None does so for
            local volumes on Windows only. Only local (file://) volumes can use it.

    Returns:
        The volume's URL.

    Raises:
        ConfirmationRequiredError: a volume exists at ``url`` and ``overwrite`` is False.
        InvalidInputError: malformed arguments, or ``windows_names`` for a remote URL.
        ServiceError: the storage refused the writes.
    """
    if not isinstance(mesh, Mesh):
        raise InvalidInputError(f"expected a Mesh, got {type(mesh).__name__}")
    target = volume_url(url)
    sid = _segment_id(segment_id)
    local = _scheme(target) == "file"
    if windows_names is None:
        windows_names = local and sys.platform == "win32"
    elif windows_names and not local:
        raise InvalidInputError("windows_names applies to local (file://) volumes only")
    res = _as_resolution(resolution)
    if volume_size is None:
        lower = np.floor(mesh.bounds[0] / res).astype(np.int64)
        upper = np.ceil(mesh.bounds[1] / res).astype(np.int64)
        offset: ArrayLike = lower
        size: ArrayLike = np.maximum(upper - lower, 1)
    else:
        offset, size = (0, 0, 0), volume_size
    create_volume(target, resolution=res, volume_size=size, chunk_size=chunk_size,
                  voxel_offset=offset, overwrite=overwrite)

    manifest, fragment = f"{sid}:0", f"{sid}:0:1"
    names = [manifest, fragment]
    stale = [convert_colons(n) for n in names]
    if windows_names:
        names, stale = stale, names
    files = _files(target + "/mesh")
    try:
        if overwrite and local:  # a copy in the other naming would shadow or outlive this one
            gone = [name for name, there in files.exists(stale).items() if there]
            if gone:
                files.delete(gone)
        files.put_json(names[0], {"fragments": [fragment]})
        files.put(names[1], _encode_fragment(mesh), content_type="application/octet-stream",
                  compress=None)
    except Exception as exc:
        raise _remote("write the mesh files at", target + "/mesh", exc) from exc
    return target


def _encode_fragment(mesh: Mesh) -> bytes:
    vertices = np.asarray(mesh.vertices, dtype="<f4")
    faces = np.asarray(mesh.faces, dtype="<u4")
    return np.uint32(len(vertices)).astype("<u4").tobytes() + vertices.tobytes() + faces.tobytes()


def _decode_fragment(data: bytes, name: str) -> tuple[NDArray[np.float32], NDArray[np.uint32]]:
    if len(data) < 4:
        raise InvalidGeometryError(f"mesh fragment {name} is truncated ({len(data)} bytes)")
    count = int(np.frombuffer(data[:4], dtype="<u4")[0])
    end = 4 + 12 * count
    if len(data) < end or (len(data) - end) % 12:
        raise InvalidGeometryError(
            f"mesh fragment {name} is corrupt: {len(data)} bytes for {count} vertices"
        )
    vertices = np.frombuffer(data[4:end], dtype="<f4").reshape(-1, 3)
    faces = np.frombuffer(data[end:], dtype="<u4").reshape(-1, 3)
    return vertices, faces


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_info(url: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``info`` JSON of a volume or mesh folder.

    Raises:
        ServiceError: no ``info`` at ``url``, or the storage could not be read.
    """
    target = volume_url(url)
    try:
        info = _files(target).get_json("info")
    except Exception as exc:
        raise _remote("read the info file of", target, exc) from exc
    if not isinstance(info, dict):
        raise ServiceError(
            f"no precomputed volume at {_shown(target)} (its info file is missing)"
        )
    return info


def read_mesh(url: str | os.PathLike[str], segment_id: int = 1) -> Mesh:
    """One segment's mesh from a precomputed volume, in nm.

    ``url`` may be a segmentation volume whose info names a mesh folder, or a mesh folder
    itself (legacy or multi-resolution). Multi-resolution meshes are read at their finest
    level of detail. Fragments are concatenated and exactly coincident vertices merged,
    keeping first-appearance order (a mesh written by [`write_mesh()`][tracertools.geometry.precomputed.write_mesh] reads back equal,
    as float32 nm).

    Raises:
        ServiceError: the volume cannot be read, has no meshes, or has none for
            ``segment_id`` (the message names the ID).
        InvalidGeometryError: the stored mesh is corrupt or empty.
    """
    target = volume_url(url)
    sid = _segment_id(segment_id)
    info = read_info(target)
    if info.get("@type") in _MESH_TYPES:  # a bare mesh folder: open its parent as a volume
        mesh_url, mesh_info = target, info
        parent, name = target.rsplit("/", 1)
        volume_info: dict[str, Any] = _stand_in_info(name)
    else:
        folder = info.get("mesh")
        if not isinstance(folder, str) or not folder.strip("/"):
            raise ServiceError(
                f"the volume at {_shown(target)} has no meshes (its info names none)"
            )
        mesh_url = f"{target}/{folder.strip('/')}"
        mesh_info, parent, volume_info = read_info(mesh_url), target, info
    legacy = mesh_info.get("@type", "neuroglancer_legacy_mesh") == "neuroglancer_legacy_mesh"
    missing = f"the volume at {_shown(target)} has no mesh for segment ID {sid}"
    if not mesh_info.get("sharding"):  # one file per segment says whether the mesh exists
        files = _files(mesh_url)
        names = [f"{sid}:0", convert_colons(f"{sid}:0")] if legacy else [f"{sid}.index"]
        try:
            found = files.exists(names)
        except Exception as exc:
            raise _remote(f"look for the mesh of segment ID {sid} in", mesh_url, exc) from exc
        if not found.get(names[0]):
            if legacy and found.get(names[1]):
                return _read_windows_layout(files, mesh_url, mesh_info, sid)
            raise ServiceError(missing)
    try:
        from cloudvolume import CloudVolume

        source = CloudVolume(parent, info=volume_info, progress=False).mesh
        got = source.get(sid, remove_duplicate_vertices=False) if legacy else source.get(sid)
    except Exception as exc:
        raise _remote(f"read the mesh of segment ID {sid} from", target, exc) from exc
    if isinstance(got, dict):
        if sid not in got:
            raise ServiceError(missing)
        got = got[sid]
    return _mesh_from_arrays(np.asarray(got.vertices), np.asarray(got.faces), target, sid)


def _stand_in_info(mesh_folder: str) -> dict[str, Any]:
    """A minimal image info naming ``mesh_folder``, to read a bare mesh folder with cloud-volume."""
    scale = {"encoding": "raw", "chunk_sizes": [[1, 1, 1]], "key": "1_1_1",
             "resolution": [1, 1, 1], "voxel_offset": [0, 0, 0], "size": [1, 1, 1]}
    return {"num_channels": 1, "type": "segmentation", "data_type": "uint64",
            "scales": [scale], "mesh": mesh_folder}


def _read_windows_layout(files: CloudFiles, mesh_url: str, mesh_info: dict[str, Any],
                         sid: int) -> Mesh:
    """A legacy mesh whose file names use ``___`` for ``:`` (decoded here, not by cloud-volume)."""
    try:
        manifest = files.get_json(convert_colons(f"{sid}:0"))
        names = [convert_colons(str(n)) for n in manifest["fragments"]]
        blobs = {os.path.basename(r["path"]): r["content"] for r in files.get(names)}
    except Exception as exc:
        raise _remote(f"read the mesh of segment ID {sid} from", mesh_url, exc) from exc
    vertices, faces, base = [], [], 0
    for name in names:
        if blobs.get(name) is None:
            raise ServiceError(
                f"mesh fragment {name} of segment ID {sid} is missing in {_shown(mesh_url)}"
            )
        v, f = _decode_fragment(blobs[name], name)
        vertices.append(v)
        faces.append(f.astype(np.int64) + base)
        base += len(v)
    verts = np.concatenate(vertices).astype(np.float64) if vertices else np.empty((0, 3))
    transform = np.asarray(mesh_info.get("transform", _IDENTITY), dtype=np.float64).reshape(3, 4)
    verts = verts @ transform[:, :3].T + transform[:, 3]
    tris = np.concatenate(faces) if faces else np.empty((0, 3), dtype=np.int64)
    return _mesh_from_arrays(verts, tris, mesh_url, sid)


def _mesh_from_arrays(vertices: NDArray[Any], faces: NDArray[Any], url: str, sid: int) -> Mesh:
    if len(faces) == 0:
        raise InvalidGeometryError(f"the mesh of segment ID {sid} at {_shown(url)} has no faces")
    verts = np.asarray(vertices, dtype=np.float64)
    _, first, inverse = np.unique(verts, axis=0, return_index=True, return_inverse=True)
    if len(first) < len(verts):
        keep = np.sort(first)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first)] = np.arange(len(first))
        faces = rank[inverse.reshape(-1)][np.asarray(faces, dtype=np.int64)]
        verts = verts[keep]
    return Mesh(verts, np.asarray(faces, dtype=np.int64))

