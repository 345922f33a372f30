"""The synthetic sample: invented geography and realistic raw exports of the Xicheng sample district.

Nothing here describes real boundaries, roads or events.  Real grid polygons of street offices are
not public and no open road data for central Beijing could be obtained, so the sample workspace
ships *invented* layers in exactly the form a user's own files arrive in (see ``data/README.md``),
and raw exports with the dirt real exports have.  Above :mod:`geo.ingest` because
:mod:`~geo.synthetic.workspace` ingests the generated files; nothing in the product imports it
except the app, the CLI and the notebooks, to prepare the sample.

Public API (import from the module):

- :mod:`geo.synthetic.grids` -- ``nested_grids`` (a seeded big/middle/small partition).
- :mod:`geo.synthetic.roads` -- ``street_network`` (an OSM-like street network).
- :mod:`geo.synthetic.sample` -- ``write_sample``, ``simulate``, ``load_sample_geography``,
  ``build_gazetteer``, ``HEADERS``, ``FILES``, ``DIRT_KINDS``.
- :mod:`geo.synthetic.workspace` -- ``ensure_sample_workspace``, ``report_table``, ``SAMPLE_FILES``.

``python -m geo.synthetic.build_reference`` rebuilds the files under ``data/sample/`` from
``data/reference/``.
"""
