"""Neuroglancer methods of Datastack: states, links, short links, refreshed links, point meshes.

Links are built by nglui's statebuilder as JSON states (see [`tracertools.ngl.build`][tracertools.ngl.build] for how
it is configured and for the two styles) and
either written into the URL (long links) or stored on the datastack's JSON state service (short
links: one upload, and the URL built without asking the viewer anything).
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from tracertools.cave.calls import http_status, remote
from tracertools.cave.states import state_service_base, store_state
from tracertools.errors import InvalidInputError, InvalidStateError, ServiceError
from tracertools.ids import as_segment_id, as_segment_ids
from tracertools.ngl import State
from tracertools.ngl.build import (
    DEFAULT_MESH_COLOR,
    DEFAULT_MESH_NAME,
    annotation_layer,
    check_color,
    link_state,
    viewer_style,
)
from tracertools.ngl.fetch import (
    client_secrets,
    get_state_text,
    origin_of,
    own_origins,
    scrub,
    shown_origin,
    shown_url,
)
from tracertools.ngl.urls import ParsedLink, TargetSite, long_url, parse_link, state_from_text

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from tracertools.batch import ErrorPolicy
    from tracertools.config import DatastackConfig
    from tracertools.ngl import State
    from tracertools.ngl.session import LinkSession, MeshSession
    from tracertools.ngl.state_meshes import PointsMesh

logger = logging.getLogger(__name__)

StyleChoice = Literal["auto", "modern", "legacy"]
#: What reads as a state: a State, a state dict, a share URL / JSON text / state ID / file path
#: (str), JSON bytes, a state ID (int) or a file path.
StateSource = State | Mapping[str, Any] | str | bytes | int | os.PathLike[str]


def _style(choice: str, site: str | None) -> Literal["modern", "legacy"]:
    if choice == "auto":
        return viewer_style(site)
    if choice not in ("modern", "legacy"):
        raise InvalidInputError(f"style must be 'auto', 'modern' or 'legacy', got {choice!r}")
    return cast(Literal["modern", "legacy"], choice)


def _position(value: Any) -> list[float] | None:
    if value is None:
        return None
    try:
        coords = [float(v) for v in value]
    except (TypeError, ValueError):
        raise InvalidInputError(f"position must be 3 numbers (viewer voxels), got {value!r}") from None
    if len(coords) != 3 or not all(math.isfinite(c) for c in coords):
        raise InvalidInputError(f"position must be 3 finite numbers (viewer voxels), got {value!r}")
    return coords


class DatastackLinksMixin:
    """Neuroglancer methods of [`Datastack`][tracertools.datastack.Datastack]."""
    _name: str
    _config: DatastackConfig

    def _ds(self) -> LinkSession:
        return cast("LinkSession", self)

    # ---- reading states ---------------------------------------------------------------------

    def state(self, source: StateSource) -> State:
        """A neuroglancer state from a share URL, state ID, JSON text or file, or dict.

        Share URLs in every form real links take are understood (``#!{json}``,
        ``#!middleauth+https://.../nglstate/api/v1/<id>``, ``?json_url=...``, the bare
        state-service URL); a stored state is fetched with one GET (by ID from this
        datastack's state service, or by URL). Long links and files need no network.

        The CAVE token goes only to this datastack's configured services (exact scheme, host
        and port of ``server_address``, ``local_server_url`` or ``shortlink_server_url``); a
        link naming any other state server is fetched without it (see
        `tracertools.ngl.fetch`).

        Raises:
            InvalidStateError: the source carries no state, the state service knows no such
                ID, or the JSON is malformed (or nested deeper than neuroglancer states go).
            ServiceError: the state service failed, or a foreign one asked for credentials.
        """
        if isinstance(source, State):
            return source
        if isinstance(source, Mapping):
            return State(source)
        if isinstance(source, bytes):
            return State.from_json(source)
        if isinstance(source, os.PathLike):
            return State.from_file(source)
        if isinstance(source, numbers.Integral) and not isinstance(source, bool):
            return self._fetch_state(ParsedLink(None, None, None, int(source), None))
        if not isinstance(source, str):
            raise InvalidStateError(
                f"cannot read a neuroglancer state from a {type(source).__name__}"
            )
        text = source.strip()
        if text.startswith("{"):
            return State.from_json(text)
        if "://" not in text and not text.isdigit() and os.path.isfile(text):
            return State.from_file(text)
        parsed = parse_link(text)
        if parsed.state is not None:
            return State(parsed.state)
        return self._fetch_state(parsed)

    def _fetch_state(self, parsed: ParsedLink) -> State:
        """Fetch a stored state; the CAVE token goes only to this datastack's own services.

        A state URL whose exact scheme, host and port are those of a configured service
        (``server_address``, ``local_server_url``, ``shortlink_server_url``) is fetched with
        the datastack's client session; any other URL (another host, plain ``http://`` where
        the service is ``https://``, ``localhost`` for ``127.0.0.1``) is fetched with a fresh
        session that carries no token and no cookie. Redirects are followed one hop at a time
        by the same rule.
        """
        ds = self._ds()
        own = own_origins(ds)
        if parsed.state_url is not None:
            url = parsed.state_url
        else:  # a bare ID: this datastack's state service
            url = f"{state_service_base(ds)}/{parsed.state_id}"
        where = shown_url(url)
        secrets = client_secrets(ds) if origin_of(url) in own else ()
        try:
            text = remote(ds, f"fetching state {parsed.state_id} from {where}",
                          lambda: get_state_text(ds, url, own))
        except ServiceError as exc:
            scrub(exc, secrets)
            status = http_status(exc)
            if status in (400, 404):
                raise InvalidStateError(
                    f"the state service has no state {parsed.state_id} ({where})"
                ) from exc
            if status in (401, 403) and origin_of(url) not in own:
                raise ServiceError(
                    f"the state service at {where} asked for credentials (HTTP {status}); "
                    f"tracertools sends your CAVE token only to the services configured for "
                    f"datastack {ds.name!r} ({', '.join(sorted(shown_origin(o) for o in own))}), "
                    "so fetch this state with a Datastack configured for that server"
                ) from exc
            raise
        return State(state_from_text(text, f"state {parsed.state_id} ({where})"))

    # ---- building states and links ----------------------------------------------------------

    def annotation_layer(
        self,
        name: str,
        annotations: Iterable[Any],
        kind: str = "point",
        *,
        descriptions: Sequence[str | None] | None = None,
        linked_segments: Sequence[Any] | None = None,
        linked_layer: str = "Segmentation",
        color: str | None = None,
    ) -> dict[str, Any]:
        """A local annotation layer, coordinates in viewer voxels at ``config.resolution``.

        See [`tracertools.ngl.annotation_layer()`][tracertools.ngl.build.annotation_layer] (this fills in the resolution).
        """
        return annotation_layer(
            name, annotations, kind, resolution=self._config.resolution,
            descriptions=descriptions, linked_segments=linked_segments,
            linked_layer=linked_layer, color=color,
        )

    def state_for(
        self,
        segments: Iterable[Any] = (),
        *,
        annotation_layers: Sequence[Mapping[str, Any]] = (),
        segment_colors: Sequence[str] | Mapping[Any, str] | None = None,
        region_meshes: bool = False,
        mesh_source: str | None = None,
        mesh_name: str | None = None,
        mesh_color: str | None = None,
        position: Sequence[float] | None = None,
        translucent: bool = False,
        viewer_site: str | None = None,
        style: StyleChoice = "auto",
    ) -> dict[str, Any]:
        """The neuroglancer state `link()` would share, as a JSON-compatible dict.

        Args:
            segments: segment IDs to select in the ``Segmentation`` layer (duplicates once).
            annotation_layers: layers from `annotation_layer()` (or any layer dicts).
            segment_colors: ``#rrggbb`` colours: a list paired with the first segments, or a
                ``{segment_id: colour}`` mapping.
            region_meshes: add the datastack's region outline mesh (``sources.main_stack_mesh``).
            mesh_source: a mesh volume neuroglancer can read (``precomputed://gs://...``,
                ``precomputed://https://...``); shown as segment 1 of its own layer.
            mesh_name: that layer's name (default ``"Custom Mesh"``).
            mesh_color: its colour (default ``"#6db86b"``).
            position: view centre in viewer voxels; default ``config.viewer.view_point``.
            translucent: draw the segments slightly translucent (objectAlpha 0.99), so
                annotations inside them show.
            viewer_site: the viewer the state is for; default ``config.viewer.site_url``.
            style: ``"auto"`` writes a legacy Seung-lab state for FlyWire's
                ``ngl.flywire.ai`` (and ``neuromancer-seung-import``), a modern one for every
                other viewer (Spelunker, mainline neuroglancer); or force one.

        Raises:
            InvalidInputError: malformed IDs, colours, layers or position; more colours than
                segments; repeated layer names.
            MissingFeatureError: segments or region meshes asked of a datastack whose config
                lacks the segmentation or region mesh source.
        """
        cfg = self._config

        ids = list(dict.fromkeys(int(i) for i in as_segment_ids(segments)))
        if ids:
            cfg.require("sources.segmentation", "links with segments")
        if region_meshes:
            cfg.require("sources.main_stack_mesh", "region meshes")
        site = viewer_site or cfg.viewer.site_url
        layers = []
        for i, layer in enumerate(annotation_layers):
            if not isinstance(layer, Mapping) or not isinstance(layer.get("name"), str):
                raise InvalidInputError(f"annotation layer {i} is not a named layer dict")
            layers.append(dict(layer))
        if mesh_source is not None and (not isinstance(mesh_source, str) or not mesh_source):
            raise InvalidInputError(f"mesh_source must be a non-empty URL, got {mesh_source!r}")
        return link_state(
            cfg,
            style=_style(style, site),
            segments=ids,
            segment_colors=_colors(segment_colors, ids),
            annotation_layers=layers,
            region_meshes=region_meshes,
            mesh_source=mesh_source,
            mesh_name=mesh_name or DEFAULT_MESH_NAME,
            mesh_color=check_color(mesh_color or DEFAULT_MESH_COLOR, "mesh_color"),
            position=_position(position if position is not None else cfg.viewer.view_point),
            translucent=bool(translucent),
        )

    def link(
        self,
        segments: Iterable[Any] = (),
        *,
        annotation_layers: Sequence[Mapping[str, Any]] = (),
        segment_colors: Sequence[str] | Mapping[Any, str] | None = None,
        region_meshes: bool = False,
        mesh_source: str | None = None,
        mesh_name: str | None = None,
        mesh_color: str | None = None,
        position: Sequence[float] | None = None,
        translucent: bool = False,
        viewer_site: str | None = None,
        style: StyleChoice = "auto",
        short: bool = True,
    ) -> str:
        """A neuroglancer link showing segments, annotation layers and meshes.

        Arguments as `state_for()`, plus:
        Args:
            short: store the state on the datastack's JSON state service and return a short
                link (one ``upload_state_json`` request; the URL is built locally, the viewer
                is never probed). False returns a long link holding the whole state.

        Example:
            ```python
            layer = ds.annotation_layer("somas", [[100, 200, 30]], color="#ff00ff")
            ds.link([720575940000000001], annotation_layers=[layer],
                    segment_colors=["#00ffff"])
            ```
        """
        options = _state_options(locals())  # first: the arguments, nothing else yet
        site = viewer_site or self._config.require("viewer.site_url", "links")
        state = self.state_for(segments, **{**options, "viewer_site": site})
        if not short:
            return long_url(state, site)
        target: TargetSite = "seunglab" if _style(style, site) == "legacy" else "spelunker"
        return self.shorten(state, viewer_site=site, target_site=target)

    def shorten(
        self,
        state: StateSource,
        *,
        viewer_site: str | None = None,
        target_site: TargetSite | None = None,
    ) -> str:
        """Store a state on the datastack's JSON state service; return its short link.

        One ``client.state.upload_state_json`` request; the URL comes from
        ``build_neuroglancer_url`` with the target site given, so the viewer is never probed.

        Args:
            state: a [`State`][tracertools.ngl.state.State], dict or anything `state()` reads.
            viewer_site: the viewer; default ``config.viewer.site_url``.
            target_site: ``"spelunker"`` (``#!middleauth+<state URL>``) or ``"seunglab"``
                (``?json_url=<state URL>``); default by the viewer (Seung-lab for FlyWire's).

        Raises:
            MissingFeatureError: no viewer site given or configured.
            ServiceError: the upload failed.
        """
        ds = self._ds()
        site = viewer_site or self._config.require("viewer.site_url", "short links")
        if target_site is None:
            target_site = "seunglab" if viewer_style(site) == "legacy" else "spelunker"
        if target_site not in ("spelunker", "seunglab"):
            raise InvalidInputError(
                f"target_site must be 'spelunker' or 'seunglab', got {target_site!r}"
            )
        data = self.state(state).to_dict()
        state_id, url = store_state(ds, data, viewer_site=site, target_site=target_site)
        logger.debug("stored state %s as %s", state_id, url)
        return url

    # ---- refreshing stale segment IDs -------------------------------------------------------

    def refresh_state(self, state: StateSource, *, errors: ErrorPolicy = "raise") -> State:
        """A copy of a state whose stale segment IDs are replaced by their current IDs.

        Every segment selected (shown or hidden) or coloured in the state's graphene
        segmentation layers is checked in one batched current-ID computation
        ([`SegmentList.current_ids()`][tracertools.segments.segment.SegmentList.current_ids]: a fixed number of requests whatever the count); colours and
        layers are kept. Layers from precomputed sources (meshes such as region outlines)
        are left alone: their IDs are not chunkedgraph IDs. Annotations' linked segments
        are left as they were.

        Args:
            state: anything `state()` reads.
            errors: failure policy for IDs the chunkedgraph does not know; under
                ``"warn"``/``"ignore"`` they are kept unchanged.
        """
        import numpy as np

        current_state = self.state(state)
        layers = [
            layer.name for layer in current_state.segmentation_layers()
            if any(s.startswith("graphene://") for s in layer.sources)
        ]
        ids: dict[int, None] = {}
        for name in layers:
            ids.update(dict.fromkeys(int(i) for i in current_state.segments(name)))
            ids.update(dict.fromkeys(current_state.segment_colors(name)))
        if not ids:
            return current_state
        old: npt.NDArray[np.uint64] = np.array(list(ids), dtype=np.uint64)
        new = self._ds().segments(old).current_ids(errors=errors)
        mapping = {int(a): int(b) for a, b in zip(old, new, strict=True) if b != 0 and a != b}
        logger.info("refreshing %d of %d segment IDs", len(mapping), len(old))
        return current_state.with_segment_ids(mapping, layers=layers)

    def refresh_link(self, url: str, *, errors: ErrorPolicy = "raise") -> str:
        """A link like ``url`` with every stale segment ID replaced by its current ID.

        See `refresh_state()`. A short link gives a short link (one fetch, one upload, on
        the same viewer and in the same URL form); a long link gives a long link. If no ID is
        stale, ``url`` itself is returned.

        Raises:
            InvalidStateError: the URL carries no state, or its state cannot be fetched.
        """
        parsed = parse_link(url)
        if parsed.state is not None:
            before = State(parsed.state)
        else:
            before = self._fetch_state(parsed)
        after = self.refresh_state(before, errors=errors)
        if after == before:
            return url.strip()
        if not parsed.is_short:
            return long_url(after.to_dict(), cast(str, parsed.viewer))
        return self.shorten(after, viewer_site=parsed.viewer or None,
                            target_site=parsed.target_site)

    # ---- meshes from point annotations ------------------------------------------------------

    def mesh_from_points(
        self,
        source: StateSource,
        bucket_url: str,
        *,
        alphas: Sequence[float | None] | None = None,
        auto_grow: bool = True,
        save_objs: bool = False,
        obj_dir: str | os.PathLike[str] | None = None,
        mesh_source_url: str | None = None,
        overwrite: bool = False,
        short: bool = True,
        executor: Any = None,
    ) -> PointsMesh:
        """Mesh each point-annotation layer of a state, union them, host it, and link it.

        See [`tracertools.ngl.state_meshes.mesh_from_points()`][tracertools.ngl.state_meshes.mesh_from_points] for the details and errors.
        """
        from tracertools.ngl.state_meshes import (
            mesh_from_points,  # lazy: keeps `import tracertools` light
        )

        return mesh_from_points(
            cast("MeshSession", self), source, bucket_url, alphas=alphas, auto_grow=auto_grow,
            save_objs=save_objs, obj_dir=obj_dir, mesh_source_url=mesh_source_url,
            overwrite=overwrite, short=short, executor=executor,
        )


#: The keyword options `link()` passes on to `state_for()`: every keyword-only parameter of
#: `state_for()`, so a new option is written in the two signatures and nowhere else
#: (`tests/ngl/test_ngl_links.py` checks that the signatures agree).
_STATE_OPTIONS: tuple[str, ...] = tuple(
    p.name for p in inspect.signature(DatastackLinksMixin.state_for).parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
)


def _state_options(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The `state_for()` options among a method's arguments (its ``locals()``)."""
    return {name: arguments[name] for name in _STATE_OPTIONS}


def _colors(colors: Sequence[str] | Mapping[Any, str] | None, ids: list[int]) -> dict[int, str]:
    """``{segment_id: colour}`` from a list paired with ``ids`` or a mapping."""
    if colors is None:
        return {}
    if isinstance(colors, str):
        raise InvalidInputError("segment_colors must be a list or a mapping of colours, "
                                "not a single string")
    if isinstance(colors, Mapping):
        return {as_segment_id(k): check_color(v, f"colour of segment {k}")
                for k, v in colors.items()}
    items = list(colors)
    if len(items) > len(ids):
        raise InvalidInputError(
            f"{len(items)} segment colours for {len(ids)} segments; give at most one per segment"
        )
    return {sid: check_color(c, f"segment colour {i}")
            for i, (sid, c) in enumerate(zip(ids, items, strict=False))}
