"""Reading raw exports: file readers, column mapping and mapping files.

>>> from geo.io import read_raw, map_columns
>>> raw = read_raw("hotline_12345.csv")              # doctest: +SKIP
>>> cols = map_columns(raw.columns, "hotline")       # doctest: +SKIP
"""

from geo.io.columns import (
    FIELDS,
    REQUIRED,
    SYNONYMS,
    ColumnMapping,
    Mapping,
    header_key,
    load_mapping,
    map_columns,
    synonyms_for,
)
from geo.io.readers import (
    GEOM_LAT,
    GEOM_LON,
    ROW_COLUMN,
    RawTable,
    detect_encoding,
    read_raw,
    sniff_delimiter,
)

__all__ = [
    "FIELDS", "REQUIRED", "SYNONYMS", "ColumnMapping", "Mapping", "header_key", "load_mapping",
    "map_columns", "synonyms_for", "GEOM_LAT", "GEOM_LON", "ROW_COLUMN", "RawTable",
    "detect_encoding", "read_raw", "sniff_delimiter",
]
