"""The Dask engine: same answers as the single-machine path, chunked reading, commits, counts, CLI."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.analysis.filters import EventFilter, apply_filter
from geo.analysis.hotcells import hotspot_cells
from geo.cli import main
from geo.ingest.quarantine import read_quarantine
from geo.ingest.readers import read_raw
from geo.scale import engine as scale
from geo.store.database import connect, read_events
from geo.store.workspace import load_workspace
from geo.synthetic.workspace import SAMPLE_FILES
from tests.conftest import simulated_sample

CHUNK_MB = 0.1  # the sample's CSVs (~0.5 MB) become several tasks each


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory):
    """A small simulated sample, ingested by the single-machine path into DuckDB."""
    return simulated_sample(tmp_path_factory.mktemp("scale") / "ws", seed=5, months=3, scale=0.25)


@pytest.fixture(scope="module")
def dask_ingest(sample_ws):
    """The same raw files through the Dask path, on a 2-process LocalCluster started here."""
    ws, _ = sample_ws
    client = scale.start_client("", workers=2, threads_per_worker=1, settings=ws.settings)
    assert len(client.scheduler_info()["workers"]) == 2
    try:
        report = scale.ingest_partitioned([(ws.root / "raw" / n, s) for n, s in SAMPLE_FILES], ws,
                                          client=client, chunk_mb=CHUNK_MB)
        hot = {tier: scale.scale_hotspots(ws, tier=tier, client=client).cells for tier in ("small", "middle")}
        peak = scale.scale_hotspots(ws, EventFilter(window="morning_peak", sources=("violation",)),
                                    client=client).cells
    finally:
        scale.close_client(client)
    return report, hot, peak


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    out = df.drop(columns=["ingest_id"]).sort_values("event_id").reset_index(drop=True)
    return out.astype({c: "string" for c in out.columns if isinstance(out[c].dtype, pd.StringDtype)})


def test_dask_path_stores_exactly_the_single_machine_events(sample_ws, dask_ingest):
    ws, reports = sample_ws
    report, _, _ = dask_ingest
    assert all(f["chunks"] >= 3 for f in report.files[:2]), "the CSVs must really be split"
    single = _comparable(read_events(ws.store_path))
    dask = _comparable(scale.read_store(scale.store_dir(ws)))
    assert len(single) > 5000
    pd.testing.assert_frame_equal(single, dask)
    # flags that depend on neighbours across chunk and month edges came out the same
    assert single["flags"].str.contains("near_duplicate").sum() > 5


def test_dask_path_reports_and_quarantines_exactly_like_single_machine(sample_ws, dask_ingest):
    _, reports = sample_ws
    report, _, _ = dask_ingest
    assert report.reconciles
    for single, dask in zip(reports, report.files, strict=True):
        assert Path(single.file).name == Path(dask["file"]).name
        assert (single.read, single.stored, single.duplicates, single.quarantined) == \
               (dask["read"], dask["stored"], dask["duplicates"], dask["quarantined"])
        assert single.by_reason == dask["by_reason"]
        assert single.flags == dask["flags"]
        assert single.located_by == dask["located_by"]
        pd.testing.assert_frame_equal(read_quarantine(single.quarantine_file), read_quarantine(dask["quarantine_file"]))


def test_dask_hotspot_tables_equal_single_machine(sample_ws, dask_ingest):
    ws, _ = sample_ws
    _, hot, peak = dask_ingest
    events = read_events(ws.store_path)
    for tier, cells in hot.items():
        expected = hotspot_cells(ws, events, tier=tier).cells
        pd.testing.assert_frame_equal(pd.DataFrame(expected.drop(columns="geometry")),
                                      pd.DataFrame(cells.drop(columns="geometry")))
        assert (expected["bin"] > 0).sum() > 0
    flt = EventFilter(window="morning_peak", sources=("violation",))
    expected = hotspot_cells(ws, events, flt).cells
    pd.testing.assert_frame_equal(pd.DataFrame(expected.drop(columns="geometry")),
                                  pd.DataFrame(peak.drop(columns="geometry")))


def test_store_is_partitioned_geoparquet_by_source_and_month(sample_ws, dask_ingest):
    import geopandas as gpd
    import pyarrow.parquet as pq

    ws, _ = sample_ws
    files = scale.committed_files(scale.store_dir(ws))
    assert {f.parent.parent.name for f in files} == {f"source={s}" for _, s in SAMPLE_FILES}
    assert {f.parent.name for f in files} == {"month=2024-03", "month=2024-04", "month=2024-05"}
    meta = json.loads(pq.read_metadata(files[0]).metadata[b"geo"])
    assert meta["primary_column"] == "geometry"
    gdf = gpd.read_parquet(files[0])
    assert np.allclose(gdf.geometry.x, gdf["lon"]) and np.allclose(gdf.geometry.y, gdf["lat"])
    local = gdf["occurred_at"].dt.tz_convert(ws.settings.timezone).dt.strftime("%Y-%m")
    assert (local == files[0].parent.name.split("=")[1]).all()
    summary = scale.store_summary(ws)
    assert summary["events"] == len(read_events(ws.store_path))


def test_cell_counts_equal_pandas_group_by(sample_ws, dask_ingest):
    ws, _ = sample_ws
    events = read_events(ws.store_path)
    flt = EventFilter(window="evening_peak", sources=("patrol", "hotline"), since=pd.Timestamp("2024-04-10").date())
    counts, first, last = scale.cell_counts(ws, "middle", flt)  # no client: this process
    expected = apply_filter(events, flt, ws.settings).groupby("h3_middle").size()
    assert counts.index.dtype == np.int64
    pd.testing.assert_series_equal(counts, expected.astype("int64"), check_names=False, check_index_type=False)
    assert first >= pd.Timestamp("2024-04-09T16:00", tz="UTC")


def test_reingest_is_all_duplicates_and_changed_content_is_a_conflict(sample_ws, dask_ingest, tmp_path):
    ws, _ = sample_ws
    store = tmp_path / "store"
    raw = ws.root / "raw" / "patrol.csv"
    first = scale.ingest_partitioned([(raw, "patrol")], ws, out_dir=store, chunk_mb=CHUNK_MB)
    again = scale.ingest_partitioned([(raw, "patrol")], ws, out_dir=store, chunk_mb=CHUNK_MB)
    f0, f1 = first.files[0], again.files[0]
    assert f1["stored"] == 0
    assert f1["duplicates"] == f0["stored"] + f0["duplicates"]
    assert f1["read"] == f1["stored"] + f1["duplicates"] + f1["quarantined"]
    # the same record id with other content
    text = raw.read_text(encoding="utf-8").splitlines()
    row = text[5].split(",")
    row[5] = row[5] + "（复核）"
    changed = tmp_path / "patrol_fix.csv"
    changed.write_text("\n".join([text[0], ",".join(row)]) + "\n", encoding="utf-8")
    third = scale.ingest_partitioned([(changed, "patrol")], ws, out_dir=store)
    f3 = third.files[0]
    assert (f3["stored"], f3["quarantined"], f3["by_reason"]) == (0, 1, {"duplicate_id_conflict": 1})
    assert len(scale.read_store(store)) == f0["stored"]


def test_a_crash_half_way_leaves_the_store_as_it_was(sample_ws, dask_ingest, tmp_path, monkeypatch):
    ws, _ = sample_ws
    store = tmp_path / "store"
    raw = ws.root / "raw"
    scale.ingest_partitioned([(raw / "snapshots.geojson", "snapshot")], ws, out_dir=store)
    before = scale.read_store(store)
    calls = {"n": 0}
    real = scale._write_chunk

    def dies_on_second(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("worker died")
        return real(*a, **kw)

    monkeypatch.setattr(scale, "_write_chunk", dies_on_second)
    with pytest.raises(MemoryError):
        scale.ingest_partitioned([(raw / "patrol.csv", "patrol")], ws, out_dir=store, chunk_mb=CHUNK_MB)
    pd.testing.assert_frame_equal(scale.read_store(store), before)
    # a commit that never happened: files moved but no record → invisible, and cleared by the next run
    monkeypatch.setattr(scale, "_write_chunk", real)
    monkeypatch.setattr(scale, "_write_commit_record", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        scale.ingest_partitioned([(raw / "patrol.csv", "patrol")], ws, out_dir=store, chunk_mb=CHUNK_MB)
    assert len(list(store.glob("source=patrol/*/*.parquet"))) > 0
    pd.testing.assert_frame_equal(scale.read_store(store), before)
    monkeypatch.undo()
    scale.ingest_partitioned([(raw / "snapshots.geojson", "snapshot")], ws, out_dir=store)
    assert not list(store.glob("source=patrol/*/*.parquet"))
    assert not list(store.glob(scale.STAGING_PREFIX + "*"))


def _ragged_csv(path: Path, encoding: str) -> None:
    lines = ["导出：12345工单 2024年3月", "", "工单编号,受理时间,经度,纬度,问题类型,诉求内容"]
    for i in range(400):
        text = f"\"第{i}条，含逗号\n和换行\"" if i % 7 == 0 else f"普通诉求{i}"
        if i % 50 == 3:
            lines.append(f"GD{i:05d},2024-03-01 08:00:00,116.37")  # ragged
            continue
        if i % 61 == 5:
            lines.append("")
        lines.append(f"GD{i:05d},2024-03-0{1 + i % 9} 08:{i % 60:02d}:00,116.37{i:03d},39.91{i:03d},占道经营,{text}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_chunks_read_exactly_what_the_whole_file_reads(tmp_path, encoding):
    path = tmp_path / "orders.csv"
    _ragged_csv(path, encoding)
    whole = read_raw(path)
    chunks = scale.plan_chunks([(path, "hotline")], chunk_bytes=2000)
    assert len(chunks) > 5
    parts = [scale.read_chunk(c) for c in chunks]
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole.frame.reset_index(drop=True))
    bad = pd.concat([p.bad_rows for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(bad, whole.bad_rows.reset_index(drop=True))
    assert frame["诉求内容"].str.contains("\n").sum() == sum(1 for i in range(400) if i % 7 == 0 and i % 50 != 3)
    assert {p.encoding for p in parts} == {whole.encoding}


def test_unclosed_quote_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "broken.csv"
    quote = '"'
    rows = [f"{i},2024-03-01 08:00,116.3,39.9,a,{quote + 'never closed' if i == 30 else 't'}" for i in range(200)]
    path.write_text("id,time,lon,lat,type,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(Exception, match="quot") as err:
        scale.plan_chunks([(path, "patrol")], chunk_bytes=500)
    assert "broken.csv" in str(err.value)


def test_scheduler_address_precedence(monkeypatch):
    from geo.settings import Settings

    s = Settings.model_validate({"scale": {"scheduler": "tcp://settings:8786"}})
    monkeypatch.delenv("GRIDWATCH_SCHEDULER", raising=False)
    assert scale.scheduler_address(None, Settings()) == ""
    assert scale.scheduler_address(None, s) == "tcp://settings:8786"
    monkeypatch.setenv("GRIDWATCH_SCHEDULER", "tcp://env:8786")
    assert scale.scheduler_address(None, s) == "tcp://env:8786"
    assert scale.scheduler_address("tcp://arg:8786", s) == "tcp://arg:8786"


def test_cli_scale_ingest_status_and_hotspots(sample_ws, dask_ingest, tmp_path, capsys):
    ws, _ = sample_ws
    store = tmp_path / "cli_store"
    raw = ws.root / "raw"
    assert main(["scale", "ingest", f"hotline={raw / 'hotline_12345.csv'}", f"violation={raw / 'violations.xlsx'}",
                 "--scheduler", "none", "--out-store", str(store), "--chunk-mb", "0.2", "-w", str(ws.root),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reconciles"] and doc["read"] == doc["stored"] + doc["duplicates"] + doc["quarantined"]
    assert main(["scale", "status", "--out-store", str(store), "-w", str(ws.root), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["events"] == doc["stored"] and set(status["by_source"]) == {"hotline", "violation"}
    out = tmp_path / "hot.csv"
    assert main(["scale", "hotspots", "--scheduler", "none", "--out-store", str(store), "--source", "violation",
                 "--out", str(out), "-w", str(ws.root), "--json"]) == 0
    hs = json.loads(capsys.readouterr().out)
    table = pd.read_csv(out)
    assert hs["events"] == table["count"].sum() > 0
    assert main(["scale", "ingest", str(raw / "patrol.csv"), "--scheduler", "none", "-w", str(ws.root)]) == 2
    assert "which source" in capsys.readouterr().err


def test_workspace_loads_on_workers(sample_ws):
    ws, _ = sample_ws
    assert scale._ws(str(ws.root)).settings == load_workspace(ws.root).settings


def test_ingest_does_not_touch_the_duckdb_store(sample_ws, dask_ingest):
    ws, reports = sample_ws
    with connect(ws.store_path, read_only=True) as con:
        n = con.execute("select count(*) from events").fetchone()[0]
    assert n == sum(r.stored for r in reports)


def test_a_second_ingest_into_the_same_store_is_refused_while_one_runs(sample_ws, tmp_path):
    from geo.errors import StoreError

    ws, _ = sample_ws
    store = tmp_path / "store"
    store.mkdir()
    with scale._store_lock(store), pytest.raises(StoreError, match="another ingest"):
        scale.ingest_partitioned([(ws.root / "raw" / "snapshots.geojson", "snapshot")], ws, out_dir=store)
    assert not scale.committed_files(store)


def test_columns_are_chosen_once_per_file_not_per_chunk(sample_ws, tmp_path):
    """Two time columns: the head of the file fills only 上报时间, later rows fill both.  Chosen per chunk,
    later chunks would silently read 发现时间 (five hours off); chosen once, every row reads 上报时间."""
    ws, _ = sample_ws
    n = 3000
    rng = np.random.default_rng(1)
    t = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, n), "s")
    other = (t + pd.Timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    other[: n // 2] = ""
    path = tmp_path / "two_times.csv"
    pd.DataFrame({"编号": [f"R{i}" for i in range(n)], "发现时间": other,
                  "上报时间": t.strftime("%Y-%m-%d %H:%M:%S"),
                  "经度": rng.uniform(116.34, 116.38, n).round(6), "纬度": rng.uniform(39.90, 39.93, n).round(6),
                  "问题类型": rng.choice(["占道经营", "堆物堆料"], n)}).to_csv(path, index=False)
    chunks = scale.pin_columns(scale.plan_chunks([(path, "patrol")], chunk_bytes=20_000), ws)
    assert len(chunks) > 5 and {c.columns.choices["occurred_at"].columns for c in chunks} == {("上报时间",)}
    store = tmp_path / "store"
    report = scale.ingest_partitioned([(path, "patrol")], ws, out_dir=store, chunk_mb=20_000 / (1 << 20))
    assert report.files[0]["stored"] == n
    assert report.files[0]["mapping"]["occurred_at"]["columns"] == ["上报时间"]
    assert any("columns chosen on the first" in w for w in report.files[0]["warnings"])
    got = scale.read_store(store, columns=["source_id", "occurred_at"]).set_index("source_id")["occurred_at"]
    want = pd.Series(t.tz_localize(ws.settings.timezone).tz_convert("UTC"), index=[f"R{i}" for i in range(n)])
    assert (got.sort_index() == want.sort_index().astype(got.dtype)).all()


def test_a_footer_row_of_a_chunked_csv_is_quarantined_as_in_the_single_machine_ingest(sample_ws, tmp_path):
    ws, _ = sample_ws
    n = 1500
    rng = np.random.default_rng(2)
    t = pd.Timestamp("2024-04-01") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), "s")
    frame = pd.DataFrame({"编号": [f"F{i}" for i in range(n)], "上报时间": t.strftime("%Y-%m-%d %H:%M:%S"),
                          "经度": rng.uniform(116.34, 116.38, n).round(6), "纬度": rng.uniform(39.90, 39.93, n).round(6),
                          "问题类型": rng.choice(["占道经营", "堆物堆料"], n)})
    path = tmp_path / "with_total.csv"
    path.write_text(frame.to_csv(index=False) + f"合计,{n},,,\n", encoding="utf-8")
    report = scale.ingest_partitioned([(path, "patrol")], ws, out_dir=tmp_path / "store", chunk_mb=15_000 / (1 << 20))
    assert report.chunks > 3
    assert report.files[0]["stored"] == n and report.files[0]["by_reason"] == {"footer_row": 1}
    assert report.files[0]["read"] == n + 1


def test_recode_categories_moves_events_in_the_partitioned_store(sample_ws, tmp_path):
    ws, _ = sample_ws
    n = 1200
    rng = np.random.default_rng(3)
    t = pd.Timestamp("2024-05-01") + pd.to_timedelta(rng.integers(0, 60 * 86400, n), "s")
    raw_cat = rng.choice(["占道经营", "Loud Music", "loud music", "堆物堆料"], n)
    path = tmp_path / "cats.csv"
    pd.DataFrame({"编号": [f"C{i}" for i in range(n)], "上报时间": t.strftime("%Y-%m-%d %H:%M:%S"),
                  "经度": rng.uniform(116.34, 116.38, n).round(6), "纬度": rng.uniform(39.90, 39.93, n).round(6),
                  "问题类型": raw_cat}).to_csv(path, index=False)
    store = tmp_path / "store"
    scale.ingest_partitioned([(path, "patrol")], ws, out_dir=store, chunk_mb=15_000 / (1 << 20))
    before = scale.read_store(store, columns=["source_id", "category", "category_raw"])
    moved = scale.recode_categories(store, "noise", [], ["Loud Music"])
    after = scale.read_store(store, columns=["source_id", "category", "category_raw"]).set_index("source_id")
    loud = after["category_raw"].str.lower() == "loud music"
    assert moved == int(loud.sum()) > 0
    assert (after.loc[loud, "category"] == "noise").all()
    untouched = before.set_index("source_id").loc[after.index[~loud], "category"]
    assert (after.loc[~loud, "category"] == untouched).all()
    assert scale.recode_categories(store, "noise", [], ["Loud Music"]) == 0  # again: nothing left to move
    # a whole code moves too
    assert scale.recode_categories(store, "street_vending", ["noise"], []) == moved
