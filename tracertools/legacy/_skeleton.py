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
    """Legacy shim for :meth:`tracertools.geometry.skeleton.Skeleton.bones` at the datastack resolution.

    Args:
        datastack: datastack name; its config ``resolution`` (nm per voxel) sets the units.
        skeleton: an ``osteoid.Skeleton`` (as the original took) or a ``Skeleton``.

    Returns:
        ``(E, 2, 3)`` float bone endpoints in viewer voxels at the datastack resolution.

    Raises:
        UnknownDatastackError: no config for ``datastack`` (the original printed and crashed).
        InvalidGeometryError: malformed skeleton arrays.
    """
    from tracertools.config import load_config
    from tracertools.geometry.skeleton import Skeleton

    resolution = load_config(datastack).resolution
    sk = skeleton if isinstance(skeleton, Skeleton) else Skeleton.from_osteoid(skeleton)
    return sk.bones(resolution)


def host_ng_volume_locally(
    volume_path: str | os.PathLike[str], *, port: int = LEGACY_PORT
) -> None:
    """Legacy shim for :func:`tracertools.geometry.viewer.serve_precomputed` (blocking).

    Serves the folder on port 1337, the original's (cloud-volume's ``viewer()`` default), and
    shows ``Neuroglancer server listening to http://localhost:1337`` on standard output as the
    original did, so the guide's ``http://localhost:1337/|neuroglancer-precomputed:`` works;
    serves until Ctrl-C. It binds 127.0.0.1 only. Unlike the original, a missing folder raises
    before anything is bound, instead of printing and then failing with NameError.

    Args:
        volume_path: the local precomputed folder (a trailing ``/`` is fine).
        port: TCP port (new; the original always used 1337).

    Raises:
        InvalidInputError: the folder does not exist.
        OSError: the port is taken (e.g. another volume is being served on 1337).
    """
    import time

    from tracertools.geometry.viewer import serve_precomputed
    from tracertools.legacy._shown import shown

    server = serve_precomputed(volume_path, port=port, background=True)
    try:
        shown().info("Neuroglancer server listening to http://localhost:%d", server.port)
        while server.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
