"""Ingestion: raw exports in, events in the store out, every physical record accounted for.

Reads files (:mod:`~geo.ingest.filecheck`, :mod:`~geo.ingest.readers` and the per-format reader
modules beside it, :mod:`~geo.ingest.layout`), maps their columns by name and content
(:mod:`~geo.ingest.columns`, :mod:`~geo.ingest.mapping`), parses times (:mod:`~geo.ingest.timeparse`), normalises text
(:mod:`~geo.ingest.textnorm`), places address-only rows (:mod:`~geo.ingest.geocode`), scrubs
personal data (:mod:`geo.privacy`), quarantines what cannot be used
(:mod:`~geo.ingest.quarantine`) and writes one transaction per file
(:mod:`~geo.ingest.pipeline`).  Imports :mod:`geo.grid` and :mod:`geo.store`, never an analysis.

Public API (import from the module):

- :mod:`geo.ingest.pipeline` -- ``ingest_file`` (``dry_run=True``: counts without writing),
  ``IngestReport``, ``prepare_events`` (the per-file unit the Dask path reuses),
  ``near_duplicate_mask``, ``preview_events``, ``Progress``, ``Stopwatch``,
  ``recover_pending_quarantine``, ``PENDING_QUARANTINE``.
- :mod:`geo.ingest.readers` -- ``read_raw`` (the entry point: dispatch by file type), re-exporting
  ``RawTable``, ``detect_encoding``, ``sniff_delimiter``, ``ROW_COLUMN``, ``GEOM_LON``, ``GEOM_LAT``.
  The readers are split by idea, one module each:
  :mod:`geo.ingest.rawtable` (``RawTable``, ``bad_rows_frame``, ``frame_from_arrow``, ``dedupe_names``),
  :mod:`geo.ingest.textencoding` (``detect_encoding``, ``detect_bytes``, ``normalize_encoding``, ``to_utf8``),
  :mod:`geo.ingest.csvscan` (``sniff_delimiter``, ``sniff_best``, line breaks),
  :mod:`geo.ingest.csvrecords` (``scan_records``, ``count_lines``: the file's own record count and
  runaway quotes, apart from the parser),
  :mod:`geo.ingest.csvreader` (``read_csv``, ``parse_csv``),
  :mod:`geo.ingest.cells` (``objects_to_text``, ``arrow_column_to_text``, ``format_cell``),
  :mod:`geo.ingest.xlsxreader` (``read_xlsx``), :mod:`geo.ingest.geojsonreader` (``read_geojson``),
  :mod:`geo.ingest.parquetreader` (``read_parquet``, ``wkb_points``).
- :mod:`geo.ingest.layout` -- ``read_workbook`` (every same-column sheet), ``apply_layout``
  (two-row headers, footer rows), ``footer_mask``, ``FOOTER_WORDS``, ``SHEET_COLUMN``.
- :mod:`geo.ingest.filecheck` -- ``looks_binary``, ``sniff_magic``, ``check_xlsx_package`` (zip bombs,
  macros, XML DTDs/entities), ``check_json_depth``, ``json_depth``, ``UploadError``.
- :mod:`geo.ingest.columns` -- ``map_columns``, ``load_mapping``, ``ColumnMapping``, ``FIELDS``,
  ``REQUIRED``, ``SYNONYMS``, ``synonyms_for``, ``header_key``.
- :mod:`geo.ingest.mapping` -- ``resolve_mapping``, ``compose_frame``, ``MappingResult``,
  ``FieldChoice``, ``MappingError``, ``split_location``, ``rewrite_month_names``,
  ``mapping_with_columns``.
- :mod:`geo.ingest.timeparse` -- ``parse_times``, ``parse_closed_times`` and the reason codes.
- :mod:`geo.ingest.textnorm` -- ``normalize_text``, ``normalize_scalar``.
- :mod:`geo.ingest.geocode` -- ``Gazetteer``, ``geocode``, ``parse_address``, ``normalize_address``.
- :mod:`geo.ingest.quarantine` -- ``REASONS``, ``quarantine_frame``, ``write_quarantine``,
  ``read_quarantine``.
"""
