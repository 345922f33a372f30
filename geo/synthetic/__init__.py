"""Synthetic reference geography: sample official grids and a sample street network.

Nothing here describes real boundaries or real roads.  Real grid polygons of
street offices are not public and no open road data for central Beijing could be
obtained, so the sample workspace ships *invented* layers in exactly the form a
user's own files arrive in (see ``data/README.md``):

* :func:`geo.synthetic.grids.nested_grids` -- a seeded, nested big/middle/small
  partition of a study area (the 大/中/小网格 of an official grid file);
* :func:`geo.synthetic.roads.street_network` -- a seeded street network shaped
  like an OpenStreetMap extract exported to GeoJSON.

``python -m geo.synthetic.build_reference`` rebuilds the files under
``data/sample/`` from ``data/reference/``.
"""

from __future__ import annotations

__all__ = ["nested_grids", "street_network"]


def __getattr__(name: str):  # lazy: keep ``import geo.synthetic`` cheap
    if name == "nested_grids":
        from geo.synthetic.grids import nested_grids

        return nested_grids
    if name == "street_network":
        from geo.synthetic.roads import street_network

        return street_network
    raise AttributeError(f"module 'geo.synthetic' has no attribute {name!r}")
