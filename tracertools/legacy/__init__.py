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

from ._pure import (
    bucket_convert_colons as bucket_convert_colons,
    calc_3d_distance as calc_3d_distance,
    calc_avg_point_coords as calc_avg_point_coords,
    calc_bbox_corners_from_center as calc_bbox_corners_from_center,
    calc_line_triangle_intersect as calc_line_triangle_intersect,
    calc_skeleton_mesh_intersect as calc_skeleton_mesh_intersect,
    convert_coord_res as convert_coord_res,
    get_config as get_config,
    get_supported_configs as get_supported_configs,
    make_color_list as make_color_list,
)
from ._segments import (
    check_seg_freshness as check_seg_freshness,
    check_seg_proofread_status as check_seg_proofread_status,
    count_synapses as count_synapses,
    get_cave_stack_info as get_cave_stack_info,
    get_cave_stack_tables as get_cave_stack_tables,
    get_cave_stacks as get_cave_stacks,
    get_cave_table as get_cave_table,
    get_cave_table_info as get_cave_table_info,
    get_current_seg_ids as get_current_seg_ids,
    get_roots_from_points as get_roots_from_points,
    get_seg_3d_volume as get_seg_3d_volume,
    get_seg_from_sv as get_seg_from_sv,
    get_svs_from_seg as get_svs_from_seg,
)

# Keep in step with the private modules' __all__ (a test checks).
__all__ = [
    "bucket_convert_colons",
    "calc_3d_distance",
    "calc_avg_point_coords",
    "calc_bbox_corners_from_center",
    "calc_line_triangle_intersect",
    "calc_skeleton_mesh_intersect",
    "check_seg_freshness",
    "check_seg_proofread_status",
    "convert_coord_res",
    "count_synapses",
    "get_cave_stack_info",
    "get_cave_stack_tables",
    "get_cave_stacks",
    "get_cave_table",
    "get_cave_table_info",
    "get_config",
    "get_current_seg_ids",
    "get_roots_from_points",
    "get_seg_3d_volume",
    "get_seg_from_sv",
    "get_supported_configs",
    "get_svs_from_seg",
    "make_color_list",
]
