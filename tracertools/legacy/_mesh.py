"""Legacy shims: mesh triangles and precomputed mesh volumes (new home: tracertools.geometry.mesh)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = [
    "get_mesh_triangles",
    "make_bucket_volume_from_obj",
    "make_local_volume_from_obj",
    "make_volume_packaging",
]

_CHUNK_SIZE = (512, 512, 16)


def get_mesh_triangles(
    volume_path: str, mesh_seg_id: int = 1, local: bool = False
) -> NDArray[np.float64]:
    """Legacy shim for ``Mesh.from_precomputed(url, id).triangles_in_voxels(resolution)``."""
    from tracertools.geometry.mesh import Mesh
    from tracertools.geometry.precomputed import read_info, volume_url

    path = str(volume_path).rstrip("/")
    url = volume_url(path if not local or "://" in path else "file://" + os.path.abspath(path))
    mesh = Mesh.from_precomputed(url, mesh_seg_id)
    scales = read_info(url).get("scales") or [{}]
    resolution = scales[0].get("resolution")
    if resolution is None:  # a bare mesh folder: its coordinates are nm
        resolution = [1, 1, 1]
    return mesh.triangles_in_voxels(resolution)


def make_volume_packaging(
    output_filepath: str,
    resolution: Sequence[float] = (1, 1, 1),
    chunk_size: Sequence[int] = (512, 512, 16),
    volume_size: Sequence[int] = (250000, 250000, 25000),
) -> None:
    """Legacy shim for ``tracertools.geometry.precomputed.create_volume(<out>/image, ...)``."""
    from tracertools.geometry.precomputed import create_volume

    create_volume(
        _image_url(output_filepath),
        resolution=resolution,
        volume_size=volume_size,
        chunk_size=chunk_size,
        overwrite=True,
    )


def make_local_volume_from_obj(datastack: str, obj_path: str, output_path: str) -> None:
    """Legacy shim for ``Mesh.from_obj(path).write_precomputed("file://<out>/image", ...)``."""
    _obj_to_volume(datastack, obj_path, _image_url(output_path))


def make_bucket_volume_from_obj(datastack: str, obj_path: str, bucket_path: str) -> None:
    """Legacy shim for ``Mesh.from_obj(path).write_precomputed(bucket_url, ...)``."""
    _obj_to_volume(datastack, obj_path, str(bucket_path).rstrip("/"))


def _image_url(output_path: str) -> str:
    """``<output_path>/image`` as a URL; a plain path is local, as in the original."""
    from tracertools.geometry.precomputed import volume_url

    return volume_url(str(output_path).rstrip("/") + "/image")


def _obj_to_volume(datastack: str, obj_path: str, url: str) -> None:
    """Write an OBJ (nm) to ``url`` with the datastack's resolution and volume size."""
    from tracertools.config import load_config
    from tracertools.geometry.mesh import Mesh

    config = load_config(datastack)
    Mesh.from_obj(obj_path).write_precomputed(
        url,
        resolution=config.resolution,
        volume_size=config.volume_size,
        chunk_size=_CHUNK_SIZE,
        overwrite=True,
    )
