"""The report: figures of a clustered workspace, its pages, and one self-contained
interactive map.

* ``report.data``: ``MapData`` and what is derived from it (colours, characters, groups), no I/O;
* ``report.figures``: matplotlib figures and thumbnails from plain data;
* ``report.pages``: the HTML of the interactive map and of the index page;
* ``report.build``: the only part that reads a workspace; ``build_report(ws, out_dir)`` writes
  every figure the workspace's tables allow, ``map.html`` and ``index.html``.

The public names of all four are importable from ``bandprint.report``.
"""

from bandprint.report.build import (
    K_NEIGHBOURS,
    MAX_THUMBNAILS,
    Thumbnails,
    build_report,
    cluster_tree_figure,
    clustering_model_id,
    fingerprint_index,
    load_map_data,
    load_workspace_fingerprinter,
    nearest_neighbours,
    plot_exemplars,
    reconstructions_figure,
    sweep_figure,
    thumbnails_for,
)
from bandprint.report.data import (
    UNCLASSIFIED_COLOUR,
    MapData,
    cluster_colour,
    describe_group,
    flat_at_fermi,
    group_hulls,
    group_letter,
    material_character,
    strip_labels,
)
from bandprint.report.figures import (
    band_thumbnail,
    band_thumbnail_with_info,
    cluster_nodes_from_labels,
    condensed_tree_array,
    data_uri,
    plot_band_grid,
    plot_condensed_tree,
    plot_flatband_summary,
    plot_map,
    plot_reconstructions,
    save_figure,
    thumbnail_image_png,
    thumbnail_png,
)
from bandprint.report.pages import (
    ReportPaths,
    map_page,
    map_payload,
    plotly_js,
    thumbnail_priority,
    write_index_html,
    write_map_html,
)

__all__ = [
    "K_NEIGHBOURS",
    "MAX_THUMBNAILS",
    "UNCLASSIFIED_COLOUR",
    "MapData",
    "ReportPaths",
    "Thumbnails",
    "band_thumbnail",
    "band_thumbnail_with_info",
    "build_report",
    "cluster_colour",
    "cluster_nodes_from_labels",
    "cluster_tree_figure",
    "clustering_model_id",
    "condensed_tree_array",
    "data_uri",
    "describe_group",
    "fingerprint_index",
    "flat_at_fermi",
    "group_hulls",
    "group_letter",
    "load_map_data",
    "load_workspace_fingerprinter",
    "map_page",
    "map_payload",
    "material_character",
    "nearest_neighbours",
    "plot_band_grid",
    "plot_condensed_tree",
    "plot_exemplars",
    "plot_flatband_summary",
    "plot_map",
    "plot_reconstructions",
    "plotly_js",
    "reconstructions_figure",
    "save_figure",
    "strip_labels",
    "sweep_figure",
    "thumbnail_image_png",
    "thumbnail_png",
    "thumbnail_priority",
    "thumbnails_for",
    "write_index_html",
    "write_map_html",
]
