"""Which IDs of a list are segments? Classing by layer, and resolving supervoxels to segments.

Lists of "segment IDs" from sheets and notebooks also hold supervoxel and level-2 IDs, IDs of
other layers and numbers that name no node at all. The chunkedgraph's list endpoints refuse a
whole request for one such ID (``is_latest_roots``: 400 "Some ids are not root ids."), so every
list is classed first, locally, from the layer bits of each ID ([`IdLayout`][tracertools.ids.IdLayout],
read once per datastack from the segmentation info):

* roots are used as they are;
* supervoxel and level-2 IDs are resolved to the segment holding them at the read time, one
  ``roots_binary`` request for all of them (if that request is refused because some never
  existed, one ``valid_nodes`` request names those and one more request resolves the rest);
* IDs of other layers and IDs on no layer fail as items ([`InvalidSegmentIdError`][tracertools.errors.InvalidSegmentIdError]
  naming the ID, its position and what it is), before any request where the layout is known.

With ``strict=True`` supervoxel and level-2 IDs fail too, the error naming the segment they
belong to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy
from tracertools.cave import calls as _cave
from tracertools.errors import (
    BatchError,
    InvalidSegmentIdError,
    NotARootError,
    SegmentNotFoundError,
    ServiceError,
    TracertoolsError,
)
from tracertools.ids import (
    DEFAULT_LAYER_BITS,
    L2,
    MALFORMED,
    OTHER_LAYER,
    ROOT,
    SUPERVOXEL,
    IdLayout,
    layer_reason,
)

if TYPE_CHECKING:
    from datetime import datetime

    from tracertools.cave.session import CaveSession

__all__ = ["RootPlan", "cached_layout", "id_layout", "plan_roots", "resolve_nodes"]

logger = logging.getLogger(__name__)

IdArray = npt.NDArray[np.uint64]

_LAYOUT_KEY = "layout"


@dataclass
class RootPlan:
    """How the IDs of a list map to segments (aligned with the list).

    Attributes:
        roots: the segment (root) ID to use for each position; 0 where the item failed or
            was not resolved.
        kinds: the class of each ID (`ID_KINDS`).
        failures: the exception per failed position.
        identity: every ID is a root and nothing failed (``roots`` is the list itself).
    """

    roots: IdArray
    kinds: list[str]
    failures: dict[int, BaseException] = field(default_factory=dict)
    identity: bool = False


def _is_graphene(ds: CaveSession) -> bool:
    source = ds.config.sources.segmentation
    return source is None or "graphene://" in source


def cached_layout(ds: CaveSession) -> IdLayout | None:
    """The datastack's ID layout if it was read already (never makes a request)."""
    found = ds.cache("graph_layout").get(_LAYOUT_KEY)
    return found if isinstance(found, IdLayout) else None


def id_layout(ds: CaveSession) -> IdLayout | None:
    """The datastack's graphene ID layout, or None for a segmentation without a chunkedgraph.

    Read from the chunkedgraph's segmentation info (``graph.n_layers`` and
    ``graph.n_bits_for_layer_id``): one request per client, shared with caveclient's own
    cache of it; kept for the life of the datastack.
    """
    cache = ds.cache("graph_layout")
    found = cache.get(_LAYOUT_KEY)
    if isinstance(found, IdLayout):
        return found
    if not _is_graphene(ds):
        return None
    info = _cave.remote(ds, "segmentation info",
                        lambda: ds.cave.chunkedgraph.segmentation_info)
    graph = (info or {}).get("graph") if isinstance(info, dict) else None
    if not isinstance(graph, dict) or "n_layers" not in graph:
        logger.debug("segmentation of %s has no graph block: IDs are not classed", ds.name)
        return None
    layout = IdLayout(n_layers=int(graph["n_layers"]),
                      layer_bits=int(graph.get("n_bits_for_layer_id", DEFAULT_LAYER_BITS)))
    cache[_LAYOUT_KEY] = layout
    return layout


def resolve_nodes(
    ds: CaveSession, nodes: IdArray, at: datetime
) -> tuple[dict[int, int], dict[int, BaseException]]:
    """The segment holding each node (supervoxel, level-2 or any layer) at ``at``.

    One ``roots_binary`` request for all distinct nodes (chunked by bytes). If the service
    refuses it as bad input, one ``valid_nodes`` request finds the nodes that never existed
    ([`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError]) and one more request resolves the
    rest.

    Returns:
        ``(roots, failures)`` keyed by node ID.
    """
    unique = [int(v) for v in np.unique(np.asarray(nodes, dtype=np.uint64))]
    failures: dict[int, BaseException] = {}
    if not unique:
        return {}, failures
    try:
        found = _cave.roots_of(ds, np.asarray(unique, dtype=np.uint64), at)
    except ServiceError as exc:
        status = _cave.http_status(exc)
        if status is None or not 400 <= status < 500 or status in (401, 403, 429):
            raise
        known = _cave.exists(ds, np.asarray(unique, dtype=np.uint64), at)
        for node, ok in zip(unique, known.tolist(), strict=True):
            if not ok:
                failures[node] = SegmentNotFoundError(
                    [node], f"node {node} is not known to the chunkedgraph (it never existed)")
        unique = [n for n in unique if n not in failures]
        if not unique:
            return {}, failures
        found = _cave.roots_of(ds, np.asarray(unique, dtype=np.uint64), at)
    roots: dict[int, int] = {}
    for node, root in zip(unique, found.tolist(), strict=True):
        if int(root) == 0:
            failures[node] = SegmentNotFoundError(
                [node], f"node {node} belongs to no segment at the read time")
        else:
            roots[node] = int(root)
    return roots, failures


def plan_roots(
    ds: CaveSession,
    ids: IdArray,
    *,
    strict: bool = False,
    errors: ErrorPolicy = "raise",
    resolve: bool = True,
) -> RootPlan:
    """Class each ID and find the segment it stands for (see the module docstring).

    Args:
        ds: the datastack.
        ids: the IDs, in input order (validated uint64, no zeros).
        strict: supervoxel and level-2 IDs fail instead of being resolved.
        errors: under "raise", IDs that fail by their class alone raise
            [`BatchError`][tracertools.errors.BatchError] at once: before any request when the
            layout is already known (or the ID is on no layer).
        resolve: resolve supervoxel and level-2 IDs (False: leave them at 0, not failed).

    Raises:
        BatchError: under ``errors="raise"``, for IDs that fail by class (the per-item
            errors as ``failures``). Failures found by requests are returned, not raised.
    """
    ids = np.asarray(ids, dtype=np.uint64).reshape(-1)
    n = int(ids.size)
    labels = [int(v) for v in ids.tolist()]
    if n == 0:
        return RootPlan(ids, [], identity=True)
    # layer 0 (IDs below 2**56) names no node whatever the layer count: no request needed
    known = cached_layout(ds)
    bits = known.layer_bits if known is not None else DEFAULT_LAYER_BITS
    too_small = ids < (np.uint64(1) << np.uint64(64 - bits))
    if too_small.any() and errors == "raise" and _is_graphene(ds):
        n_layers = known.n_layers if known is not None else 0
        first: dict[int, BaseException] = {int(i): InvalidSegmentIdError(labels[i], int(i), layer_reason(
            labels[i], MALFORMED, 0, n_layers) if n_layers else (
            "too small to be a node ID of a chunkedgraph (its layer bits are 0): a truncated "
            "or mistyped ID?")) for i in np.flatnonzero(too_small).tolist()}
        raise BatchError(first, labels) from next(iter(first.values()))
    layout = id_layout(ds)
    if layout is None:
        return RootPlan(ids, [ROOT] * n, identity=True)
    layer_array = layout.layers(ids)
    if bool((layer_array == layout.n_layers).all()):  # the common case, vectorised
        return RootPlan(ids, [ROOT] * n, identity=True)
    kinds = layout.kinds(ids)
    layers = layer_array.tolist()
    roots = np.where(np.asarray([k == ROOT for k in kinds]), ids, np.uint64(0)).astype(np.uint64)
    failures: dict[int, BaseException] = {}
    for i, kind in enumerate(kinds):
        if kind in (MALFORMED, OTHER_LAYER):
            failures[i] = InvalidSegmentIdError(
                labels[i], i, layer_reason(labels[i], kind, layers[i], layout.n_layers))
    if failures and errors == "raise":
        raise BatchError(failures, labels) from next(iter(failures.values()))
    nodes = [i for i, k in enumerate(kinds) if k in (SUPERVOXEL, L2)]
    if nodes and (resolve or strict):
        try:
            found, lost = resolve_nodes(ds, ids[nodes], _cave.read_time(ds))
        except TracertoolsError as exc:
            if not strict:
                raise
            found, lost = {}, {}
            logger.debug("could not look up the segments of non-root IDs: %s", exc)
        for i in nodes:
            node = labels[i]
            if strict:
                failures[i] = NotARootError(
                    node, i, layer_reason(node, kinds[i], layers[i], layout.n_layers),
                    kind=kinds[i], root=found.get(node))
            elif node in lost:
                failures[i] = lost[node]
            else:
                roots[i] = found[node]
    return RootPlan(roots, kinds, failures)
