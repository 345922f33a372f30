"""No output of the sample pipeline holds a raw phone number, ID number or plate (issue 12).

The sample generator plants raw mobiles and ID numbers in 12345 texts, caller
numbers in their own column and plates in the violation export.  The small
sample is ingested, every output format the CLI offers is written (events as
CSV/XLSX/GeoJSON/GeoParquet, hotspots, zones, posts, segments, trends, gaps,
forecast, review, grid tables), and the text of each — plus the quarantine
files, the CLI's printed output and the text of the app pages an analyst and
an administrator see — is scanned with :func:`geo.privacy.find_personal_data`.
The raw inputs are scanned too: they must be full of hits, or the scan proves
nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from geo.cli import main
from geo.ingest.pipeline import ingest_file
from geo.privacy import count_personal_data, find_personal_data
from geo.store.workspace import load_workspace
from geo.synthetic.workspace import SAMPLE_FILES
from tests.conftest import simulated_sample

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PASSWORD = "gw-test-pass-1"


# --- reading any output as text -----------------------------------------------------------------
def _strings(obj: object) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif obj is not None:
        yield str(obj)


def texts_of(path: Path) -> pd.Series:
    """Every text a user could see in an output file, one string per line / cell / value."""
    ext = path.suffix.lower()
    if ext in (".csv", ".txt", ".tsv"):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        return pd.Series(text.splitlines(), dtype="string")
    if ext in (".xlsx",):
        wb = openpyxl.load_workbook(path, read_only=True)
        cells = [ws.title for ws in wb.worksheets]
        cells += [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                  if v is not None]
        wb.close()
        return pd.Series(cells, dtype="string")
    if ext in (".geojson", ".json"):
        return pd.Series(list(_strings(json.loads(path.read_text(encoding="utf-8")))), dtype="string")
    if ext in (".parquet", ".geoparquet"):
        df = pd.read_parquet(path)
        # hex digests (keyed hashes, content hashes) hold digit runs a phone pattern can match by
        # chance, and cannot hold a raw value
        df = df.drop(columns=[c for c in df.columns if c == "geometry" or str(c).endswith("hash")])
        cols = [df[c].astype("string") for c in df.columns] + [pd.Series(list(map(str, df.columns)))]
        return pd.concat(cols, ignore_index=True).astype("string")
    raise AssertionError(f"no reader for {path}")


# A hex digest (a file's SHA-256 in the ingest log, the audit details and the JSON reports; keyed hashes)
# and the pseudonym that replaces a record id holding personal data ("pd-" + 20 hex digits of its keyed
# hash) hold digit runs that a phone pattern can match by chance (…413969… reads as the Shenyang landline
# 024-6413969, pd-14f8b1bd09240188499d as 0924-018-8499), and neither can hold a raw value: whole digests
# and pseudonyms are blanked before a scan, nothing else.
_HEX_DIGEST = r"(?<![0-9A-Za-z])(?:[0-9a-f]{32,}|pd-[0-9a-f]{20})(?![0-9A-Za-z])"


def _without_digests(texts: pd.Series) -> pd.Series:
    return texts.dropna().astype("string").str.replace(_HEX_DIGEST, "<digest>", regex=True)


def leaks(texts: pd.Series) -> list[str]:
    """Texts holding an unmasked phone, ID number or plate (first five)."""
    texts = texts.dropna()
    return texts[find_personal_data(_without_digests(texts)).to_numpy()].head(5).tolist()


def test_leak_scan_skips_whole_digests_only():
    digest = "3a0246413969f2127e7e1111ab04e509711f02d95897950e609438e678b98273"  # a real CI false positive
    pseudonym = "patrol:pd-14f8b1bd09240188499d"  # another one: a record id replaced by its keyed hash
    texts = pd.Series([f'{{"file_sha256":"{digest}"}}', pseudonym, "来电 024-6413969", f"{digest}:13812345678",
                       "pd-13812345678"], dtype="string")
    assert find_personal_data(texts.head(2)).all()  # the product's scan flags both ...
    assert leaks(texts) == texts.tail(3).tolist()  # ... the output scan does not, and still sees phones


EXTRA_HOTLINE = """工单编号,受理时间,诉求类别,诉求内容,诉求地址,经度,纬度,来电号码,办结时间,办理状态
GDX001,2024-03-05 09:00:00,违法停放,来电人身份证号110105194912310021，车牌京N·8A8F8长期占道,西城区德胜门外大街1号,116.3790,39.9450,+86 139-1234-5678,,处理中
GDX002,2024-03-06 10:00:00,违法停放,"电话13612345678，身份证11010519850307123X，车辆京AD12345",,116.3750,39.9300,010-62345678,,处理中
GDX003,2024-03-07 11:00:00,违法停放,老身份证110105491231002 座机电话 8234 5678,,116.3700,39.9200,13712345678,,处理中
GDX004,,违法停放,来电人身份证号110105194912310021 电话13812345678 车牌京B67890,,116.3700,39.9200,13812345678,,处理中
"""
SECRETS = ("110105194912310021", "1234-5678", "13612345678", "11010519850307123X", "京AD12345",
           "110105491231002", "8234 5678", "13712345678", "13812345678", "京B67890", "62345678")


# --- the sample and its outputs --------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(workspace root, output folder, CLI stdout per command) for a small ingested sample."""
    root = tmp_path_factory.mktemp("privacy") / "ws"
    simulated_sample(root, seed=7, months=2, scale=0.05)
    # every kind in every place, also in a row that goes to quarantine (no time)
    extra = root / "raw" / "extra_hotline.csv"
    extra.write_text(EXTRA_HOTLINE, encoding="utf-8")
    report = ingest_file(extra, "hotline", load_workspace(root), crs="WGS84")
    assert (report.stored, report.quarantined) == (3, 1)
    out = root.parent / "out"
    w = ["--workspace", str(root)]
    commands = {
        "export_csv": ["export", "--out", str(out / "events.csv")],
        "export_xlsx": ["export", "--out", str(out / "events.xlsx")],
        "export_geojson": ["export", "--out", str(out / "events.geojson")],
        "export_parquet": ["export", "--out", str(out / "events.parquet")],
        "hotspots": ["hotspots", "--inference", "analytic", "--out", str(out / "hotspots.geojson")],
        "hotspots_csv": ["hotspots", "--inference", "analytic", "--tier", "middle", "--out", str(out / "hot.csv")],
        "zones": ["zones", "--out", str(out / "zones.geojson")],
        "posts": ["posts", "--p", "5", "--solver", "greedy", "--out", str(out / "posts.xlsx")],
        "posts_geojson": ["posts", "--p", "5", "--solver", "greedy", "--out", str(out / "posts.geojson")],
        "segments": ["segments", "--staff", "10", "--out", str(out / "segments.csv")],
        "trends": ["trends", "--tier", "middle", "--min-slices", "4", "--out", str(out / "trends.csv")],
        "gaps": ["gaps", "--out", str(out / "gaps.csv")],
        "forecast": ["forecast", "--tier", "middle", "--model", "last_week", "--out", str(out / "forecast.csv")],
        "review": ["review", "--problems", str(out / "problems.xlsx")],
        "review_csv": ["review", "--problems", str(out / "problems.csv")],
        "profile": ["grid", "profile", "--by", "ranking", "--out", str(out / "ranking.xlsx")],
        "crosswalk": ["grid", "crosswalk", "--tier", "middle", "--out", str(out / "crosswalk.csv")],
        "status": ["status"],
    }
    printed = {}
    for key, argv in commands.items():
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            code = main(argv + w)
        assert code == 0, (key, err.getvalue())
        printed[key] = buf.getvalue() + err.getvalue()
    return root, out, printed


def test_the_raw_inputs_are_full_of_personal_data(sample):
    # without this the scans below could pass by scanning nothing
    root, _, _ = sample
    counts = {name: int(count_personal_data(texts_of(root / "raw" / name)).sum()) for name, _ in SAMPLE_FILES}
    assert counts["hotline_12345.csv"] > 100  # caller numbers and numbers/IDs inside texts
    assert counts["violations.xlsx"] > 100  # plates
    assert leaks(texts_of(root / "raw" / "hotline_12345.csv"))  # the scan used below finds them
    extra = texts_of(root / "raw" / "extra_hotline.csv")
    assert len(leaks(extra)) == 4 and int(count_personal_data(extra).sum()) >= len(SECRETS)
    kinds = texts_of(root / "raw" / "hotline_12345.csv")
    assert kinds.str.contains(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", regex=True).any()
    assert texts_of(root / "raw" / "violations.xlsx").str.contains(r"^京[A-Z][0-9A-Z]{5,6}$", regex=True).any()


def test_every_cli_output_file_is_free_of_personal_data(sample):
    _, out, _ = sample
    files = sorted(p for p in out.iterdir() if p.is_file())
    suffixes = {p.suffix for p in files}
    assert {".csv", ".xlsx", ".geojson", ".parquet"} <= suffixes
    assert len(files) >= 15
    found = {p.name: leaks(texts_of(p)) for p in files}
    assert {k: v for k, v in found.items() if v} == {}
    verbatim = {p.name: [x for x in SECRETS if texts_of(p).str.contains(x, regex=False).any()] for p in files}
    assert {k: v for k, v in verbatim.items() if v} == {}
    # the event exports really carry the masked forms (the columns were not just dropped)
    events = pd.read_csv(out / "events.csv", encoding="utf-8-sig", dtype=str)
    masked = events.filter(like="masked")
    assert masked.notna().any().any()
    assert events["text"].str.contains(r"\*\*\*\*", regex=True).any()


def test_quarantine_files_are_free_of_personal_data(sample):
    root, _, _ = sample
    from geo.store.workspace import load_workspace

    files = sorted(load_workspace(root).quarantine_dir.glob("*.csv"))
    assert files, "the sample plants dirt: some rows must be quarantined"
    assert any("extra_hotline" in p.name for p in files)
    found = {p.name: leaks(texts_of(p)) for p in files}
    assert {k: v for k, v in found.items() if v} == {}
    text = "\n".join("\n".join(texts_of(p).dropna()) for p in files)
    assert [x for x in SECRETS if x in text] == []
    assert "110105********0021" in text and "138****5678" in text  # masked, not dropped


def test_the_cli_prints_no_personal_data(sample):
    _, _, printed = sample
    found = {k: leaks(pd.Series(v.splitlines(), dtype="string")) for k, v in printed.items()}
    assert {k: v for k, v in found.items() if v} == {}


# --- the app pages ------------------------------------------------------------------------------
_STREAMLIT_ID = re.compile(r'^\s*(deferred_file_id|id): "[^"]*"$')


def _page_texts(at) -> pd.Series:  # type: ignore[no-untyped-def]
    """All text an AppTest run shows: every element's protobuf (as UTF-8 text) and every table's cells."""
    from google.protobuf import text_format

    texts: list[str] = []

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            texts.extend(text_format.MessageToString(proto, as_utf8=True).splitlines())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    # Streamlit's own random ids (a download's deferred_file_id is 32 hex digits) are not page text and can
    # hold a digit run shaped like a landline by chance
    texts = [t for t in texts if not _STREAMLIT_ID.match(t)]
    for df in at.dataframe:
        value = df.value
        texts.extend(map(str, value.columns))
        for col in value.columns:
            texts.extend(value[col].astype("string").dropna().tolist())
    return pd.Series(texts, dtype="string")


def _app_pages() -> list[tuple[str, str]]:
    pages = [("app_pages/overview.py", "analyst"), ("app_pages/hotspots.py", "analyst"),
             ("app_pages/planner.py", "analyst"), ("app_pages/intake.py", "admin")]
    if (ROOT / "app_pages" / "events.py").exists():
        pages.append(("app_pages/events.py", "analyst"))
    return pages


@pytest.fixture(scope="module")
def app_workspace(sample) -> Iterator[Path]:
    root, _, _ = sample
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDWATCH_ARGON2_PROFILE", "test")
        mp.setenv("GRIDWATCH_WORKSPACE", str(root))
        from geo.access import auth
        from geo.store.workspace import load_workspace

        ws = load_workspace(root)
        for role in ("analyst", "admin"):
            auth.add_user(ws, role, role, PASSWORD, display_name=f"测试{role}", actor="test")
        yield root


@pytest.mark.parametrize(("page", "role"), _app_pages())
def test_app_pages_show_no_personal_data(app_workspace, page, role):
    from streamlit.testing.v1 import AppTest

    from geo.app import session

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[session.USER_KEY] = {"username": role, "role": role, "display_name": ""}
    at.session_state[session.LAST_SEEN_KEY] = time.time()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _page_texts(at)
    assert len(texts) > 20  # the page rendered something to scan
    assert leaks(texts) == []


# --- issue 21: personal data planted in EVERY column of EVERY source file -------------------------------
# Each value below is one person's number written a different way; RAW_FORMS are what must never appear
# in any output, CANONICAL what must not appear even once separators are taken out (an independent check:
# it does not use the scrubber's own patterns).
PLANTS = ("13987654321", "139.8765.4321", "139 8765 4321", "+86 139-8765-4321",
          "320102198807153216", "320102 19880715 3216", "3201 0219 8807 1532 16",
          "苏A9K8J7", "苏A·9K8J7", "025.8765.4321")
CANONICAL = ("13987654321", "320102198807153216", "苏A9K8J7", "02587654321")


def _plant_frame(df: pd.DataFrame, stride: int = 7) -> pd.DataFrame:
    """Every column gets every planted form, each in its own rows (the rows differ per column)."""
    df = df.astype(object).copy()
    cols = [c for c in df.columns if c != "geometry"]
    n = len(df)
    for j, col in enumerate(cols):
        for k, plant in enumerate(PLANTS):
            row = (j * len(PLANTS) + k) * stride % n
            value = df.iat[row, df.columns.get_loc(col)]
            # the first form replaces the value (a category of only a phone number is kept as 'other' and
            # echoed in the ingest report), the others are appended to it
            kept = "" if k == 0 or pd.isna(value) else value
            df.iat[row, df.columns.get_loc(col)] = f"{kept} {plant}".strip()
    return df


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    """A sample CSV as text and its encoding (the 12345 export is GBK, as the real one)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"cannot decode {path}")


def plant_everywhere(raw: Path) -> dict[str, int]:
    """Rewrite each sample export in its own format with :data:`PLANTS` in every column; cells planted per file."""
    import geopandas as gpd

    planted = {}
    for name, _ in SAMPLE_FILES:
        path = raw / name
        if path.suffix == ".csv":
            df, enc = _read_csv(path)
            _plant_frame(df).to_csv(path, index=False, encoding=enc)
        elif path.suffix == ".xlsx":
            df = pd.read_excel(path, dtype=str)
            _plant_frame(df).to_excel(path, index=False)
        else:
            gdf = gpd.read_file(path)
            out = _plant_frame(pd.DataFrame(gdf.drop(columns="geometry")))
            gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs).to_file(path, driver="GeoJSON")
            df = gdf
        planted[name] = len([c for c in df.columns if c != "geometry"]) * len(PLANTS)
    return planted


def canonical_leaks(texts: pd.Series) -> list[str]:
    """Texts holding a planted value once spaces, dots, hyphens, middle dots and ``+86`` are taken out."""
    flat = _without_digests(texts).str.replace(r"\+86|[\s.\-·]", "", regex=True)
    hit = pd.Series(False, index=flat.index)
    for c in CANONICAL:
        hit |= flat.str.contains(c, regex=False).fillna(False)
    return texts.dropna()[hit.to_numpy()].head(5).tolist()


def _all_leaks(texts: pd.Series) -> list[str]:
    return leaks(texts) + canonical_leaks(texts)


def _store_texts(store: Path) -> dict[str, pd.Series]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            df = con.execute(f'SELECT * FROM "{table}"').df()
            # hex digests (keyed hashes, content hashes, the audit chain) hold digit runs a phone
            # pattern can match by chance, and cannot hold a raw value
            cols = [df[c].map(lambda v: None if v is None else str(v)).astype("string") for c in df.columns
                    if not str(c).endswith("hash")]
            out[table] = pd.concat(cols, ignore_index=True) if cols else pd.Series([], dtype="string")
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A small workspace whose every source file holds personal data in every column, ingested by the CLI
    (single-machine and scale engines), exported in every format and reviewed; all outputs collected."""
    import logging

    from geo.synthetic.sample import write_sample
    from tests.conftest import copy_sample_geography

    root = tmp_path_factory.mktemp("planted") / "ws"
    copy_sample_geography(root)
    write_sample(root / "raw", seed=11, months=1, scale=0.03)
    planted_cells = plant_everywhere(root / "raw")
    out = root.parent / "out"
    w = ["--workspace", str(root)]
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    previous = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    printed: dict[str, str] = {}

    def run(key: str, argv: list[str]) -> None:
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            code = main(argv + w)
        assert code == 0, (key, buf.getvalue()[-2000:], err.getvalue()[-2000:])
        printed[key] = buf.getvalue() + err.getvalue()

    try:
        for name, source in SAMPLE_FILES:
            run(f"ingest_{name}", ["ingest", str(root / "raw" / name), "--source", source])
            run(f"ingest_json_{name}", ["ingest", str(root / "raw" / name), "--source", source, "--json"])
        scale_store = root.parent / "scale_store"
        run("scale_ingest", ["scale", "ingest", *[f"{s}={root / 'raw' / n}" for n, s in SAMPLE_FILES],
                             "--scheduler", "none", "--out-store", str(scale_store), "--json"])
        run("scale_ingest_text", ["scale", "ingest", *[f"{s}={root / 'raw' / n}" for n, s in SAMPLE_FILES],
                                  "--scheduler", "none", "--out-store", str(scale_store)])
        for ext in ("csv", "xlsx", "geojson", "parquet"):
            run(f"export_{ext}", ["export", "--out", str(out / f"events.{ext}")])
        run("review", ["review", "--problems", str(out / "problems.xlsx")])
        run("review_csv", ["review", "--problems", str(out / "problems.csv")])
        run("review_json", ["review", "--json"])
        run("status", ["status"])
        run("status_json", ["status", "--json"])
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(previous)
    printed["log"] = log.getvalue()
    return {"root": root, "out": out, "printed": printed, "scale": scale_store, "planted": planted_cells}


def test_planted_sources_really_hold_personal_data_in_every_column(planted):
    # the scans below must have something to find: every column of every file holds every planted form
    root = planted["root"]
    for name, _ in SAMPLE_FILES:
        texts = texts_of(root / "raw" / name)
        joined = "\n".join(texts.dropna())
        assert all(p in joined for p in PLANTS), name
        assert len(canonical_leaks(texts)) > 0 and len(leaks(texts)) > 0
    assert sum(planted["planted"].values()) >= 4 * 5 * len(PLANTS)


def test_planted_personal_data_reaches_no_stored_table(planted):
    ws = load_workspace(planted["root"])
    tables = _store_texts(ws.store_path)
    assert {"events", "ingests"} <= set(tables)
    found = {t: _all_leaks(v) for t, v in tables.items()}
    assert {t: v for t, v in found.items() if v} == {}
    # the planted values are there, masked (the columns were scrubbed, not dropped)
    events = "\n".join(tables["events"].dropna())
    assert "139****4321" in events and "320102********3216" in events and "苏A·***J7" in events


def test_planted_personal_data_reaches_no_export_review_or_quarantine_file(planted):
    ws = load_workspace(planted["root"])
    files = sorted(p for p in planted["out"].iterdir() if p.is_file())
    files += sorted(ws.quarantine_dir.glob("*.csv"))
    assert {".csv", ".xlsx", ".geojson", ".parquet"} <= {p.suffix for p in files}
    assert any(p.parent == ws.quarantine_dir for p in files)
    found = {p.name: _all_leaks(texts_of(p)) for p in files}
    assert {k: v for k, v in found.items() if v} == {}
    for p in files:  # files at rest: owner only
        assert p.stat().st_mode & 0o077 == 0, p


def test_planted_personal_data_reaches_no_scale_store_file(planted):
    files = [p for p in planted["scale"].rglob("*") if p.is_file() and p.suffix in (".json", ".parquet", ".csv")]
    assert any(p.suffix == ".json" for p in files) and any(p.suffix == ".parquet" for p in files)
    found = {str(p.relative_to(planted["scale"])): _all_leaks(texts_of(p)) for p in files}
    assert {k: v for k, v in found.items() if v} == {}
    assert planted["scale"].stat().st_mode & 0o077 == 0


def test_planted_personal_data_reaches_no_cli_line_json_or_log(planted):
    printed = planted["printed"]
    # the lines that echo raw category values are there, and they name the planted ones masked
    echoed = [line for k, v in printed.items() if k.startswith("ingest_") for line in v.splitlines()
              if "kept as 'other' category" in line or "workspace categories" in line]
    assert echoed and any("4321" in line for line in echoed), echoed
    reports = [json.JSONDecoder().raw_decode(printed[f"ingest_json_{n}"])[0] for n, _ in SAMPLE_FILES]
    assert all(r["read"] > 0 for r in reports)  # the --json output is the report, scanned above
    found = {k: _all_leaks(pd.Series(v.splitlines(), dtype="string")) for k, v in printed.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_sample_s_own_columns_are_not_scrubbed(tmp_path):
    """Known answer for false positives: in the unplanted sample, the scrub changes no cell of the id, time,
    coordinate, category, address or status columns (only texts, caller numbers and plates hold PII)."""
    from geo.privacy import scrub_frame
    from geo.synthetic.sample import write_sample

    write_sample(tmp_path, seed=11, months=1, scale=0.03)
    pii_columns = {"问题描述", "诉求内容", "来电号码", "号牌号码"}
    for name, _ in SAMPLE_FILES:
        path = tmp_path / name
        if path.suffix == ".csv":
            df = _read_csv(path)[0]
        elif path.suffix == ".xlsx":
            df = pd.read_excel(path, dtype=str)
        else:
            import geopandas as gpd

            df = pd.DataFrame(gpd.read_file(path).drop(columns="geometry")).astype("string")
        # the scrub folds full-width digits as the ingest's NFKC normalisation does: compare folded values
        df = df.astype("string").apply(lambda c: c.str.normalize("NFKC"))
        scrubbed = scrub_frame(df)
        changed = {c for c in df.columns if not scrubbed[c].fillna("").equals(df[c].fillna(""))}
        assert changed <= pii_columns, (name, changed - pii_columns)
        assert len(df) > 20
