"""Skeleton methods of Segment and SegmentList: skeletons and cable lengths.

The fetching (cached skeletons 500 roots a request, missing ones generated in bulk and fetched
again, a cache per skeleton version) is `tracertools.cave.skeletons.fetch_skeletons()`.

With ``executor=`` (any ``concurrent.futures.Executor``, or a dask ``distributed.Client``) the
distinct roots go to the executor in chunks; each task fetches and measures its chunk on its
worker (see [`tracertools.batch`][tracertools.batch]).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy, run_chunks
from tracertools.cave.skeletons import fetch_skeletons
from tracertools.errors import InvalidInputError, SegmentNotFoundError
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


def check_skeletons(handle: Any, *args: Any, version: Any = DEFAULT_SKELETON_VERSION,
                    **kwargs: Any) -> None:
    """What `SkeletonsListMixin.skeletons()` checks before any request."""
    _check_version(version)


def skeletons_chunk(
    ds: SegmentSession, roots: Sequence[int], *, version: int = DEFAULT_SKELETON_VERSION
) -> list[Skeleton | BaseException]:
    """The skeleton of each root, or the reason it failed (a task of ``executor=`` work)."""
    found, failed = fetch_skeletons(ds, list(roots), version, progress=False)
    return [found[r] if r in found else failed.get(r) or SegmentNotFoundError([r])
            for r in roots]


def cable_lengths_chunk(
    ds: SegmentSession, roots: Sequence[int], *, version: int = DEFAULT_SKELETON_VERSION
) -> list[float | BaseException]:
    """The cable length (nm) of each root, or the reason it failed."""
    return [s if isinstance(s, BaseException) else s.cable_length()
            for s in skeletons_chunk(ds, roots, version=version)]


def per_distinct_root(
    ds: SegmentSession,
    chunk: Any,
    roots: list[int],
    *,
    executor: Any,
    chunk_size: int | None,
    errors: ErrorPolicy,
    progress: bool | None,
    desc: str,
) -> list[Any]:
    """``chunk(ds, roots)`` for the distinct ``roots`` as tasks of ``executor``, answered per
    input root (duplicates share one answer); ``errors=`` names failed roots."""
    distinct = list(dict.fromkeys(roots))
    answers = run_chunks(functools.partial(chunk, ds), distinct, executor=executor,
                         chunk_size=chunk_size, errors=errors, progress=progress, desc=desc,
                         labels=distinct, what="segment")
    by_root = dict(zip(distinct, answers, strict=True))
    return [by_root[r] for r in roots]


class SkeletonsListMixin:
    """Skeleton methods of [`SegmentList`][tracertools.segments.segment.SegmentList]."""
    __slots__ = ()
    _datastack: SegmentSession
    _ids: npt.NDArray[np.uint64]

    def skeletons(
        self,
        *,
        version: int = DEFAULT_SKELETON_VERSION,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
        executor: Any = None,
        chunk_size: int | None = None,
    ) -> list[Skeleton | None]:
        """Each segment's skeleton (vertices and radii in nm), in input order.

        Fetched from the skeleton service's cache 500 roots per request, concurrently. Roots
        it has no skeleton for yet are queued for generation in the same requests and fetched
        again as they become ready (polls with backoff, for at most
        ``$TRACERTOOLS_SKELETON_WAIT`` seconds, default 600; then one by one, each request
        waiting for its generation). Roots the chunkedgraph does not know (one batched check)
        fail with [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError]. Cached per
        root and version.

        Args:
            version: the skeleton version to fetch (and, if missing, to generate).
            errors: failure policy; failed items are None under "warn"/"ignore".
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
            executor: fetch on this executor (a ``concurrent.futures.Executor`` or a dask
                ``distributed.Client``), one task per chunk of distinct roots; the skeletons
                come back to this process (and are not cached here).
            chunk_size: roots per task with ``executor=`` (default: about four tasks per
                worker thread).
        """
        policy = check_error_policy(errors)
        version = _check_version(version)
        roots = [int(i) for i in self._ids]
        if executor is not None:
            return per_distinct_root(
                self._datastack, functools.partial(skeletons_chunk, version=version), roots,
                executor=executor, chunk_size=chunk_size, errors=policy, progress=progress,
                desc="skeletons")
        found, failed = fetch_skeletons(self._datastack, roots, version, progress)
        failures = {i: failed[r] for i, r in enumerate(roots) if r in failed}
        apply_error_policy(failures, policy, roots, what="segment")
        return [found.get(r) for r in roots]

    def navis_skeletons(
        self,
        *,
        version: int = DEFAULT_SKELETON_VERSION,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
    ) -> Any:
        """The skeletons as a ``navis.NeuronList`` of ``TreeNeuron`` in nm, IDs as neuron IDs.

        Fetched as `skeletons()` (same requests, same cache). A NeuronList holds no gaps,
        so under ``errors="warn"``/``"ignore"`` failed segments are left out (and named in
        the warning); a repeated ID appears once per occurrence. Needs the ``navis`` extra
        (checked before any request).
        """
        from tracertools.geometry.navis_interop import require_navis

        nv = require_navis()
        fetched = self.skeletons(version=version, errors=errors, progress=progress)
        return nv.NeuronList([sk.to_navis() for sk in fetched if sk is not None])

    def cable_lengths(
        self,
        *,
        version: int = DEFAULT_SKELETON_VERSION,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
        executor: Any = None,
        chunk_size: int | None = None,
    ) -> npt.NDArray[np.float64]:
        """Each segment's cable length in nm (sum of its skeleton's edge lengths).

        NaN for failed items under ``errors="warn"``/``"ignore"``. With ``executor=`` (see
        `skeletons()`) each task measures its chunk on its worker; only the lengths
        come back.
        """
        if executor is not None:
            policy = check_error_policy(errors)
            lengths = per_distinct_root(
                self._datastack,
                functools.partial(cable_lengths_chunk, version=_check_version(version)),
                [int(i) for i in self._ids], executor=executor, chunk_size=chunk_size,
                errors=policy, progress=progress, desc="cable lengths")
            return np.asarray([np.nan if v is None else v for v in lengths], dtype=np.float64)
        skeletons = self.skeletons(version=version, errors=errors, progress=progress)
        return np.asarray(
            [s.cable_length() if s is not None else np.nan for s in skeletons], dtype=np.float64
        )


class SkeletonsSegmentMixin(OneSegment):
    """Skeleton methods of [`Segment`][tracertools.segments.segment.Segment] (one-item batches)."""
    __slots__ = ()


    def skeleton(self, *, version: int = DEFAULT_SKELETON_VERSION) -> Skeleton:
        """This segment's skeleton in nm (see `SegmentList.skeletons()`)."""
        found = self.as_list().skeletons(version=version, progress=False)[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def navis_skeleton(self, *, version: int = DEFAULT_SKELETON_VERSION) -> Any:
        """This segment's skeleton as a ``navis.TreeNeuron`` in nm (``id``: the segment ID)."""
        return self.skeleton(version=version).to_navis()

    def cable_length(self, *, version: int = DEFAULT_SKELETON_VERSION) -> float:
        """This segment's cable length in nm."""
        return float(self.as_list().cable_lengths(version=version)[0])
