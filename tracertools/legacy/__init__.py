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

from tracertools.legacy._bucket import (
    bucket_copy_folder as bucket_copy_folder,
    bucket_delete_file as bucket_delete_file,
    bucket_delete_folder as bucket_delete_folder,
    bucket_download_file as bucket_download_file,
    bucket_download_folder as bucket_download_folder,
    bucket_move_file as bucket_move_file,
    bucket_rename_file as bucket_rename_file,
    bucket_upload_file as bucket_upload_file,
    bucket_upload_folder as bucket_upload_folder,
)
from tracertools.legacy._history import (
    count_user_sv_contribution as count_user_sv_contribution,
    get_original_seg_ids as get_original_seg_ids,
    get_seg_changelog as get_seg_changelog,
    get_seg_edits as get_seg_edits,
)
from tracertools.legacy._mesh import (
    get_mesh_triangles as get_mesh_triangles,
    make_bucket_volume_from_obj as make_bucket_volume_from_obj,
    make_local_volume_from_obj as make_local_volume_from_obj,
    make_volume_packaging as make_volume_packaging,
)
from tracertools.legacy._ngl import (
    get_anno_array_from_json_state_file as get_anno_array_from_json_state_file,
    get_anno_array_from_state_file as get_anno_array_from_state_file,
    get_json_state_from_url as get_json_state_from_url,
    make_anno_layer as make_anno_layer,
    make_edits_link as make_edits_link,
    make_mesh_from_points as make_mesh_from_points,
    make_ng_link as make_ng_link,
    make_objs_from_state_file as make_objs_from_state_file,
    make_point_cloud_from_state_file as make_point_cloud_from_state_file,
    make_volume_mesh_from_state_file as make_volume_mesh_from_state_file,
)
from tracertools.legacy._pure import (
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
from tracertools.legacy._segments import (
    check_seg_freshness as check_seg_freshness,
    check_seg_proofread_status as check_seg_proofread_status,
    count_synapses as count_synapses,
    get_cable_lengths as get_cable_lengths,
    get_cave_stack_info as get_cave_stack_info,
    get_cave_stack_tables as get_cave_stack_tables,
    get_cave_stacks as get_cave_stacks,
    get_cave_table as get_cave_table,
    get_cave_table_info as get_cave_table_info,
    get_current_seg_ids as get_current_seg_ids,
    get_roots_from_points as get_roots_from_points,
    get_seg_3d_volume as get_seg_3d_volume,
    get_seg_details as get_seg_details,
    get_seg_from_sv as get_seg_from_sv,
    get_seg_skeletons as get_seg_skeletons,
    get_svs_from_seg as get_svs_from_seg,
)
from tracertools.legacy._sheets import (
    gsheet_add_column as gsheet_add_column,
    gsheet_add_row as gsheet_add_row,
    gsheet_get_col_as_list as gsheet_get_col_as_list,
    gsheet_get_tab_as_df as gsheet_get_tab_as_df,
)
from tracertools.legacy._skeleton import (
    get_bones as get_bones,
    host_ng_volume_locally as host_ng_volume_locally,
)
from tracertools.legacy._views import (
    calc_seg_mesh_intersect as calc_seg_mesh_intersect,
    gsheet_add_seg_details as gsheet_add_seg_details,
    triage_segs as triage_segs,
    visualize_skeletons as visualize_skeletons,
)

# Keep in step with the private modules' __all__ (a test checks).
__all__ = [
    "bucket_convert_colons",
    "bucket_copy_folder",
    "bucket_delete_file",
    "bucket_delete_folder",
    "bucket_download_file",
    "bucket_download_folder",
    "bucket_move_file",
    "bucket_rename_file",
    "bucket_upload_file",
    "bucket_upload_folder",
    "calc_3d_distance",
    "calc_avg_point_coords",
    "calc_bbox_corners_from_center",
    "calc_line_triangle_intersect",
    "calc_seg_mesh_intersect",
    "calc_skeleton_mesh_intersect",
    "check_seg_freshness",
    "check_seg_proofread_status",
    "convert_coord_res",
    "count_synapses",
    "count_user_sv_contribution",
    "get_anno_array_from_json_state_file",
    "get_anno_array_from_state_file",
    "get_bones",
    "get_cable_lengths",
    "get_cave_stack_info",
    "get_cave_stack_tables",
    "get_cave_stacks",
    "get_cave_table",
    "get_cave_table_info",
    "get_config",
    "get_current_seg_ids",
    "get_json_state_from_url",
    "get_mesh_triangles",
    "get_original_seg_ids",
    "get_roots_from_points",
    "get_seg_3d_volume",
    "get_seg_changelog",
    "get_seg_details",
    "get_seg_edits",
    "get_seg_from_sv",
    "get_seg_skeletons",
    "get_supported_configs",
    "get_svs_from_seg",
    "gsheet_add_column",
    "gsheet_add_row",
    "gsheet_add_seg_details",
    "gsheet_get_col_as_list",
    "gsheet_get_tab_as_df",
    "host_ng_volume_locally",
    "make_anno_layer",
    "make_bucket_volume_from_obj",
    "make_color_list",
    "make_edits_link",
    "make_local_volume_from_obj",
    "make_mesh_from_points",
    "make_ng_link",
    "make_objs_from_state_file",
    "make_point_cloud_from_state_file",
    "make_volume_mesh_from_state_file",
    "make_volume_packaging",
    "triage_segs",
    "visualize_skeletons",
]
