"""Ingestion: raw exports in, events in the store out, every physical record accounted for.

Reads files (:mod:`~geo.ingest.filecheck`, :mod:`~geo.ingest.readers`,
:mod:`~geo.ingest.layout`), maps their columns
by name and content (:mod:`~geo.ingest.columns`, :mod:`~geo.ingest.mapping`), parses times (:mod:`~geo.ingest.timeparse`), normalises text
(:mod:`~geo.ingest.textnorm`), places address-only rows (:mod:`~geo.ingest.geocode`), scrubs
personal data (:mod:`geo.privacy`), quarantines what cannot be used
(:mod:`~geo.ingest.quarantine`) and writes one transaction per file
(:mod:`~geo.ingest.pipeline`).  Imports :mod:`geo.grid` and :mod:`geo.store`, never an analysis.

Public API (import from the module):

- :mod:`geo.ingest.pipeline` -- ``ingest_file`` (``dry_run=True``: counts without writing),
  ``IngestReport``, ``prepare_events`` (the per-file unit the Dask path reuses),
  ``near_duplicate_mask``, ``preview_events``, ``Progress``, ``Stopwatch``.
- :mod:`geo.ingest.readers` -- ``read_raw``, ``RawTable``, ``detect_encoding``, ``sniff_delimiter``.
- :mod:`geo.ingest.layout` -- ``read_workbook`` (every same-column sheet), ``apply_layout``
  (two-row headers, footer rows), ``footer_mask``, ``FOOTER_WORDS``, ``SHEET_COLUMN``.
- :mod:`geo.ingest.filecheck` -- ``looks_binary``, ``sniff_magic``, ``check_xlsx_package``,
  ``UploadError``.
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
