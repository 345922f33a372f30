"""The XLSX reader: python-calamine (Rust) when installed, openpyxl otherwise; formulas as their text
(never evaluated), title rows above the header skipped, a CRS stated in a metadata sheet found."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

import numpy as np
import pyarrow as pa

from geo.errors import InputFileError
from geo.ingest.cells import format_cell, objects_to_text
from geo.ingest.filecheck import check_xlsx_package
from geo.ingest.rawtable import REFUSED_EXT, RawTable, dedupe_names, frame_from_arrow
from geo.ingest.textnorm import normalize_scalar

__all__ = ["read_xlsx"]

_CRS_LABEL = re.compile(
    r"^(?:坐标系|坐标系统|坐标参考系|坐标参考系统|空间参考|空间参考系|参考系|投影|crs|srs|"
    r"coordinate\s*(?:reference\s*)?system|spatial\s*reference)\s*[:=]?\s*(.*)$",
    re.IGNORECASE)
_META_SHEETS = ("说明", "readme", "notes", "note", "metadata", "元数据", "备注", "数据说明", "字段说明")


def _empty_cell(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _header_index(rows: list[list[Any]]) -> int:
    """Index of the header row among the first rows of a sheet: the first row at
    least half as full as the fullest one, which skips title rows such as a
    merged "2024年违法记录" cell.  -1 if all are empty."""
    counts = [sum(not _empty_cell(v) for v in r) for r in rows]
    if not counts or max(counts) == 0:
        return -1
    need = max(min(2, max(counts)), (max(counts) + 1) // 2)
    return next(i for i, c in enumerate(counts) if c >= need)


def _table_from_grid(grid: list[list[Any]], name: str
                     ) -> tuple[dict[str, pa.Array], np.ndarray, int, int]:
    """Header detection, blank-row removal and column naming for a sheet.

    ``grid`` is the sheet from cell A1 (row ``i`` is sheet row ``i + 1``).
    Returns text columns, their ``_row`` numbers, the number of interior
    blank rows and the header's sheet row.  Columns beyond the header that
    hold data get ``Unnamed: i``.
    """
    h = _header_index(grid[:30])
    if h < 0:
        raise InputFileError("the sheet is empty (no header row); pick another sheet with "
                             "--sheet", file=name)
    body = grid[h + 1:]
    width = max([len(grid[h])] + [len(r) for r in body])
    header = list(grid[h]) + [None] * (width - len(grid[h]))
    padded = [r if len(r) == width else list(r) + [None] * (width - len(r)) for r in body]
    cols = [objects_to_text(list(c)) for c in zip(*padded, strict=True)] if padded else \
        [pa.array([], pa.large_string()) for _ in range(width)]
    n = len(body)
    has_data = np.zeros(n, dtype=bool)
    col_has_data = []
    for c in cols:
        v = c.is_valid().to_numpy(zero_copy_only=False)
        col_has_data.append(bool(v.any()))
        has_data |= v
    keep = [j for j in range(width) if not _empty_cell(header[j]) or col_has_data[j]]
    names = dedupe_names([format_cell(header[j]) for j in keep])
    rows = np.arange(h + 2, h + 2 + n, dtype=np.int64)
    last = int(np.flatnonzero(has_data)[-1]) + 1 if has_data.any() else 0
    blank = int((~has_data[:last]).sum())
    mask = pa.array(has_data, pa.bool_())
    out = {nm: cols[j].filter(mask) for nm, j in zip(names, keep, strict=True)}
    return out, rows[has_data], blank, h + 1


def _xlsx_sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → XML part name, from workbook.xml and its relationships."""
    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for r in rels:
        tgt = r.get("Target", "")
        tgt = tgt.lstrip("/") if tgt.startswith("/") else "xl/" + tgt
        targets[r.get("Id")] = tgt
    out = {}
    for s in wb.iter(f"{ns_main}sheet"):
        rid = s.get(f"{ns_rel}id")
        if rid in targets:
            out[s.get("name", "")] = targets[rid]
    return out


_F_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f(?=[\s>/])")
_CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})(\d+)"')
_F_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _xlsx_formulas(xml: bytes) -> dict[tuple[int, int], str] | None:
    """Formula text of every formula cell, keyed by 0-based (row, col).

    Returns ``None`` when a formula cell has no ``r`` reference (the caller then
    falls back to openpyxl).  Shared formulas are translated to each cell.
    """
    out: dict[tuple[int, int], str] = {}
    shared: dict[bytes, tuple[str, str]] = {}
    followers: list[tuple[int, int, bytes]] = []
    prefix_m = re.search(rb"<((?:[A-Za-z_][\w.-]*:)?)c[\s>]", xml)
    cell_open = b"<" + (prefix_m.group(1) if prefix_m else b"") + b"c"
    for m in _F_TAG.finditer(xml):
        start = xml.rfind(cell_open, 0, m.start())
        head_end = xml.find(b">", start)
        ref = _CELL_REF.search(xml, start, head_end + 1) if start >= 0 else None
        if ref is None:
            return None
        r, c = int(ref.group(2)) - 1, _col_index(ref.group(1))
        tag_end = xml.find(b">", m.end())
        attrs = dict(_F_ATTR.findall(xml[m.end():tag_end]))
        if xml[tag_end - 1:tag_end] == b"/":
            text = ""
        else:
            close = xml.find(b"</", tag_end)
            text = unescape(xml[tag_end + 1:close].decode("utf-8"), {"&quot;": '"', "&apos;": "'"})
        if attrs.get(b"t") == b"shared":
            si = attrs.get(b"si", b"")
            if text:
                shared[si] = (text, f"{ref.group(1).decode()}{ref.group(2).decode()}")
            else:
                followers.append((r, c, si))
                continue
        if text:
            out[(r, c)] = "=" + text
    if followers:
        from openpyxl.formula.translate import Translator
        from openpyxl.utils import get_column_letter

        for r, c, si in followers:
            if si in shared:
                text, origin = shared[si]
                dest = f"{get_column_letter(c + 1)}{r + 1}"
                out[(r, c)] = Translator("=" + text, origin=origin).translate_formula(dest)
    return out


def _calamine() -> Any | None:
    try:
        import python_calamine
    except ImportError:
        return None
    return python_calamine


def _find_declared_crs(sheets: list[tuple[str, list[list[Any]]]]) -> str | None:
    """A 坐标系/CRS statement in metadata sheets: 'label | value' cells or 'label: value'."""
    def key(n: str) -> int:
        low = normalize_scalar(n) or ""
        return 0 if any(m in low.lower() for m in _META_SHEETS) else 1

    for _, grid in sorted(sheets, key=lambda s: key(s[0])):
        for i, row in enumerate(grid[:500]):
            for j, v in enumerate(row[:50]):
                if not isinstance(v, str):
                    continue
                text = normalize_scalar(v) or ""
                m = _CRS_LABEL.match(text)
                if not m:
                    continue
                val = m.group(1).strip(" :：=")
                if val:
                    return normalize_scalar(val)
                for cand in list(row[j + 1:j + 4]) + [r[j] if j < len(r) else None
                                                      for r in grid[i + 1:i + 2]]:
                    val = normalize_scalar(format_cell(cand)) if cand not in (None, "") else None
                    if val:
                        return val
    return None


def _sheet_names_calamine(wb: Any) -> tuple[list[str], list[str]]:
    meta = [m for m in wb.sheets_metadata if str(m.typ).rsplit(".", 1)[-1] == "WorkSheet"]
    names = [m.name for m in meta]
    visible = [m.name for m in meta if str(m.visible).rsplit(".", 1)[-1] == "Visible"]
    return names, visible or names


def _xlsx_calamine(path: Path, zf: zipfile.ZipFile, sheet: str | int | None, name: str
                   ) -> tuple[str, list[list[Any]], list[tuple[str, list[list[Any]]]]] | None:
    """(sheet name, grid from A1, other sheets) with python-calamine; formula cells get
    their formula text from the sheet XML.  ``None`` if that XML cannot be matched."""
    cal = _calamine()
    if cal is None:
        return None
    wb = cal.CalamineWorkbook.from_path(str(path))
    all_names, visible = _sheet_names_calamine(wb)
    if not all_names:
        raise InputFileError("the workbook has no worksheets", file=name)
    sheet_name = _pick_sheet(sheet, all_names, visible, name)
    part = _xlsx_sheet_paths(zf).get(sheet_name)
    if part is None or part not in zf.namelist():
        return None
    with zf.open(part) as fh:
        xml = fh.read()
    # Cheap byte test first: most exported sheets have no formula at all.
    has_f = (b"<f" in xml or b":f" in xml) and _F_TAG.search(xml) is not None
    formulas = _xlsx_formulas(xml) if has_f else {}
    if formulas is None:
        return None
    grid = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    for (r, c), text in formulas.items():
        while r >= len(grid):
            grid.append([])
        row = grid[r]
        if c >= len(row):
            row.extend([""] * (c + 1 - len(row)))
        row[c] = text
    others = [(n, wb.get_sheet_by_name(n).to_python(skip_empty_area=False, nrows=500))
              for n in all_names if n != sheet_name]
    return sheet_name, grid, others


def _xlsx_openpyxl(path: Path, sheet: str | int | None, name: str
                   ) -> tuple[str, list[list[Any]], list[tuple[str, list[list[Any]]]]]:
    """The same with openpyxl read-only (formulas as text, never evaluated; no macros)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_vba=False)
    try:
        all_names = list(wb.sheetnames)
        if not all_names:
            raise InputFileError("the workbook has no worksheets", file=name)
        visible = [n for n in all_names if wb[n].sheet_state == "visible"] or all_names
        sheet_name = _pick_sheet(sheet, all_names, visible, name)
        grid = [list(r) for r in wb[sheet_name].iter_rows(min_row=1, min_col=1, values_only=True)]
        others = [(n, [list(r) for r in wb[n].iter_rows(min_row=1, min_col=1, max_row=500,
                                                        values_only=True)])
                  for n in all_names if n != sheet_name]
    finally:
        wb.close()
    return sheet_name, grid, others


def read_xlsx(path: Path, sheet: str | int | None) -> RawTable:
    name = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputFileError(
            "this is not a valid .xlsx workbook (not a ZIP package); if it is a CSV or text "
            "export, rename it to .csv; if it is an old .xls, save it as .xlsx", file=name) from None
    with zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            raise InputFileError("this ZIP file is not an Excel workbook (no xl/workbook.xml)",
                                 file=name)
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            raise InputFileError(REFUSED_EXT[".xlsm"] + " (this .xlsx contains macros)", file=name)
        # Zip-bomb guard for every caller (CLI ingest does not pass through check_upload):
        # real inflated sizes, not the declared ones, bounded by the default access limits.

        check_xlsx_package(path, name=name, refuse_active_content=False)
        got = _xlsx_calamine(path, zf, sheet, name)
        sheet_name, grid, others = got if got is not None else _xlsx_openpyxl(path, sheet, name)
        part = _xlsx_sheet_paths(zf).get(sheet_name)
        valued = _valued_rows(zf, part) if part is not None and part in zf.namelist() else None
    cols, rows, blank, header_row = _table_from_grid(grid, name)
    frame = frame_from_arrow(cols, rows)
    notes = [f"the header is sheet row {header_row}; rows above it were skipped as titles"] \
        if header_row > 1 else []
    below = valued[valued > header_row] if valued is not None else None
    return RawTable(frame=frame, path=path, format="xlsx", encoding=None, sheet=sheet_name,
                    declared_crs=_find_declared_crs(others), blank_rows=blank, notes=notes,
                    file_records=(int(below.max()) - header_row if below.size else 0)
                    if below is not None else None)


_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*?)(/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?row>)", re.S)
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is|f)[\s>/]")


def _valued_rows(zf: zipfile.ZipFile, part: str) -> np.ndarray | None:
    """Sheet row numbers of the ``<row>`` elements that hold a value, an inline string or a formula,
    read from the sheet XML itself (independent of the workbook library); ``None`` when a row has no
    ``r`` number (then rows cannot be placed without the library)."""
    with zf.open(part) as fh:
        xml = fh.read()
    out = []
    for m in _ROW.finditer(xml):
        body = m.group(3)
        if not body or not _CELL_VALUE.search(body):
            continue
        num = _ROW_NUMBER.search(m.group(1))
        if num is None:
            return None
        out.append(int(num.group(1)))
    return np.asarray(out, dtype=np.int64)


def _pick_sheet(sheet: str | int | None, all_names: list[str], visible: list[str], name: str) -> str:
    if sheet is None or sheet == "":
        return visible[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.strip().isdigit()
                                  and sheet not in all_names):
        i = int(sheet)
        if 0 <= i < len(all_names):
            return all_names[i]
        raise InputFileError(f"sheet index {i} is out of range; the workbook has "
                             f"{len(all_names)} sheets: {', '.join(all_names)} (0-based)", file=name)
    if sheet in all_names:
        return sheet
    want = (normalize_scalar(sheet) or "").casefold()
    for n in all_names:
        if (normalize_scalar(n) or "").casefold() == want:
            return n
    raise InputFileError(f"no sheet named {sheet!r}; the workbook's sheets are: "
                         f"{', '.join(all_names)}", file=name)


