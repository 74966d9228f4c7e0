"""Test helpers: LocalCave (a CAVE-compatible server with a synthetic world), LocalSheets and
LocalS3, all on loopback.

``LocalCave`` serves a deterministic [`World`][tracertools.testing.world.World] (neurons, supervoxels, a chunkedgraph
with an edit history, materialized tables, L2 data, skeletons, meshes) over HTTP on
127.0.0.1, so the real caveclient and cloud-volume work against it; or, with
``LocalCave(world=ScaleWorld())``, a lazily generated BANC-sized [`ScaleWorld`][tracertools.testing.scaleworld.ScaleWorld]. Both
implement `CaveWorld`, what the server asks of a world. See ``docs/testing.md``.

Importing this package is light: the world and the server load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "CaveWorld",
    "FaultConfig",
    "LocalCave",
    "LocalS3",
    "LocalSheets",
    "LogEntry",
    "Operation",
    "RequestStats",
    "ScaleWorld",
    "Skeleton",
    "World",
]

if TYPE_CHECKING:
    from tracertools.testing._controls import FaultConfig, LogEntry, RequestStats
    from tracertools.testing._graph import Operation
    from tracertools.testing._skeletons import Skeleton
    from tracertools.testing._worldapi import CaveWorld
    from tracertools.testing.localcave import LocalCave
    from tracertools.testing.s3 import LocalS3
    from tracertools.testing.scaleworld import ScaleWorld
    from tracertools.testing.sheets import LocalSheets
    from tracertools.testing.world import World

_HOMES = {
    "CaveWorld": "._worldapi",
    "FaultConfig": "._controls",
    "LogEntry": "._controls",
    "RequestStats": "._controls",
    "Operation": "._graph",
    "Skeleton": "._skeletons",
    "LocalCave": ".localcave",
    "LocalS3": ".s3",
    "ScaleWorld": ".scaleworld",
    "LocalSheets": ".sheets",
    "World": ".world",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        module = importlib.import_module(_HOMES[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
