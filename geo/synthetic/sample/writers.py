"""Writers of the raw exports: chunked CSV, GeoJSON, a deterministic XLSX, and write_sample."""

from __future__ import annotations

import json
import time as _time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import SettingsError
from geo.synthetic.sample.contract import FILES, FIXED_DOC_TIME, FIXED_ZIP_TIME, HEADERS, XLSX_MAX_SCALE
from geo.synthetic.sample.geography import Geography
from geo.synthetic.sample.simulation import check_args, generate
from geo.synthetic.sample.strings import as_object, concat_strings, fixed
from geo.synthetic.sample.tables import Table
from geo.synthetic.sample.timing import period


# --------------------------------------------------------------------------- #
# writers
# --------------------------------------------------------------------------- #
def _csv_column(col: np.ndarray) -> list[str]:
    """A column as a list of CSV fields (quoted only where needed, as csv.QUOTE_MINIMAL does)."""
    vals = [str(v) for v in col] if np.asarray(col).dtype != object else list(col)
    probe = "\x00".join(vals)  # one C-level scan instead of a test per field
    if "," in probe or '"' in probe or "\n" in probe:
        vals = ['"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v for v in vals]
    return vals


def _write_csv(path: Path, header: tuple[str, ...], chunks: Iterator[dict[str, np.ndarray]],
               encoding: str) -> int:
    """Write chunks of string columns; ``encoding`` is strict (a character GBK lacks raises)."""
    rows = 0
    with open(path, "wb") as fh:
        fh.write((",".join(header) + "\n").encode(encoding))
        for c in chunks:
            cols = [_csv_column(c[h]) for h in header]
            if not cols[0]:
                continue
            fh.write(("\n".join(map(",".join, zip(*cols, strict=True))) + "\n").encode(encoding))
            rows += len(cols[0])
    return rows


def _write_geojson(path: Path, tab: Table) -> int:
    rows = 0
    keys = HEADERS["snapshot"]
    with open(path, "wb") as fh:
        fh.write('{"type":"FeatureCollection","name":"随手拍","coordinate_system":"BD-09",'
                 '"crs_note":"coordinates are BD-09 (Baidu), not WGS84","features":[\n'.encode())
        first = True
        for c in tab.chunks():
            n = len(c["上报编号"])
            if not n:
                continue
            for k in keys:  # our texts never need JSON escaping; make sure
                probe = "".join(c[k].tolist())
                if '"' in probe or "\\" in probe or any(ord(ch) < 32 for ch in set(probe)):
                    raise AssertionError(f"unexpected JSON-special character in {k}")
            lon, lat = c["_lon"], c["_lat"]
            geom = np.where(lon == "", "null", concat_strings('{"type":"Point","coordinates":[', lon, ",", lat, "]}"))
            feat = concat_strings('{"type":"Feature","geometry":', geom, ',"properties":{"上报编号":"', c["上报编号"],
                        '","上报时间":"', c["上报时间"], '","问题类别":"', c["问题类别"], '","问题描述":"',
                        c["问题描述"], '","处理状态":"', c["处理状态"], '"}}')
            fh.write((("" if first else ",\n") + ",\n".join(feat.tolist())).encode())
            first = False
            rows += n
        fh.write(b"\n]}\n")
    return rows


_XLSX_PARTS_STATIC = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/worksheets/sheet2.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '</Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'extended-properties" Target="docProps/app.xml"/>'
        '</Relationships>',
    "docProps/app.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        '<Application>gridwatch</Application></Properties>',
    "docProps/core.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>gridwatch sample</dc:creator><dc:title>交通违法记录（样例）</dc:title>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{FIXED_DOC_TIME}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{FIXED_DOC_TIME}</dcterms:modified>'
        '</cp:coreProperties>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="违法记录" sheetId="1" r:id="rId1"/><sheet name="说明" sheetId="2" r:id="rId2"/>'
        '</sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet2.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/>'
        '</Relationships>',
    "xl/styles.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>',
}
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"
XLSX_MAX_ROWS = 1_048_575
"""Data rows an Excel sheet can hold (1,048,576 minus the header)."""


def _xml_escape(a: np.ndarray) -> np.ndarray:
    a = as_object(a)
    probe = "".join(a.tolist())
    if "&" in probe or "<" in probe or ">" in probe:
        a = np.array([v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for v in a], dtype=object)
    return a


def _xlsx_rows(first_row: int, cols: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """SpreadsheetML <row> elements; each column is (values, types: 0 text, 1 number, 2 date, 3 empty)."""
    n = len(cols[0][0])
    rnum = np.arange(first_row, first_row + n).astype(str).astype(object)
    parts = [concat_strings('<row r="', rnum, '">')]
    for j, (vals, types) in enumerate(cols):
        ref = chr(65 + j) + rnum
        v = _xml_escape(vals)
        cell = np.full(n, "", dtype=object)
        for code, pre, mid in ((0, '" t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"),
                               (1, '"><v>', "</v></c>"), (2, '" s="1"><v>', "</v></c>")):
            m = types == code
            if m.any():
                cell[m] = concat_strings('<c r="', ref[m], pre, v[m], mid)
        parts.append(cell)
    parts.append(np.full(n, "</row>", dtype=object))
    return "".join(concat_strings(*parts).tolist())


def _zip_entry(zout: zipfile.ZipFile, name: str) -> Any:
    zi = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)  # fixed entry times: byte-identical files
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    return zout.open(zi, "w", force_zip64=True)


def _write_xlsx(path: Path, tab: Table, per_note: str) -> int:
    """Write the violations workbook (sheet 违法记录 + 说明) directly as SpreadsheetML.

    openpyxl writes ~10 k rows/s and stamps the save time into the file; this
    writer is vectorised and fully deterministic.  Times are real date cells
    (Excel serials with a date format) except the rows exported as text.
    """
    if len(tab) > XLSX_MAX_ROWS:
        raise SettingsError(f"{len(tab)} violation rows do not fit one Excel sheet ({XLSX_MAX_ROWS}); "
                            "use xlsx=False (CSV) or a smaller scale")
    header = list(HEADERS["violation"])
    rows = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zout:
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"):
            with _zip_entry(zout, name) as fh:
                fh.write(_XLSX_PARTS_STATIC[name].encode())
        with _zip_entry(zout, "xl/worksheets/sheet1.xml") as fh:
            fh.write(_SHEET_HEAD.encode())
            hdr = [(np.array([h]), np.zeros(1, np.int8)) for h in header]
            fh.write(_xlsx_rows(1, hdr).encode())
            for c in tab.chunks():
                n = len(c["违法编号"])
                if not n:
                    continue
                cols = []
                for h in header:
                    types = c.get(f"_type_{h}")
                    if types is None:  # text column: an empty string is an empty cell
                        types = np.where(c[h] == "", 3, 0).astype(np.int8)
                    cols.append((c[h], types))
                fh.write(_xlsx_rows(rows + 2, cols).encode())
                rows += n
            fh.write(_SHEET_TAIL.encode())
        info = (("项目", "内容"), ("坐标系", "CGCS2000"), ("EPSG", "4490"),
                ("数据来源", "交通违法记录导出（样例数据，全部虚构）"), ("时间范围", per_note),
                ("说明", "经纬度为十进制度（CGCS2000 与 WGS84 相差厘米级）；违法时间为北京时间"))
        with _zip_entry(zout, "xl/worksheets/sheet2.xml") as fh:
            cols = [(np.array([r[k] for r in info]), np.zeros(len(info), np.int8)) for k in range(2)]
            fh.write((_SHEET_HEAD + _xlsx_rows(1, cols) + _SHEET_TAIL).encode())
    return rows


def _write_addresses(path: Path, gaz: pd.DataFrame) -> int:
    cols = {h: gaz[h].to_numpy(dtype=object) for h in HEADERS["addresses"]}
    cols["经度"] = fixed(gaz["经度"].to_numpy(), 6)
    cols["纬度"] = fixed(gaz["纬度"].to_numpy(), 6)
    return _write_csv(path, HEADERS["addresses"], iter([cols]), "utf-8")


def _period_note(start: str, months: int) -> str:
    per = period(start, months)
    return f"{per.date(0)} 至 {per.date(per.n_days - 1)}"


def write_sample(out_dir: str | Path, *, seed: int = 1, months: int = 6, scale: float = 1.0,
                 start: str = "2024-03-01", geography: Geography | None = None,
                 xlsx: bool | None = None) -> dict[str, Any]:
    """Write the sample raw exports and ``truth.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Created if missing; existing sample files are overwritten.
    seed : int
        Seed of every random draw; the same seed gives byte-identical files.
    months : int
        Length of the period from ``start``.
    scale : float
        Multiplies the event counts (1 ≈ 76 k events for six months).
    start : str
        First day, ``YYYY-MM-DD``.
    geography : Geography, optional
        Reference layers; default :func:`load_sample_geography`.
    xlsx : bool, optional
        Write violations as XLSX (default: when ``scale <= XLSX_MAX_SCALE``);
        otherwise ``violations.csv`` (UTF-8, same columns) with a warning.

    Returns
    -------
    dict
        ``out_dir``, ``files`` ({name: {"rows", "bytes"}}), ``dirt`` ({file: {kind: n}}),
        ``total_bytes``, ``events`` (rows of the four event files), ``seconds``, ``warnings``.

    Examples
    --------
    >>> summary = write_sample("/tmp/gw-sample", scale=0.05)  # doctest: +SKIP
    >>> summary["files"]["patrol.csv"]["rows"]  # doctest: +SKIP
    1293
    """
    t_start = _time.perf_counter()
    check_args(seed, months, scale, start)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    use_xlsx = (float(scale) <= XLSX_MAX_SCALE) if xlsx is None else bool(xlsx)
    vname = FILES["violation"] if use_xlsx else "violations.csv"
    notes: list[str] = []
    files: dict[str, dict[str, int]] = {}
    truth: dict[str, Any] = {}
    # one source at a time: written, then dropped (memory stays ~ one source)
    for name, obj in generate(geography, seed=seed, months=months, scale=scale, start=start):
        if name == "gazetteer":
            files[FILES["addresses"]] = {"rows": _write_addresses(out / FILES["addresses"], obj)}
        elif name == "patrol":
            files[FILES["patrol"]] = {"rows": _write_csv(out / FILES["patrol"], HEADERS["patrol"],
                                                         obj.chunks(), "utf-8")}
        elif name == "hotline":
            files[FILES["hotline"]] = {"rows": _write_csv(out / FILES["hotline"], HEADERS["hotline"],
                                                          obj.chunks(), "gbk")}
        elif name == "violation":
            if use_xlsx:
                files[vname] = {"rows": _write_xlsx(out / vname, obj, _period_note(start, months))}
            else:
                msg = (f"scale {scale} > {XLSX_MAX_SCALE}: violations written as {vname} (UTF-8, same columns, "
                       "times as ISO text, CGCS2000 = WGS84 values) instead of XLSX")
                warnings.warn(msg, stacklevel=2)
                notes.append(msg)
                files[vname] = {"rows": _write_csv(out / vname, HEADERS["violation"],
                                                   ({**c, "违法时间": c["_iso"]} for c in obj.chunks()), "utf-8")}
            stale = out / ("violations.csv" if use_xlsx else FILES["violation"])
            if stale.exists():  # never leave the other violations format from an earlier run
                stale.unlink()
        elif name == "snapshot":
            files[FILES["snapshot"]] = {"rows": _write_geojson(out / FILES["snapshot"], obj)}
        else:
            truth = obj
        del obj
    if not use_xlsx:
        truth["dirt"][vname] = truth["dirt"].pop(FILES["violation"])
        truth["rows"][vname] = truth["rows"].pop(FILES["violation"])
        truth["time_formats"][vname] = truth["time_formats"].pop(FILES["violation"])
        truth["crs"][vname] = truth["crs"].pop(FILES["violation"])
        truth["pii"][vname] = truth["pii"].pop(FILES["violation"])
        for h in truth["hotspots"]:
            h["files"] = [vname if f == FILES["violation"] else f for f in h["files"]]
    truth["files"] = sorted(files)
    (out / FILES["truth"]).write_text(json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=False) + "\n",
                                      encoding="utf-8")
    files[FILES["truth"]] = {"rows": 0}
    for name in files:
        files[name]["bytes"] = (out / name).stat().st_size
    return {
        "out_dir": str(out),
        "files": files,
        "dirt": truth["dirt"],
        "events": sum(files[f]["rows"] for f in (FILES["patrol"], FILES["hotline"], vname, FILES["snapshot"])),
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "seconds": round(_time.perf_counter() - t_start, 2),
        "warnings": notes,
    }
