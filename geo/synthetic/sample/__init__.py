"""Synthetic raw exports of every source, with planted truth.

``gridwatch sample --out DIR`` writes what the street offices' systems would
export for one district over a few months — patrol records, 12345 work orders
(GBK), traffic violations (XLSX), 随手拍 snapshots (GeoJSON, BD-09) and the
standard-address gazetteer — plus ``truth.json``: the hotspots that were
planted, the campaign effect for the 回头看 analysis and the number of each
kind of dirt written into each file.  The file layout is the contract in
``data/README.md`` ("Sample event exports").

Everything is synthetic.  Events are drawn in bulk with numpy from one
``numpy.random.SeedSequence(seed)``; the same seed, geography and arguments
give byte-identical files (the XLSX too: its document times and zip entry
times are fixed).

How events are made
-------------------
- *Where*: points along the roads of the geography (weighted by length and road
  class per source; patrols favour alleys, the hotline residential streets),
  violations mostly at intersections (weighted by the classes of the crossing
  roads).
- *When*: per-source day weights (weekday/weekend), a monthly warmth factor per
  category (vending and barbecue grow in summer, coal stoves fade after March) and an
  hour-of-day profile per source and category (violations peak 07–09 and
  17–19 on weekdays; nightly patrols run 19:00–23:00 with some early
  mornings; the hotline follows office hours with a lunchtime dip).
- *Planted hotspots*: extra events of given categories in a time window whose
  rate is ``multiplier`` × the source's own background rate there (all
  categories, same window and dates) within ``radius_m`` of the centre: at a
  busy intersection 200 m (half the extra events in the crossing, σ 20 m,
  half on its approaches), elsewhere a 300 m disc along the roads in the
  busiest tenth of the source's background.  Strong enough for Gi* at res 9
  (k = 1) to flag the hotspot's cells, at 3–8× background.
  Steady ones keep the multiplier; emerging ones grow linearly from 1 to
  ``multiplier_end``; fading ones shrink from ``multiplier_start`` to 1.
- *Campaign*: in a few official middle grids every source's background drops
  by 40 % from the campaign date (a Monday in the second half).
- *Dirt*: 1–3 % of the rows of each file carry exactly one defect each, counted
  in ``truth.json["dirt"][file]``; format variations that every reader must
  accept (three time formats, address variants) are counted apart
  (``time_formats``, ``addresses``) and are not dirt.

Scale
-----
``scale`` multiplies the event counts (default ≈ 76 k events for six months).
The generator is vectorised, keeps one source in memory at a time and writes
in chunks (the XLSX with its own
deterministic SpreadsheetML writer, not openpyxl).  Above ``XLSX_MAX_SCALE``
the violations are written as ``violations.csv`` (UTF-8, same columns, time
as ISO text, CGCS2000 = WGS84 values) instead of the XLSX, with a warning:
spreadsheet readers (openpyxl) read only ~10–20 k rows a second and a sheet
holds at most 1,048,575 rows, and nobody exports a million violations to Excel.

Modules: :mod:`~geo.synthetic.sample.contract`, :mod:`~geo.synthetic.sample.vocabulary`,
:mod:`~geo.synthetic.sample.geography`, :mod:`~geo.synthetic.sample.timing`,
:mod:`~geo.synthetic.sample.plan`, :mod:`~geo.synthetic.sample.events`,
:mod:`~geo.synthetic.sample.gazetteer`, :mod:`~geo.synthetic.sample.strings`,
:mod:`~geo.synthetic.sample.dirt`, :mod:`~geo.synthetic.sample.tables`,
:mod:`~geo.synthetic.sample.simulation`, :mod:`~geo.synthetic.sample.writers`.
"""

from __future__ import annotations

from geo.synthetic.sample.contract import BASE_COUNTS, DIRT_KINDS, FILES, HEADERS, XLSX_MAX_SCALE
from geo.synthetic.sample.gazetteer import build_gazetteer
from geo.synthetic.sample.geography import Geography, load_sample_geography
from geo.synthetic.sample.plan import plan_campaign, plan_hotspots
from geo.synthetic.sample.simulation import Simulation, simulate
from geo.synthetic.sample.writers import XLSX_MAX_ROWS, write_sample

__all__ = [
    "Geography", "Simulation", "HEADERS", "FILES", "BASE_COUNTS", "DIRT_KINDS", "XLSX_MAX_SCALE", "XLSX_MAX_ROWS",
    "load_sample_geography", "build_gazetteer", "plan_hotspots", "plan_campaign", "simulate", "write_sample",
]
