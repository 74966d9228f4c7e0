"""Buckets: precomputed volumes, meshes and files on gs://, s3://, file://, http(s):// and aliases.

The :class:`Bucket` handle over ``cloudfiles`` lands here later; it will be the only place in
tracertools that builds a ``CloudFiles`` object (imported inside its methods, never at module
import time). For now this module holds the pure path helper below.

Neuroglancer's legacy mesh format names files ``1:0`` and ``1:0:1``, and colons are not allowed
in Windows file names, so local copies use ``___`` in their place.
"""

from __future__ import annotations

from tracertools.errors import InvalidInputError

__all__ = ["COLON_PLACEHOLDER", "convert_colons"]

#: The Windows-safe stand-in for ":" in file names.
COLON_PLACEHOLDER = "___"


def convert_colons(path: str, to_windows: bool = True) -> str:
    """Swap colons in a path for a Windows-safe placeholder, or back.

    The whole string is converted, folders and protocol prefixes included
    (``"gs://b/1:0"`` becomes ``"gs___//b/1___0"``). Not invertible when the path already
    contains ``"___"``.

    Args:
        path: a file or folder path or URL.
        to_windows: True replaces every ``":"`` with ``"___"``; False replaces every ``"___"``
            with ``":"``.

    Returns:
        The converted path.

    Raises:
        InvalidInputError: if ``path`` is not a str or ``to_windows`` is not a bool.
    """
    if not isinstance(path, str):
        raise InvalidInputError(f"path must be a str, not {type(path).__name__}")
    if not isinstance(to_windows, bool):
        raise InvalidInputError(
            f"to_windows must be True or False, not {type(to_windows).__name__}"
        )
    if to_windows:
        return path.replace(":", COLON_PLACEHOLDER)
    return path.replace(COLON_PLACEHOLDER, ":")
