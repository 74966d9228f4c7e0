"""Skeleton methods of Segment and SegmentList: skeletons and cable lengths.

The fetching (bulk requests of ten roots, single fetches for the rest, a cache per skeleton
version) is :func:`tracertools.cave.skeletons.fetch_skeletons`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave.skeletons import fetch_skeletons
from tracertools.errors import InvalidInputError
from tracertools.segments.base import OneSegment

if TYPE_CHECKING:
    from tracertools.geometry.skeleton import Skeleton
    from tracertools.segments.session import SegmentSession

logger = logging.getLogger(__name__)

#: The skeleton version fetched by default (caveclient's default).
DEFAULT_SKELETON_VERSION = 4


def _check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInputError(f"skeleton version must be an int, got {version!r}")
    return version


class SkeletonsListMixin:
    """Skeleton methods of :class:`~tracertools.segments.segment.SegmentList`."""
    __slots__ = ()
    _datastack: SegmentSession
    _ids: npt.NDArray[np.uint64]

    def skeletons(
        self,
        *,
        version: int = DEFAULT_SKELETON_VERSION,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
    ) -> list[Skeleton | None]:
        """Each segment's skeleton (vertices and radii in nm), in input order.

        Fetched from the skeleton service in groups of ten roots per request, concurrently;
        roots not generated yet are generated on demand (no sleeping on an ETA). Cached per
        root and version.

        Args:
            version: the skeleton version to fetch (and, if missing, to generate).
            errors: failure policy; failed items are None under "warn"/"ignore".
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
        """
        policy = check_error_policy(errors)
        version = _check_version(version)
        roots = [int(i) for i in self._ids]
        found, failed = fetch_skeletons(self._datastack, roots, version, progress)
        failures = {i: failed[r] for i, r in enumerate(roots) if r in failed}
        apply_error_policy(failures, policy, roots, what="segment")
        return [found.get(r) for r in roots]

    def cable_lengths(
        self,
        *,
        version: int = DEFAULT_SKELETON_VERSION,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
    ) -> npt.NDArray[np.float64]:
        """Each segment's cable length in nm (sum of its skeleton's edge lengths).

        NaN for failed items under ``errors="warn"``/``"ignore"``.
        """
        skeletons = self.skeletons(version=version, errors=errors, progress=progress)
        return np.asarray(
            [s.cable_length() if s is not None else np.nan for s in skeletons], dtype=np.float64
        )


class SkeletonsSegmentMixin(OneSegment):
    """Skeleton methods of :class:`~tracertools.segments.segment.Segment` (one-item batches)."""
    __slots__ = ()


    def skeleton(self, *, version: int = DEFAULT_SKELETON_VERSION) -> Skeleton:
        """This segment's skeleton in nm (see :meth:`SegmentList.skeletons`)."""
        found = self.as_list().skeletons(version=version, progress=False)[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def cable_length(self, *, version: int = DEFAULT_SKELETON_VERSION) -> float:
        """This segment's cable length in nm."""
        return float(self.as_list().cable_lengths(version=version)[0])
