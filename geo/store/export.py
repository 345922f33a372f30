"""Writing tables out: GeoParquet, GeoJSON, CSV and XLSX chosen by file extension.

Spreadsheet outputs (CSV, XLSX) escape text cells that start with ``=``,
``+``, ``-``, ``@``, a tab, a carriage return or a line feed (the OWASP CSV
injection list) by prefixing a single quote, so a value exported from a
complaint can never run as a formula when a user opens the file; column
headers are escaped the same way (a pivot by category takes its headers from
the data).  Numbers are left alone.  openpyxl would otherwise store any string
starting with ``=`` as a live formula in an XLSX.

No export can be broken by a stray control character: XLSX (XML) cannot hold
the C0 controls other than tab/LF/CR (:data:`geo.privacy.CONTROL_CHARS`), so
they are removed from XLSX cells and headers, and NUL is removed from text in
every format (see :func:`remove_control_chars`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputFileError
from geo.privacy import CONTROL_CHARS
from geo.store.files import make_private, private_umask

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
SUPPORTED = (".parquet", ".geoparquet", ".geojson", ".json", ".csv", ".xlsx")


def _escape_text(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``text`` with risky cells quoted, and the mask of those cells."""
    risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
    return text.where(~risky, "'" + text), risky


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells and headers cannot be read as spreadsheet formulas.

    Text cells (``object``, ``string`` and categorical columns) starting with
    one of :data:`FORMULA_PREFIXES` get a leading ``'``; numbers, dates and
    other non-text values keep their type, also inside ``object`` columns.

    Examples
    --------
    >>> escape_formulas(pd.DataFrame({"a": ["=1+1", "ok", "@SUM(A1)", "-2"]}))["a"].tolist()
    ["'=1+1", 'ok', "'@SUM(A1)", "'-2"]
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            if s.cat.categories.dtype == object or isinstance(s.cat.categories.dtype, pd.StringDtype):
                cats, risky = _escape_text(pd.Series(s.cat.categories).astype("string"))
                if risky.any():
                    out[col] = s.cat.rename_categories(cats.tolist())
            continue
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        escaped, risky = _escape_text(s.astype("string"))
        if s.dtype == object and risky.any():
            # a number in an object column (-5) is not text: leave it a number
            is_text = np.fromiter((isinstance(v, str) for v in s.to_numpy()[risky]), bool, int(risky.sum()))
            risky[np.flatnonzero(risky)[~is_text]] = False
        if risky.any():
            fixed = s.astype(object) if s.dtype == object else s.copy()
            fixed[risky] = escaped[risky].to_numpy()
            out[col] = fixed
    names = pd.Series([str(c) for c in out.columns], dtype="string")
    escaped_names, risky_names = _escape_text(names)
    if risky_names.any():
        out.columns = [e if r else c for c, e, r in zip(out.columns, escaped_names, risky_names, strict=True)]
    return out


def remove_control_chars(df: pd.DataFrame, pattern: str = CONTROL_CHARS) -> pd.DataFrame:
    r"""``df`` with the characters ``pattern`` matches removed from text cells, categories and headers.

    Only columns holding such a character are copied; numbers, dates and
    geometries are untouched.  The default removes the C0 controls an XLSX
    cannot hold; ``r"\x00"`` removes NUL only.

    Examples
    --------
    >>> remove_control_chars(pd.DataFrame({"a\x01": ["x\x01y", "ok\tfine"]})).to_dict("list")
    {'a': ['xy', 'ok\tfine']}
    """
    out = df
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = pd.Series(s.cat.categories)
            if cats.dtype == object or isinstance(cats.dtype, pd.StringDtype):
                text = cats.astype("string")
                if text.str.contains(pattern, regex=True).fillna(False).any():
                    fixed = text.str.replace(pattern, "", regex=True)
                    out = out.copy() if out is df else out
                    if fixed.duplicated().any():  # two categories became one
                        out[col] = s.astype("string").str.replace(pattern, "", regex=True)
                    else:
                        out[col] = s.cat.rename_categories(fixed.tolist())
            continue
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool) if s.dtype == object else \
            s.notna().to_numpy(dtype=bool)
        if not is_str.any():
            continue
        text = s[is_str].astype("string")
        hit = text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)
        if hit.any():
            out = out.copy() if out is df else out
            fixed = s.astype(object) if s.dtype == object else s.copy()
            rows = np.flatnonzero(is_str)[hit]
            fixed.iloc[rows] = text[hit].str.replace(pattern, "", regex=True).to_numpy(dtype=object)
            out[col] = fixed
    names = [str(c) for c in out.columns]
    if any(pd.Series(names, dtype="string").str.contains(pattern, regex=True)):
        out = out.copy() if out is df else out
        out.columns = pd.Series(names, dtype="string").str.replace(pattern, "", regex=True).tolist()
    return out


def points_frame(df: pd.DataFrame, lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    """A GeoDataFrame of WGS84 points from lon/lat columns."""
    return gpd.GeoDataFrame(df, geometry=shapely.points(df[lon].to_numpy(), df[lat].to_numpy()),
                            crs="EPSG:4326")


def local_times(df: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Times as people read them: every time-zone-aware column in ``timezone``, with a UTC twin.

    Each aware column ``c`` (``occurred_at``, ``closed_at``, a problem list's ``opened`` …) is
    converted to the workspace's zone — written with its offset, ``2024-08-31 23:30:00-0400`` — and
    ``c_utc`` follows it with the same instant in UTC.  Naive columns are left as they are.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2024-09-01 03:30"], utc=True))
    >>> local_times(pd.DataFrame({"occurred_at": t}), "America/New_York").iloc[0].tolist()
    [Timestamp('2024-08-31 23:30:00-0400', tz='America/New_York'), Timestamp('2024-09-01 03:30:00+0000', tz='UTC')]
    """
    out = df.copy()
    for col in list(df.columns):
        dtype = df[col].dtype
        if isinstance(dtype, pd.DatetimeTZDtype) and not str(col).endswith("_utc") and f"{col}_utc" not in df:
            at = out.columns.get_loc(col)
            out.insert(at + 1, f"{col}_utc", df[col].dt.tz_convert("UTC"))
            out[col] = df[col].dt.tz_convert(timezone)
    return out


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO text and geometry dropped, for CSV/XLSX."""
    out = pd.DataFrame(df.drop(columns=[c for c in df.columns if c == "geometry"]))
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M:%S%z").astype("string")
    return out


def write_table(df: pd.DataFrame, path: str | Path, *, sheet_name: str = "data",
                headers: dict[str, str] | None = None) -> Path:
    """Write ``df`` in the format given by the extension of ``path``.

    Parameters
    ----------
    df : DataFrame or GeoDataFrame
        A GeoDataFrame keeps its geometry in GeoParquet/GeoJSON; a plain
        frame with ``lon``/``lat`` becomes points there.
    path : path-like
        ``.parquet``/``.geoparquet``, ``.geojson``/``.json``, ``.csv`` (UTF-8
        with BOM, so Excel reads Chinese), ``.xlsx``.
    headers : dict, optional
        Column renames for spreadsheet outputs (e.g. Chinese headers).

    The file is created ``0600`` (:func:`geo.store.files.private_umask`).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise InputFileError(f"cannot write {ext or 'files without extension'}; use one of "
                             f"{', '.join(SUPPORTED)}", file=str(path))
    with private_umask():  # 0600 file (0700 for a folder it creates): exports hold complaint texts
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(remove_control_chars(df, CONTROL_CHARS if ext == ".xlsx" else r"\x00"), path, ext,
               sheet_name, headers)
    return make_private(path)  # also a file that existed before at 0644


def _write(df: pd.DataFrame, path: Path, ext: str, sheet_name: str, headers: dict[str, str] | None) -> Path:
    spatial = isinstance(df, gpd.GeoDataFrame) or {"lon", "lat"} <= set(df.columns)
    if not spatial:
        # A plain table (a backtest, a weekly series): no geometry to invent.
        if ext in (".geojson", ".geoparquet"):
            raise InputFileError(f"this table has no geometry; write it as .csv, .xlsx, .parquet or .json "
                                 f"instead of {ext}", file=str(path))
        if ext == ".json":
            df.to_json(path, orient="records", force_ascii=False, date_format="iso", indent=1)
        elif ext == ".parquet":
            df.to_parquet(path, index=False)
        if ext in (".json", ".parquet"):
            return path
    if ext in (".parquet", ".geoparquet", ".geojson", ".json"):
        gdf = df if isinstance(df, gpd.GeoDataFrame) else points_frame(df)
        if ext in (".geojson", ".json"):
            gdf = gdf.copy()
            for col in gdf.columns:
                if pd.api.types.is_datetime64_any_dtype(gdf[col]):
                    gdf[col] = gdf[col].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
            gdf.to_file(path, driver="GeoJSON")
        else:
            gdf.to_parquet(path, index=False)
        return path
    plain = _plain(df)
    if headers:
        plain = plain.rename(columns=headers)
    plain = escape_formulas(plain)  # after the renames: headers are escaped too
    if ext == ".csv":
        # CRLF rows (RFC 4180): Python's csv module quotes a field holding the line
        # terminator's characters only, so with '\n' rows a bare '\r' inside a cell went out
        # unquoted and started a new spreadsheet row — '\r=cmd|…' became a live formula.
        plain.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    else:
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            plain.replace({np.nan: None}).to_excel(xl, index=False, sheet_name=sheet_name[:31])
    return path
