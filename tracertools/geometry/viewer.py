"""Seeing skeletons and volumes: a microviewer window, an offscreen PNG, and a local server.

* [`show()`][tracertools.geometry.viewer.show] opens an interactive microviewer (VTK) window, bones coloured by radius.
* [`render()`][tracertools.geometry.viewer.render] draws the same scene offscreen to a PNG with VTK, for notebooks and headless
  machines. On Linux without a display it uses VTK's EGL render window (Mesa's software
  driver works), then OSMesa if installed; see ``docs/skeletons.md``.
* `serve_precomputed()` serves a local precomputed folder (volume, meshes, skeletons) to
  neuroglancer over HTTP on 127.0.0.1, in the background or blocking. It and
  `PrecomputedServer` live in `tracertools.geometry.precomputed_server` and are re-exported
  here.

Units: skeleton vertices and radii are in nm, and so is the rendered scene; the colour bar is
labelled in nm. vtk, matplotlib (a dependency of vtk) and microviewer are imported only inside
the functions that need them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tracertools.errors import InvalidInputError, RenderingUnavailableError

# The local server lives in its own module; these names stay importable from here.
from tracertools.geometry.precomputed_server import (
    HOST as HOST,
    PrecomputedServer,
    serve_precomputed,
)
from tracertools.geometry.skeleton import Skeleton

__all__ = [
    "PrecomputedServer",
    "RenderingUnavailableError",
    "render",
    "serve_precomputed",
    "show",
]

logger = logging.getLogger(__name__)

#: Background colour of `show`-like scenes (RGB in 0..1): a very dark blue.
DEFAULT_BACKGROUND = (0.0, 0.063, 0.129)
#: Colour of bones whose skeleton has no radii (RGB in 0..1).
UNKNOWN_RADIUS_COLOR = (0.75, 0.75, 0.75)


# ============================================================================================
# Scenes: show (microviewer window) and render (offscreen PNG)
# ============================================================================================


def _as_skeletons(skeletons: Any) -> list[Skeleton]:
    """A list of Skeletons from one or many Skeletons or osteoid skeletons."""
    single = isinstance(skeletons, Skeleton) or hasattr(skeletons, "edges")
    items = [skeletons] if single or not isinstance(skeletons, Iterable) else list(skeletons)
    for i, item in enumerate(items):
        if not isinstance(item, Skeleton):
            if not (hasattr(item, "vertices") and hasattr(item, "edges")):
                raise InvalidInputError(f"expected a Skeleton, got {type(item).__name__}")
            items[i] = Skeleton.from_osteoid(item)
    return items


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show(skeletons: Any, *, meshes: Sequence[Any] = (), color_by: str = "radius") -> None:
    """Open an interactive microviewer window; blocks until the window is closed.

    Args:
        skeletons: a [`Skeleton`][tracertools.geometry.skeleton.Skeleton] (or osteoid skeleton), or many.
        meshes: objects with ``vertices`` and ``faces`` (e.g. ``Mesh``) drawn with them.
        color_by: microviewer's skeleton colouring: ``"radius"`` (default), ``"component"``,
            ``"cross_section"`` or ``"solid"``.

    Raises:
        RenderingUnavailableError: there is no display (use [`render()`][tracertools.geometry.viewer.render] instead).
    """
    if not _has_display():
        raise RenderingUnavailableError(
            "show() needs a display (DISPLAY is not set); use tracertools.geometry.viewer.render() "
            "to draw the scene to a PNG instead"
        )
    import microviewer

    objects = [sk.to_osteoid() for sk in _as_skeletons(skeletons)] + list(meshes)
    microviewer.objects(objects, skeleton_color_by=color_by)


def _offscreen_window() -> Any:
    """A VTK render window that draws offscreen on this machine.

    Honours ``VTK_DEFAULT_OPENGL_WINDOW`` when set. On Linux without a display, tries EGL and
    then OSMesa, checking that each is really usable (a VTK window whose library is missing
    crashes the process instead of failing).
    """
    import ctypes.util

    from vtkmodules import vtkRenderingOpenGL2 as gl
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    if os.environ.get("VTK_DEFAULT_OPENGL_WINDOW") or _has_display():
        window = vtkRenderWindow()
        window.SetOffScreenRendering(1)
        return window
    if ctypes.util.find_library("EGL") and hasattr(gl, "vtkEGLRenderWindow"):
        window = gl.vtkEGLRenderWindow()
        window.SetOffScreenRendering(1)
        if window.SupportsOpenGL():
            logger.debug("offscreen rendering through EGL")
            return window
    if ctypes.util.find_library("OSMesa") and hasattr(gl, "vtkOSOpenGLRenderWindow"):
        window = gl.vtkOSOpenGLRenderWindow()
        window.SetOffScreenRendering(1)
        logger.debug("offscreen rendering through OSMesa")
        return window
    raise RenderingUnavailableError(
        "No display and no offscreen OpenGL for VTK: install EGL with Mesa (Debian/Ubuntu: "
        "libegl1 libegl-mesa0 libgl1-mesa-dri) or OSMesa (libosmesa6), or run under a "
        "virtual display (xvfb-run)"
    )


def _lookup_table(colormap: str, low: float, high: float) -> Any:
    import matplotlib
    from vtkmodules.vtkCommonCore import vtkLookupTable

    try:
        colors = matplotlib.colormaps[colormap](np.linspace(0.0, 1.0, 256))
    except KeyError as exc:
        raise InvalidInputError(f"unknown colormap {colormap!r}") from exc
    lut = vtkLookupTable()
    lut.SetNumberOfTableValues(256)
    for i, rgba in enumerate(colors):
        lut.SetTableValue(i, *(float(c) for c in rgba))
    lut.SetRange(low, high)
    lut.SetNanColor(*UNKNOWN_RADIUS_COLOR, 1.0)
    lut.Build()
    return lut


def _polydata(vertices: np.ndarray, cells: np.ndarray, lines: bool) -> Any:
    """A vtkPolyData of ``vertices`` (nm) with line (2-column) or triangle (3-column) cells."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

    cells = np.ascontiguousarray(cells, dtype=np.int64)
    offsets = np.arange(0, cells.size + 1, cells.shape[1], dtype=np.int64)
    points = vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(vertices, dtype=np.float64), deep=True))
    array = vtkCellArray()
    array.SetData(
        numpy_to_vtkIdTypeArray(offsets, deep=True),
        numpy_to_vtkIdTypeArray(cells.ravel(), deep=True),
    )
    poly = vtkPolyData()
    poly.SetPoints(points)
    (poly.SetLines if lines else poly.SetPolys)(array)
    return poly


def _point_array(values: np.ndarray, name: str) -> Any:
    from vtkmodules.util.numpy_support import numpy_to_vtk

    array = numpy_to_vtk(np.ascontiguousarray(values, dtype=np.float64), deep=True)
    array.SetName(name)
    return array


def _skeleton_actor(sks: list[Skeleton], lut: Any, style: str, line_width: float) -> Any:
    """One actor for all bones, coloured through ``lut`` by the ``radius_nm`` point array."""
    from vtkmodules.vtkFiltersCore import vtkTubeFilter
    from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

    offsets = np.cumsum([0] + [sk.n_vertices for sk in sks[:-1]])
    poly = _polydata(
        np.concatenate([sk.vertices for sk in sks]),
        np.concatenate([sk.edges + off for sk, off in zip(sks, offsets, strict=True)]),
        lines=True,
    )
    radii = _scene_radii(sks)
    poly.GetPointData().AddArray(_point_array(radii, "radius_nm"))
    mapper = vtkPolyDataMapper()
    if style == "tubes":
        # Tubes of each vertex's radius, but never thinner than a few pixels.
        bounds = np.asarray(poly.GetBounds()).reshape(3, 2)
        thinnest = 0.004 * (float(np.linalg.norm(bounds[:, 1] - bounds[:, 0])) or 1.0)
        tube_r = np.where(np.isfinite(radii), np.maximum(radii, thinnest), thinnest)
        poly.GetPointData().SetScalars(_point_array(tube_r, "tube_radius"))
        tubes = vtkTubeFilter()
        tubes.SetInputData(poly)
        tubes.SetVaryRadiusToVaryRadiusByAbsoluteScalar()
        tubes.SetNumberOfSides(12)
        tubes.CappingOn()
        mapper.SetInputConnection(tubes.GetOutputPort())
    else:
        mapper.SetInputData(poly)
    mapper.SetScalarModeToUsePointFieldData()
    mapper.SelectColorArray("radius_nm")
    mapper.SetLookupTable(lut)
    mapper.UseLookupTableScalarRangeOn()
    mapper.ScalarVisibilityOn()
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetLineWidth(float(line_width))
    return actor


def _scene_radii(sks: list[Skeleton]) -> np.ndarray:
    """All skeletons' radii in nm, NaN where a skeleton has none."""
    return np.concatenate(
        [sk.radii if sk.radii is not None else np.full(sk.n_vertices, np.nan) for sk in sks]
    )


def _mesh_actor(mesh: Any) -> Any:
    from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(_polydata(np.asarray(mesh.vertices), faces, lines=False))
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetOpacity(0.2)
    return actor


def _color_bar(lut: Any, title: str) -> Any:
    """A vertical colour bar filling most of its (narrow) viewport."""
    from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor

    bar = vtkScalarBarActor()
    bar.SetLookupTable(lut)
    bar.SetTitle(title)
    bar.SetNumberOfLabels(5)
    bar.SetLabelFormat("%.4g")
    bar.SetMaximumNumberOfColors(256)
    bar.SetVerticalTitleSeparation(8)
    bar.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    bar.GetPositionCoordinate().SetValue(0.08, 0.05)
    bar.SetWidth(0.9)
    bar.SetHeight(0.85)
    bar.UnconstrainedFontSizeOn()
    for text, points in ((bar.GetTitleTextProperty(), 14), (bar.GetLabelTextProperty(), 13)):
        text.SetItalic(False)
        text.SetShadow(False)
        text.SetFontSize(points)
    return bar


def render(
    skeletons: Any,
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (800, 600),
    colormap: str = "viridis",
    style: str = "tubes",
    line_width: float = 3.0,
    radius_range: tuple[float, float] | None = None,
    background: tuple[float, float, float] = DEFAULT_BACKGROUND,
    title: str = "radius (nm)",
    azimuth: float = 0.0,
    elevation: float = 0.0,
    meshes: Sequence[Any] = (),
) -> Path:
    """Draw skeletons offscreen to a PNG: bones coloured by radius, with a colour bar.

    The camera looks down the z axis (as neuroglancer's xy view) at the whole scene, turned by
    ``azimuth`` and ``elevation`` degrees. The colour bar fills the right-hand 15 % strip.
    Bones of skeletons without radii are drawn light grey.

    Args:
        skeletons: a Skeleton (or osteoid skeleton), or many; drawn in nm.
        path: the PNG to write (parent folders are created).
        size: image width and height in pixels.
        colormap: a matplotlib colormap name for radius.
        style: ``"tubes"`` (bones as tubes of their radius, at least a few pixels thick) or
            ``"lines"`` (``line_width`` pixels wide).
        line_width: line width in pixels for ``style="lines"``.
        radius_range: colour-map limits in nm; default the radii's min and max.
        background: RGB in 0..1.
        title: colour-bar title.
        azimuth: camera turn about the view-up axis, degrees.
        elevation: camera tilt, degrees.
        meshes: objects with ``vertices`` (nm) and ``faces``, drawn translucent.

    Returns:
        The PNG's path.

    Raises:
        InvalidInputError: no bones to draw, an unknown colormap or style, or a bad size.
        RenderingUnavailableError: no display and no offscreen OpenGL.
    """
    sks = _as_skeletons(skeletons)
    if not any(sk.n_edges for sk in sks):
        raise InvalidInputError("render() needs at least one skeleton with edges")
    if style not in ("tubes", "lines"):
        raise InvalidInputError(f"style must be 'tubes' or 'lines', got {style!r}")
    width, height = (int(v) for v in size)
    if width < 64 or height < 64:
        raise InvalidInputError(f"size must be at least 64 x 64 pixels, got {size!r}")

    # Importing the OpenGL and FreeType backends registers the classes that really draw
    # (a vtkRenderer made before that draws nothing) and the colour bar's text renderer.
    import vtkmodules.vtkRenderingFreeType  # noqa: F401
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOImage import vtkPNGWriter
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkWindowToImageFilter

    known = _scene_radii(sks)
    known = known[np.isfinite(known)]
    if radius_range is not None:
        low, high = (float(v) for v in radius_range)
    else:
        low, high = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
    lut = _lookup_table(colormap, low, high if high > low else low + 1.0)

    scene = vtkRenderer()
    scene.SetViewport(0.0, 0.0, 0.85, 1.0)
    scene.AddActor(_skeleton_actor(sks, lut, style, line_width))
    for mesh in meshes:
        scene.AddActor(_mesh_actor(mesh))
    scene.ResetCamera()
    scene.GetActiveCamera().Azimuth(azimuth)
    scene.GetActiveCamera().Elevation(elevation)
    scene.GetActiveCamera().OrthogonalizeViewUp()
    scene.ResetCamera()
    legend = vtkRenderer()
    legend.SetViewport(0.85, 0.0, 1.0, 1.0)
    if known.size:
        legend.AddViewProp(_color_bar(lut, title))

    window = _offscreen_window()
    try:
        window.SetSize(width, height)
        for renderer in (scene, legend):
            renderer.SetBackground(*background)
            window.AddRenderer(renderer)
        window.Render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(window)
        grab.SetInputBufferTypeToRGB()
        grab.ReadFrontBufferOff()
        grab.Update()
        image = grab.GetOutput()
        # A context that failed to draw leaves black (not background) pixels in every corner.
        pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, 3)
        corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]].astype(float)
        if not np.any(np.all(np.abs(corners - np.round(np.multiply(background, 255))) <= 2, 1)):
            raise RenderingUnavailableError("VTK's offscreen window drew nothing")
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        writer = vtkPNGWriter()
        writer.SetFileName(str(out))
        writer.SetInputData(image)
        writer.Write()
    finally:
        window.Finalize()
    logger.info("Rendered %d skeleton(s) to %s", len(sks), out)
    return out
