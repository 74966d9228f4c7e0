"""The original flat tracertools API, as legacy shims.

Every function here keeps an original function's name, arguments, defaults and return shape, so
scripts written for the original library run unchanged (import them from ``tracertools`` or
from here). Each shim delegates to the new API named in its docstring; ``docs/migration.md``
maps every original name to its new home.

The original's bugs listed in ``docs/migration.md`` are fixed here unless a return shape
depends on them: for example the shims accept plain lists where the original needed numpy
arrays, and raise instead of printing. Exact numbers that scripts rely on (such as the original
truncation in ``convert_coord_res``) are kept.

This package has one private module per group of families; this file re-exports them all. Heavy libraries
(caveclient, cloud-files, pandas, ...) are imported inside the functions that need them, never
at module level, so ``import tracertools`` stays light.
"""

from __future__ import annotations

from ._bucket import *  # noqa: F403
from ._bucket import __all__ as _bucket_all
from ._mesh import *  # noqa: F403
from ._mesh import __all__ as _mesh_all
from ._ngl import *  # noqa: F403
from ._ngl import __all__ as _ngl_all
from ._pure import *  # noqa: F403
from ._pure import __all__ as _pure_all
from ._segments import *  # noqa: F403
from ._segments import __all__ as _segments_all
from ._sheets import *  # noqa: F403
from ._sheets import __all__ as _sheets_all

__all__ = sorted([*_bucket_all, *_mesh_all, *_ngl_all, *_pure_all, *_segments_all, *_sheets_all])
