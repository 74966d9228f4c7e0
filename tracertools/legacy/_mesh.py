"""Legacy shims: mesh triangles and precomputed mesh volumes (new home: tracertools.geometry.mesh).

The volumes are written as the original wrote them through cloud-volume: the info files of
``CloudVolume.create_new_info`` (voxel offset 0; a fractional resolution makes every value a
float, so the scale key is ``4.5_4.0_40.0``), the manifest ``1:0`` and the fragment ``1:0:1``
stored gzip-encoded, which on a local disk is the file ``1:0:1.gz``. The new API
(``Mesh.write_precomputed``) writes plain files instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = [
    "get_mesh_triangles",
    "make_bucket_volume_from_obj",
    "make_local_volume_from_obj",
    "make_volume_packaging",
]

logger = logging.getLogger(__name__)

_CHUNK_SIZE = (512, 512, 16)
#: make_volume_packaging's default volume size (voxels): the original's local volumes used it.
DEFAULT_VOLUME_SIZE = (250000, 250000, 25000)
_MESH_INFO = {"@type": "neuroglancer_legacy_mesh", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]}


def get_mesh_triangles(
    volume_path: str, mesh_seg_id: int = 1, local: bool = False
) -> NDArray[np.float64]:
    """Legacy shim for ``Mesh.from_precomputed(url, id).triangles_in_voxels(resolution)``.

    Rows come in the order the original gave them: cloud-volume's ``mesh.get`` merges equal
    vertices (sorted) and drops repeated faces, leaving the faces sorted by vertex index.

    Returns:
        ``(F, 3, 3)`` float64 triangle corners in voxels of the volume's first scale (nm for a
        bare mesh folder).

    Raises:
        ServiceError: the volume cannot be read or holds no mesh for ``mesh_seg_id``
            (the original printed and then failed with NameError).
    """
    from tracertools.geometry.mesh import Mesh
    from tracertools.geometry.precomputed import read_info, volume_url

    path = str(volume_path).rstrip("/")
    url = volume_url(path if not local or "://" in path else "file://" + os.path.abspath(path))
    mesh = Mesh.from_precomputed(url, mesh_seg_id)
    scales = read_info(url).get("scales") or [{}]
    resolution = scales[0].get("resolution")
    if resolution is None:  # a bare mesh folder: its coordinates are nm
        resolution = [1, 1, 1]
    vertices, inverse = np.unique(mesh.vertices, axis=0, return_inverse=True)
    faces = np.unique(inverse.reshape(-1)[mesh.faces], axis=0)
    return np.asarray(vertices[faces] / np.asarray(resolution, dtype=np.float64))


def make_volume_packaging(
    output_filepath: str,
    resolution: Sequence[float] = (1, 1, 1),
    chunk_size: Sequence[int] = (512, 512, 16),
    volume_size: Sequence[int] = DEFAULT_VOLUME_SIZE,
) -> None:
    """Legacy shim for ``tracertools.geometry.precomputed.create_volume(<out>/image, ...)``.

    Writes ``<output_filepath>/image/info`` and ``image/mesh/info`` as the original did
    (creating missing parent folders, and logging a warning when it replaces a volume).
    """
    _write_volume(_image_url(output_filepath), resolution, volume_size, chunk_size, None)


def make_local_volume_from_obj(datastack: str, obj_path: str, output_path: str) -> None:
    """Legacy shim for ``Mesh.from_obj(path).write_precomputed("file://<out>/image", ...)``.

    The volume gets the datastack's resolution and volume size (the original's generic
    ``make_volume_packaging`` size where the datastack has none); the mesh is segment 1.
    """
    _obj_to_volume(datastack, obj_path, _image_url(output_path))


def make_bucket_volume_from_obj(datastack: str, obj_path: str, bucket_path: str) -> None:
    """Legacy shim for ``Mesh.from_obj(path).write_precomputed(bucket_url, ...)``.

    Works for any datastack: one without a configured volume size gets
    ``make_volume_packaging``'s default size (the original worked for BANC only).
    """
    _obj_to_volume(datastack, obj_path, str(bucket_path).rstrip("/"))


def _image_url(output_path: str) -> str:
    """``<output_path>/image`` as a URL; a plain path is local, as in the original."""
    from tracertools.geometry.precomputed import volume_url

    return volume_url(str(output_path).rstrip("/") + "/image")


def _obj_to_volume(datastack: str, obj_path: str, url: str) -> None:
    """Write an OBJ (nm) to ``url`` with the datastack's resolution and volume size."""
    from tracertools.config import load_config
    from tracertools.geometry.mesh import Mesh

    legacy = load_config(datastack).to_legacy_dict()
    mesh = Mesh.from_obj(obj_path)
    write_legacy_volume(url, legacy["resolution"], legacy["volume_size"], mesh)


def write_legacy_volume(url: str, resolution: Sequence[float], volume_size: Sequence[int] | None,
                        mesh: Any) -> None:
    """A legacy mesh volume holding ``mesh`` (nm) as segment 1, written as the original did.

    Args:
        url: the volume's URL (its ``image`` folder for the local shims).
        resolution: nm per voxel, as the config or caller gives it (ints stay ints).
        volume_size: voxels; empty or None uses `DEFAULT_VOLUME_SIZE`.
        mesh: a [`tracertools.geometry.mesh.Mesh`][tracertools.geometry.mesh.Mesh].
    """
    size = volume_size if volume_size is not None and len(volume_size) else DEFAULT_VOLUME_SIZE
    _write_volume(url, resolution, size, _CHUNK_SIZE, mesh)


def _whole(values: Sequence[Any], name: str) -> list[int]:
    from tracertools.errors import InvalidInputError

    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or (
        np.any(arr < 1)
    ):
        raise InvalidInputError(f"{name} must be 3 positive whole numbers, got {values!r}")
    return [int(v) for v in arr]


def _write_volume(url: str, resolution: Sequence[Any], volume_size: Sequence[Any],
                  chunk_size: Sequence[Any], mesh: Any) -> None:
    """Info files (cloud-volume's layout), then optionally ``mesh`` as segment 1 (gzip)."""
    from tracertools.errors import InvalidInputError, ServiceError
    from tracertools.geometry.precomputed import masked_url
    from tracertools.storage.bucket import cloudfiles_for, convert_colons

    res = list(resolution)
    try:
        ok = len(res) == 3 and all(np.isfinite(float(r)) and float(r) > 0 for r in res)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInputError(f"resolution must be 3 positive numbers (nm), got {resolution!r}")
    size, chunk = _whole(volume_size, "volume_size"), _whole(chunk_size, "chunk_size")
    from cloudvolume import CloudVolume

    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw",
        resolution=res, voxel_offset=[0, 0, 0], mesh="mesh", chunk_size=chunk,
        volume_size=size,
    )
    local = url.startswith("file://")
    try:
        files = cloudfiles_for(url)
        if files.exists("info"):
            logger.warning("replacing the volume at %s", masked_url(url))
        files.put("info", json.dumps(info).encode(), content_type="application/json")
        files.put("mesh/info", json.dumps(_MESH_INFO).encode(), content_type="application/json")
        if mesh is None:
            return
        from cloudvolume import Mesh as CloudVolumeMesh

        names = ["1:0", "1:0:1"]
        if local and sys.platform == "win32":  # Windows forbids ":" in file names
            names = [convert_colons(n) for n in names]
        mesh_files = cloudfiles_for(url + "/mesh")
        for name in names:  # an older copy, plain or encoded, would shadow the new fragment
            for _ in range(4):
                if not mesh_files.exists(name):
                    break
                mesh_files.delete(name)
        fragment = CloudVolumeMesh(np.asarray(mesh.vertices, dtype=np.float32),
                                   np.asarray(mesh.faces, dtype=np.uint32), segid=1)
        mesh_files.put(names[0], json.dumps({"fragments": ["1:0:1"]}).encode(),
                       content_type="application/json")
        mesh_files.put(names[1], fragment.to_precomputed(),
                       content_type="application/octet-stream", compress="gzip")
    except InvalidInputError:
        raise
    except Exception as exc:
        raise ServiceError(f"could not write the volume at {masked_url(url)}: {type(exc).__name__}: "
                           f"{masked_url(exc)}") from exc
