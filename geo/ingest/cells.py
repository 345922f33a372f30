"""Cell values of any type (spreadsheet cells, JSON values, typed Arrow columns) as text."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["objects_to_text", "arrow_column_to_text", "format_cell", "format_float_array",
           "format_timestamp_array"]


def format_float_array(arr: pa.Array) -> pa.Array:
    """Numbers as their text: integers without '.0', others in shortest round-trip form."""
    f = pc.cast(arr, pa.float64())
    finite = pc.is_finite(f)
    integral = pc.and_(finite, pc.and_(pc.equal(pc.floor(f), f), pc.less(pc.abs(f), 2.0 ** 53)))
    as_int = pc.cast(pc.cast(pc.if_else(integral, f, 0.0), pa.int64()), pa.large_string())
    return pc.if_else(integral, as_int, pc.cast(f, pa.large_string()))


def format_timestamp_array(arr: pa.Array, round_to_second: bool) -> pa.Array:
    """Timestamps as ``YYYY-MM-DD HH:MM:SS`` (``+HHMM`` appended when tz-aware).

    Excel stores times as fractions of a day, so 08:30 comes back as
    08:29:59.99999; ``round_to_second`` rounds as Excel displays.  Real
    sub-second parts (Parquet) are kept as a decimal fraction.
    """
    if pa.types.is_date(arr.type):
        # A spreadsheet date cell reads as midnight (as openpyxl gives it); Parquet dates stay dates.
        fmt = "%Y-%m-%d 00:00:00" if round_to_second else "%Y-%m-%d"
        return pc.cast(pc.strftime(arr, format=fmt), pa.large_string())
    tz = arr.type.tz
    if arr.type.unit != "s":
        if round_to_second:
            arr = pc.round_temporal(arr, unit="second")
        whole = pc.all(pc.equal(pc.floor_temporal(arr, unit="second"), arr)).as_py()
        if whole is None or whole:
            arr = arr.cast(pa.timestamp("s", tz))
    fmt = "%Y-%m-%d %H:%M:%S" + ("%z" if tz else "")
    return pc.cast(pc.strftime(arr, format=fmt), pa.large_string())


def format_cell(v: Any, bool_text: tuple[str, str] = ("TRUE", "FALSE")) -> str | None:
    """Text of one cell value of any Python type (fallback path)."""
    import datetime as dt

    if v is None or (isinstance(v, str) and v == ""):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool_text[0] if v else bool_text[1]
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if v != v:
            return None
        if float(v).is_integer() and abs(v) < 2 ** 53:
            return str(int(v))
        return repr(float(v))
    if isinstance(v, dt.datetime):
        if v.microsecond:
            v = (v + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d 00:00:00")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):
        secs = round(v.total_seconds())
        return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def objects_to_text(values: list[Any], bool_text: tuple[str, str] = ("TRUE", "FALSE")) -> pa.Array:
    """Cell values (str/float/int/bool/datetime/None, possibly mixed) → Arrow text.

    Homogeneous columns are converted in bulk by Arrow; only mixed columns
    format value by value.
    """
    vals = [None if (v == "" if isinstance(v, str) else False) else v for v in values]
    try:
        arr = pa.array(vals, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([format_cell(v, bool_text) for v in vals], type=pa.large_string())
    t = arr.type
    if pa.types.is_null(t):
        return pa.nulls(len(vals), pa.large_string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.large_string())
    if pa.types.is_boolean(t):
        return pc.if_else(arr, pa.scalar(bool_text[0], pa.large_string()),
                          pa.scalar(bool_text[1], pa.large_string()))
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return format_float_array(arr) if pa.types.is_floating(t) else pc.cast(arr, pa.large_string())
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return format_timestamp_array(arr, round_to_second=True)
    return pa.array([format_cell(v, bool_text) for v in vals], type=pa.large_string())


def arrow_column_to_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A typed Arrow column (Parquet) as text, like :func:`objects_to_text`."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else (col.chunk(0) if col.num_chunks
                                                                  else pa.array([], col.type))
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.large_string())
    if pa.types.is_floating(t):
        return format_float_array(col)
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return pc.cast(col, pa.large_string())
    if pa.types.is_boolean(t):
        return pc.if_else(col, pa.scalar("true", pa.large_string()), pa.scalar("false", pa.large_string()))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return format_timestamp_array(col, round_to_second=False)
    return pa.array([format_cell(v) for v in col.to_pylist()], type=pa.large_string())


