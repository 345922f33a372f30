"""The GeoJSON reader: a FeatureCollection (or one Feature) as text columns plus point coordinates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from geo.errors import InputFileError
from geo.ingest.cells import objects_to_text
from geo.ingest.filecheck import check_json_depth
from geo.ingest.rawtable import GEOM_LAT, GEOM_LON, RawTable, bad_rows_frame, dedupe_names, frame_from_arrow
from geo.ingest.textencoding import detect_bytes, normalize_encoding, to_utf8
from geo.ingest.textnorm import normalize_scalar

__all__ = ["read_geojson"]


def _crs_from_member(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return normalize_scalar(value)
    if isinstance(value, dict):
        props = value.get("properties") or {}
        if isinstance(props, dict):
            if props.get("name"):
                return normalize_scalar(props["name"])
            if props.get("code") is not None:
                return f"{str(value.get('type') or 'EPSG').upper()}:{props['code']}"
            if props.get("href"):
                return normalize_scalar(props["href"])
        for k in ("name", "code", "id"):
            if value.get(k):
                return normalize_scalar(value[k])
    return normalize_scalar(json.dumps(value, ensure_ascii=False))


_SHAPES = ("LineString", "MultiLineString", "Polygon", "MultiPolygon", "MultiPoint", "GeometryCollection")


def _centroids(geoms: list[Any]) -> np.ndarray:
    """Centroids (x, y) of GeoJSON line/polygon geometries; NaN where a shape cannot be read."""
    import shapely

    out = np.full((len(geoms), 2), np.nan)
    for k, g in enumerate(geoms):
        try:
            shape = shapely.geometry.shape(_numbers(g))
            if not shape.is_empty:
                c = shape.centroid
                out[k] = (c.x, c.y)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError, shapely.errors.ShapelyError):
            continue
    return out


def _numbers(v: Any) -> Any:
    """GeoJSON geometry with coordinate text (the reader keeps numbers as written) turned to floats."""
    if isinstance(v, dict):
        return {k: (_numbers(x) if k in ("coordinates", "geometries") else x) for k, x in v.items()}
    if isinstance(v, list):
        return [_numbers(x) for x in v]
    return float(v) if isinstance(v, str) else v


def _point_xy(geom: Any) -> tuple[float, float]:
    try:
        if geom.get("type") == "Point":
            c = geom["coordinates"]
        elif geom.get("type") == "MultiPoint" and len(geom["coordinates"]) == 1:
            c = geom["coordinates"][0]
        else:
            return (np.nan, np.nan)
        return (float(c[0]), float(c[1]))
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return (np.nan, np.nan)


def read_geojson(path: Path, raw: bytes, encoding: str | None) -> RawTable:
    name = str(path)
    if not raw[:1 << 20].strip() and not raw.strip():
        raise InputFileError("file is empty", file=name)
    enc = normalize_encoding(encoding, name) if encoding else detect_bytes(raw, name, verify=False)
    text = to_utf8(raw, enc, name, validated=not encoding).decode("utf-8")
    check_json_depth(raw, name=name)
    try:
        # Numbers stay as written in the file (parse_float/parse_int keep the text).
        obj = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                             file=name) from None
    except RecursionError:
        raise InputFileError("the JSON is nested too deeply to read (GeoJSON needs at most 7 levels); export "
                             "the layer again as a GeoJSON FeatureCollection", file=name) from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        features = [obj]
    elif isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise InputFileError("the FeatureCollection has no 'features' list", file=name)
    else:
        kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise InputFileError(f"expected a GeoJSON FeatureCollection, got {kind!r}; export the "
                             "layer as GeoJSON (FeatureCollection of Point features)", file=name)
    declared = None
    if isinstance(obj, dict):
        for key in ("crs", "coordinate_system", "coordinateSystem", "coord_sys", "srs", "坐标系"):
            if key in obj:
                declared = _crs_from_member(obj[key])
                if declared:
                    break

    if not features:
        raise InputFileError("the GeoJSON holds no features (an empty FeatureCollection): there is nothing "
                             "to read; export the layer again with its features", file=name)
    good = [i for i, f in enumerate(features) if isinstance(f, dict) and f.get("type") == "Feature"]
    bad = [(i + 1, "invalid_feature", "not a GeoJSON Feature object",
            json.dumps(f, ensure_ascii=False)[:2000])
           for i, f in enumerate(features) if not (isinstance(f, dict) and f.get("type") == "Feature")]
    feats = [features[i] for i in good]
    props = [f.get("properties") if isinstance(f.get("properties"), dict) else {} for f in feats]
    keys: dict[str, None] = {}
    for p in props:
        for k in p:
            keys.setdefault(k, None)
    if "id" not in keys and any("id" in f for f in feats):
        for f, p in zip(feats, props, strict=True):
            if "id" in f:
                p["id"] = f["id"]
        keys["id"] = None
    names = dedupe_names(list(keys))
    cols = {nm: objects_to_text([p.get(k) for p in props], ("true", "false"))
            for nm, k in zip(names, keys, strict=True)}
    xy = np.array([_point_xy(f.get("geometry")) for f in feats], dtype=np.float64).reshape(-1, 2)
    notes: list[str] = []
    kinds = [f.get("geometry").get("type") if isinstance(f.get("geometry"), dict) else None for f in feats]
    shaped = np.flatnonzero(np.isnan(xy[:, 0]) & np.isin(np.asarray(kinds, dtype=object), _SHAPES))
    if shaped.size:
        xy[shaped] = _centroids([feats[i]["geometry"] for i in shaped])
        placed = int(np.isfinite(xy[shaped, 0]).sum())
        counts = {k: kinds.count(k) for k in _SHAPES if k in kinds}
        notes.append(f"{placed} of {shaped.size} line/polygon feature(s) located at their geometry's centroid "
                     f"({', '.join(f'{k} {v}' for k, v in counts.items())}); unreadable shapes stay unlocated")
    frame = frame_from_arrow(cols, np.asarray(good, dtype=np.int64) + 1)
    frame[GEOM_LON] = xy[:, 0]
    frame[GEOM_LAT] = xy[:, 1]
    return RawTable(frame=frame, path=path, format="geojson", encoding=enc, declared_crs=declared,
                    bad_rows=bad_rows_frame(bad), file_records=len(features), notes=notes)

