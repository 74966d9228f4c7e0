"""tracertools: a typed, batched SDK for connectomics proofreading on CAVE datastacks.

>>> import tracertools as tt
>>> ds = tt.Datastack("brain_and_nerve_cord")      # validated config; no network yet
>>> seg = ds.segment(720575941473274509)           # a handle; no network yet

Importing tracertools is light: caveclient, cloud-volume, cloud-files, gspread, trimesh, nglui,
microviewer, vtk and scipy are imported only by the methods that need them. The original flat
API's function names are importable from here too (see :mod:`tracertools.legacy`).
"""

from __future__ import annotations

import logging

from . import errors, geometry, legacy, ngl
from .config import DatastackConfig, known_datastacks, load_config, presets
from .datastack import Datastack, datastacks
from .errors import (
    AuthenticationError,
    BatchError,
    ConfigError,
    ConfirmationRequiredError,
    DestinationExistsError,
    IncompleteDataWarning,
    InvalidGeometryError,
    InvalidInputError,
    InvalidSegmentIdError,
    InvalidStateError,
    MissingFeatureError,
    NotARootError,
    PartialResultWarning,
    RateLimitedError,
    RenderingUnavailableError,
    ReplacedFilesWarning,
    SegmentNotFoundError,
    ServiceError,
    ServiceUnreachableError,
    SourceNotFoundError,
    TracertoolsError,
    UnknownDatastackError,
    UnknownTableError,
    UnsafePathError,
)
from .geometry.mesh import Mesh
from .geometry.skeleton import Skeleton
from .legacy import *  # noqa: F403  (the original API's names, for existing scripts)
from .ngl.colors import color_list
from .segments import Segment, SegmentList
from .storage.bucket import Bucket
from .storage.sheet import Sheet

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "2.0.0.dev0"

__all__ = [
    "AuthenticationError",
    "BatchError",
    "Bucket",
    "ConfigError",
    "ConfirmationRequiredError",
    "DestinationExistsError",
    "IncompleteDataWarning",
    "Datastack",
    "DatastackConfig",
    "InvalidGeometryError",
    "InvalidInputError",
    "InvalidSegmentIdError",
    "InvalidStateError",
    "Mesh",
    "MissingFeatureError",
    "NotARootError",
    "PartialResultWarning",
    "RateLimitedError",
    "RenderingUnavailableError",
    "ReplacedFilesWarning",
    "Segment",
    "SegmentList",
    "SegmentNotFoundError",
    "ServiceError",
    "ServiceUnreachableError",
    "SourceNotFoundError",
    "Sheet",
    "Skeleton",
    "TracertoolsError",
    "UnknownDatastackError",
    "UnknownTableError",
    "UnsafePathError",
    "__version__",
    "color_list",
    "datastacks",
    "errors",
    "geometry",
    "known_datastacks",
    "legacy",
    "ngl",
    "load_config",
    "presets",
]
__all__ += legacy.__all__  # the original API names


def __getattr__(name: str) -> object:
    if name == "segment":  # a common first guess; the handle comes from a datastack
        raise AttributeError(
            "tracertools has no segment(): make a datastack first, "
            "tt.Datastack(name).segment(segment_id)"
        )
    raise AttributeError(f"module 'tracertools' has no attribute {name!r}")
