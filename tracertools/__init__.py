"""tracertools: a typed, batched SDK for connectomics proofreading on CAVE datastacks.

>>> import tracertools as tt
>>> ds = tt.Datastack("brain_and_nerve_cord")      # validated config; no network yet
>>> seg = ds.segment(720575941473274509)           # a handle; no network yet

Importing tracertools is light: caveclient, cloud-volume, cloud-files, gspread, trimesh, nglui,
microviewer, vtk and scipy are imported only by the methods that need them. The original flat
API's function names are importable from here too (see [`tracertools.legacy`][tracertools.legacy]).
"""

import logging as _logging

from . import (
    batch,
    cave,
    config,
    datastack,
    errors,
    geometry,
    ids,
    legacy,
    ngl,
    segments,
    storage,
)
from .batch import ErrorPolicy
from .config import DatastackConfig, HttpPolicy, known_datastacks, load_config, presets
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
    ServiceTimeoutError,
    ServiceUnreachableError,
    SourceNotFoundError,
    TracertoolsError,
    UnknownDatastackError,
    UnknownTableError,
    UnsafePathError,
)
from .geometry.mesh import Mesh
from .geometry.skeleton import Skeleton
from .ids import Candidate
from .legacy import *  # noqa: F403  (the original API's names, for existing scripts)
from .ngl.colors import color_list
from .segments import Segment, SegmentList
from .storage.bucket import Bucket
from .storage.sheet import Sheet

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__version__ = "2.0.0.dev0"

#: The public surface, sorted: the new API's types, functions and documented modules, and the
#: original library's names (the legacy shims). A test keeps it equal to the package's public
#: attributes (every name without a leading underscore).
__all__ = [
    "AuthenticationError",
    "BatchError",
    "Bucket",
    "Candidate",
    "ConfigError",
    "ConfirmationRequiredError",
    "Datastack",
    "DatastackConfig",
    "DestinationExistsError",
    "ErrorPolicy",
    "HttpPolicy",
    "IncompleteDataWarning",
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
    "ServiceTimeoutError",
    "ServiceUnreachableError",
    "Sheet",
    "Skeleton",
    "SourceNotFoundError",
    "TracertoolsError",
    "UnknownDatastackError",
    "UnknownTableError",
    "UnsafePathError",
    "batch",
    "cave",
    "color_list",
    "config",
    "datastack",
    "datastacks",
    "errors",
    "geometry",
    "ids",
    "known_datastacks",
    "legacy",
    "load_config",
    "ngl",
    "presets",
    "segments",
    "storage",
]
__all__ += legacy.__all__  # the original API's names
__all__.sort()


def __getattr__(name: str) -> object:
    if name == "segment":  # a common first guess; the handle comes from a datastack
        raise AttributeError(
            "tracertools has no segment(): make a datastack first, "
            "tt.Datastack(name).segment(segment_id)"
        )
    raise AttributeError(f"module 'tracertools' has no attribute {name!r}")
