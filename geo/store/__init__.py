"""Storage: the event schema, the DuckDB event store, workspaces, the audit log and table exports.

Imports only :mod:`geo.grid` and the foundation modules.  The audit log lives here, not in
:mod:`geo.access`, because it is a table of the store written inside the store's own
transactions (an ingest and its audit row commit together); access control builds on it.
The Dask path for city scale is :mod:`geo.scale`, above the analyses it reuses.

Public API (import from the module):

- :mod:`geo.store.schema` -- ``EVENT_COLUMNS``, ``conform_events``, ``validate_events``,
  ``empty_events``, ``tier_cell_column``.
- :mod:`geo.store.database` -- ``connect`` (one shared handle per store file and process, a cursor per
  use, bounded wait when another process holds it), ``append_events``, ``read_events``, ``store_counts``,
  ``events_version``, ``existing_hashes``, ``record_ingest``, ``query_arrow``, ``arrow_types_mapper``, ``ProgressMessage``.
- :mod:`geo.store.workspace` -- ``Workspace``, ``init_workspace``, ``load_workspace``,
  ``update_settings``, ``resolve_workspace_dir``, ``area_contains``, ``metric_study_area``,
  ``metric_crs_for``, ``infer_timezone``, ``place_defaults``, ``PlaceDefaults``,
  ``MAINLAND_CHINA_ZONES``, ``REPO_ROOT``, ``SAMPLE_WORKSPACE``.
- :mod:`geo.store.categories` -- ``category_code``, ``read_categories``, ``register_categories``,
  ``category_table``, ``merge_categories``, ``rename_category``, ``FILE_NAME``.
- :mod:`geo.store.audit` -- ``record``, ``record_in``, ``write``, ``write_anchor``, ``record_export``,
  ``read_audit``, ``verify_audit``, ``AuditCheck``, ``verify_chain``, ``audit_key``, ``key_path``,
  ``anchor_path``, ``cli_actor``.
- :mod:`geo.store.export` -- ``write_table`` (GeoParquet/GeoJSON/CSV/XLSX by suffix), ``local_times``,
  ``escape_formulas``, ``FORMULA_PREFIXES``, ``remove_control_chars``.
- :mod:`geo.store.files` -- ``private_umask``, ``make_private``, ``private_dir``, ``prune_files``,
  ``PRIVATE_FILE_MODE``, ``PRIVATE_DIR_MODE``.
"""
