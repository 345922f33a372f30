"""Writing tables out: GeoParquet, GeoJSON, CSV and XLSX chosen by file extension.

Spreadsheet outputs (CSV, XLSX) escape text cells that start with ``=``,
``+``, ``-`` or ``@`` by prefixing a single quote, so a value exported from a
complaint can never run as a formula when a user opens the file (CSV
injection).  Numbers are left alone.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputFileError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SUPPORTED = (".parquet", ".geoparquet", ".geojson", ".json", ".csv", ".xlsx")


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot be read as spreadsheet formulas."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            text = s.astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
            if risky.any():
                out[col] = text.where(~risky, "'" + text)
    return out


def points_frame(df: pd.DataFrame, lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    """A GeoDataFrame of WGS84 points from lon/lat columns."""
    return gpd.GeoDataFrame(df, geometry=shapely.points(df[lon].to_numpy(), df[lat].to_numpy()),
                            crs="EPSG:4326")


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
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise InputFileError(f"cannot write {ext or 'files without extension'}; use one of "
                             f"{', '.join(SUPPORTED)}", file=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
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
    plain = escape_formulas(_plain(df))
    if headers:
        plain = plain.rename(columns=headers)
    if ext == ".csv":
        plain.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            plain.replace({np.nan: None}).to_excel(xl, index=False, sheet_name=sheet_name[:31])
    return path
