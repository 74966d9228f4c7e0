"""Legacy shims: skeleton bones and local volume hosting (new homes: Skeleton, viewer)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = ["get_bones", "host_ng_volume_locally"]

#: The port the original served on: cloud-volume's precomputed ``CloudVolume.viewer()``
#: default, and the address the original guide tells users to paste
#: (``http://localhost:1337/|neuroglancer-precomputed:``).
LEGACY_PORT = 1337


def get_bones(datastack: str, skeleton: Any) -> NDArray[np.float64]:
    """Legacy shim for [`tracertools.geometry.skeleton.Skeleton.bones()`][tracertools.geometry.skeleton.Skeleton.bones] at the datastack resolution.

    Each coordinate is divided by the resolution in the vertices' own precision, as the
    original's per-number division did (float32 vertices, as osteoid skeletons often hold, are
    divided in float32), then returned as float64.

    Args:
        datastack: datastack name; its config ``resolution`` (nm per voxel) sets the units.
        skeleton: an ``osteoid.Skeleton`` in nm (as the original took) or a ``Skeleton``.

    Returns:
        ``(E, 2, 3)`` float64 bone endpoints in viewer voxels at the datastack resolution;
        shape ``(0,)`` for a skeleton without edges, as the original gave.

    Raises:
        UnknownDatastackError: no config for ``datastack`` (the original printed and crashed).
        InvalidGeometryError: malformed skeleton arrays.
    """
    from tracertools.config import load_config
    from tracertools.errors import InvalidGeometryError

    resolution = [float(r) for r in load_config(datastack).resolution]
    vertices = np.asarray(skeleton.vertices)
    edges = np.asarray(skeleton.edges)
    if edges.size == 0:
        return np.array([], dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or edges.ndim != 2 or edges.shape[1] != 2:
        raise InvalidGeometryError(
            f"a skeleton needs (V, 3) vertices and (E, 2) edges, got {vertices.shape} and "
            f"{edges.shape}"
        )
    bones = vertices[edges.astype(np.intp)]
    out = np.empty(bones.shape, dtype=np.float64)
    for axis, res in enumerate(resolution):
        # a Python float divisor keeps the vertices' precision (float32 stays float32)
        out[..., axis] = bones[..., axis] / res
    return out


def host_ng_volume_locally(
    volume_path: str | os.PathLike[str], *, port: int = LEGACY_PORT
) -> None:
    """Legacy shim for `tracertools.geometry.viewer.serve_precomputed()` (blocking).

    Serves the folder on port 1337, the original's (cloud-volume's ``viewer()`` default), and
    shows ``Neuroglancer server listening to http://localhost:1337`` on standard output as the
    original did, so the guide's ``http://localhost:1337/|neuroglancer-precomputed:`` works;
    serves until Ctrl-C or SIGTERM (from the main thread both stop it even when SIGINT was
    inherited ignored). It binds 127.0.0.1 only. Unlike the original, a missing folder raises
    before anything is bound, instead of printing and then failing with NameError.

    Args:
        volume_path: the local precomputed folder (a trailing ``/`` is fine).
        port: TCP port (new; the original always used 1337).

    Raises:
        InvalidInputError: the folder does not exist.
        OSError: the port is taken (e.g. another volume is being served on 1337).
    """
    import time

    from tracertools.geometry.serving import stop_signals_interrupt
    from tracertools.geometry.viewer import serve_precomputed
    from tracertools.legacy._shown import shown

    server = serve_precomputed(volume_path, port=port, background=True)
    # Ctrl-C (even when inherited ignored, as by background jobs) and SIGTERM stop it
    with stop_signals_interrupt():
        try:
            shown().info("Neuroglancer server listening to http://localhost:%d", server.port)
            while server.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
