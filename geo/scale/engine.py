"""City scale: ingest on Dask into a partitioned GeoParquet event store, count on Dask.

A city-level 12345 centre takes ~2e7 requests a year; that does not fit the
one-transaction, one-process ingest of :mod:`geo.ingest.pipeline`.  This module runs the
SAME per-file unit, :func:`geo.ingest.pipeline.prepare_events`, on chunks of the inputs
as Dask tasks and writes a GeoParquet store partitioned by source and month::

    <workspace>/events_parquet/
        source=hotline/month=2024-03/<ingest_id>--f0000-c00012.parquet   events (GeoParquet 1.1, GeoArrow points)
        _ids/b007/<ingest_id>.parquet                              event_id/content_hash index, by hash bucket
        _commits/<ingest_id>.json                                  the ingest's report: it is committed

The steps (each a set of tasks; nothing ever holds more than a chunk, a hash
bucket or a source-month in memory):

1. **plan** — every CSV is cut into byte ranges of ``scale.chunk_mb`` at
   record boundaries (quote-aware, so a newline inside a quoted field never
   splits a record; GBK and UTF-8 never use the bytes ``\\n`` or ``"`` inside a
   character); XLSX/GeoJSON/Parquet files are one task each.
2. **prepare** — a task per chunk reads its range (header prepended), runs
   ``prepare_events`` and ``validate_events``, and stages the events plus two
   slim key tables: by hash bucket of ``event_id`` and by source-month.
3. **dedupe** — a task per bucket: the first occurrence in input order is
   kept; a repeat with the same content is a duplicate, with other content an
   id conflict (quarantined) — within the run and against the store's index.
4. **near duplicates** — a task per source-month, per input file (as the
   single-machine path does), with the previous month's tail so a month edge
   changes nothing.
5. **write** — a task per chunk drops, flags, numbers rows as in the file and
   writes GeoParquet files into a staging folder.
6. **commit** — the driver moves the files into the store and writes the
   commit record last.  Readers list only committed ingests, so a crash at any
   point leaves the store as it was (the next run clears the leftovers).

Counts per cell are a distributed group-by on the int64 H3 columns
(:func:`cell_counts`); Gi* then runs on the aggregated cells
(:func:`scale_hotspots` → :func:`geo.analysis.hotcells.hotspot_table`), exactly as on
one machine.

The scheduler: ``LocalCluster`` by default (``scale.workers`` processes ×
``scale.threads_per_worker`` threads), or a running cluster given by
``--scheduler tcp://host:8786`` / ``GRIDWATCH_SCHEDULER`` / ``scale.scheduler``.
On a multi-machine cluster every worker must see the workspace and the inputs
at the same path (a shared file system); see docs/scale.md.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from geo.analysis.filters import EventFilter
from geo.errors import InputFileError, StoreError
from geo.ingest.pipeline import Progress, Stopwatch
from geo.settings import SOURCES, TIERS, Settings
from geo.store.database import arrow_types_mapper
from geo.store.files import private_dir, private_umask
from geo.store.workspace import Workspace, load_workspace

COMMITS = "_commits"
IDS = "_ids"
STAGING_PREFIX = ".staging-"
_ROW_KEYS = ["_file", "_chunk", "_order"]
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_SCAN_BLOCK = 16 << 20


# --------------------------------------------------------------------------- cluster


def scheduler_address(scheduler: str | None = None, settings: Settings | None = None) -> str:
    """The scheduler to use: the argument, else ``GRIDWATCH_SCHEDULER``, else ``scale.scheduler`` ("" = local)."""
    return (scheduler or os.environ.get("GRIDWATCH_SCHEDULER", "")
            or (settings.scale.scheduler if settings is not None else "")).strip()


def start_client(scheduler: str | None = None, *, workers: int | None = None,
                 threads_per_worker: int | None = None, settings: Settings | None = None,
                 processes: bool = True) -> Any:
    """A ``distributed.Client``: to a running scheduler, or on a new ``LocalCluster``.

    Parameters
    ----------
    scheduler : str, optional
        ``tcp://host:8786`` of a running cluster; default ``GRIDWATCH_SCHEDULER``
        or ``settings.scale.scheduler``; empty starts a local cluster.
    workers, threads_per_worker : int, optional
        Local cluster shape; default ``settings.scale`` (0 workers = one per core).
    processes : bool
        Local workers as processes (default: the text steps of ingest hold the GIL).

    The caller closes the client (``client.close()``; a local cluster closes with it).
    """
    from distributed import Client, LocalCluster

    settings = settings or Settings()
    address = scheduler_address(scheduler, settings)
    if address:
        try:
            return Client(address, timeout="20s")
        except OSError as exc:
            raise InputFileError(f"cannot reach the Dask scheduler at {address}: {exc}; start it with "
                                 "`dask scheduler` (and `dask worker ADDRESS` on each machine) or leave "
                                 "--scheduler out for a local cluster") from None
    n = workers if workers is not None else settings.scale.workers
    n = n or os.cpu_count() or 1
    threads = threads_per_worker or settings.scale.threads_per_worker
    with _plain_main():
        cluster = LocalCluster(n_workers=n, threads_per_worker=threads, processes=processes,
                               dashboard_address=":0", host="127.0.0.1", memory_limit=0)
    client = Client(cluster)
    client._gridwatch_owns_cluster = cluster  # closed together with the client
    return client


@contextmanager
def _plain_main() -> Iterator[None]:
    """Start worker processes without re-running the caller's ``__main__`` script.

    Worker processes are spawned, and spawn re-imports the parent's main script
    by path; under Streamlit (or a test runner that ran one) that script is an
    app, not an import-safe module.
    """
    import sys
    import types

    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None or not getattr(main, "__file__", None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def close_client(client: Any) -> None:
    """Close a client from :func:`start_client` and the local cluster it started."""
    cluster = getattr(client, "_gridwatch_owns_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _run(client: Any, fn: Callable[..., Any], items: Sequence[Any], **kw: Any) -> list[Any]:
    if client is None:
        return [fn(item, **kw) for item in items]
    # Tables and lookups go to the workers once, not once per task.
    kw = {k: client.scatter([v], broadcast=True, hash=False)[0] if isinstance(v, pd.DataFrame | dict) else v
          for k, v in kw.items()}
    return client.gather(client.map(fn, list(items), pure=False, **kw))


# --------------------------------------------------------------------------- store layout


def store_dir(ws: Workspace, out_dir: str | Path | None = None) -> Path:
    """The partitioned store of a workspace (``scale.store_dir``, relative to the workspace)."""
    if out_dir is not None:
        return Path(out_dir)
    return ws.root / ws.settings.scale.store_dir


def committed_ingests(root: str | Path) -> list[dict[str, Any]]:
    """The commit records of a store, oldest first."""
    folder = Path(root) / COMMITS
    if not folder.exists():
        return []
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    return sorted(docs, key=lambda d: d["committed_at"])


def committed_files(root: str | Path, *, sources: Sequence[str] | None = None,
                    since: date | None = None, until: date | None = None) -> list[Path]:
    """Event files of committed ingests, pruned by source and month from their paths."""
    root = Path(root)
    ids = {d["ingest_id"] for d in committed_ingests(root)}
    out = []
    for p in sorted(root.glob("source=*/month=*/*.parquet")):
        if p.name.split("--")[0] not in ids:
            continue
        source = p.parent.parent.name.split("=", 1)[1]
        month = p.parent.name.split("=", 1)[1]
        if sources and source not in sources:
            continue
        if since and month < since.strftime("%Y-%m"):
            continue
        if until and month > until.strftime("%Y-%m"):
            continue
        out.append(p)
    return out


def read_store(root: str | Path, *, columns: Sequence[str] | None = None,
               sources: Sequence[str] | None = None) -> pd.DataFrame:
    """Committed events as one DataFrame in the event schema (for tests and small stores)."""
    from geo.store.schema import EVENT_COLUMNS, conform_events, empty_events

    files = committed_files(root, sources=sources)
    if not files:
        return empty_events() if columns is None else empty_events()[list(columns)]
    cols = list(columns) if columns is not None else list(EVENT_COLUMNS)
    # The source/month folders are for pruning; the files hold every column themselves.
    table = ds.dataset([str(f) for f in files], format="parquet", partitioning=None).to_table(columns=cols)
    df = table.to_pandas(types_mapper=arrow_types_mapper)
    return conform_events(df) if columns is None else df


def recode_categories(root: str | Path, target: str, codes: Sequence[str], raw_values: Sequence[str]) -> int:
    """Move events of ``codes`` (or with a raw value in ``raw_values``) to category ``target`` in the store.

    What :func:`geo.store.categories.merge_categories` does to the DuckDB store, done to the
    partitioned one: each event file holding such an event is rewritten (a new file
    under a temporary name, then renamed over the old one), under the store's ingest
    lock.  Safe to run again after a crash half-way: the files already rewritten have
    nothing left to move.

    Returns
    -------
    int
        Events whose category changed.
    """
    root = Path(root)
    if not root.exists():
        return 0
    codes_a = pa.array(list(codes), type=pa.string())
    raws_a = pa.array([str(v).lower() for v in raw_values], type=pa.string())  # as utf8_lower below
    moved = 0
    with _store_lock(root):
        for path in committed_files(root):
            table = pq.read_table(path)
            category = table.column("category")
            hit = pc.or_(pc.is_in(category, value_set=codes_a),
                         pc.fill_null(pc.is_in(pc.utf8_lower(table.column("category_raw")), value_set=raws_a),
                                      False))
            hit = pc.and_(hit, pc.not_equal(category, pa.scalar(target, category.type)))
            n = pc.sum(hit).as_py() or 0
            if not n:
                continue
            new = pc.if_else(hit, pa.scalar(target, category.type), category)
            table = table.set_column(table.schema.get_field_index("category"), table.schema.field("category"), new)
            tmp = path.with_name(path.name + ".recode.tmp")
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, path)
            moved += int(n)
    return moved


def _clear_leftovers(root: Path) -> None:
    """Remove staging folders and files of ingests that never committed (a crash)."""
    ids = {d["ingest_id"] for d in committed_ingests(root)}
    for p in root.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in list(root.glob("source=*/month=*/*.parquet")) + list(root.glob(f"{IDS}/*/*.parquet")):
        ingest = p.name.split("--")[0] if p.parent.name.startswith("month=") else p.stem
        if ingest not in ids:
            p.unlink()


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Chunk:
    """One ingest task: a byte range of a CSV (``start``/``end``) or a whole file (``end = -1``)."""

    file_seq: int
    chunk: int
    path: str
    source: str
    start: int = 0
    end: int = -1
    row_offset: int = 0
    """Added to the chunk's row numbers (header = 1) to give the row numbers of the file."""
    header: bytes = b""
    """The raw header line prepended to a range that does not start the file."""
    encoding: str | None = None
    delimiter: str | None = None
    crs: str | None = None
    mapping_file: str | None = None
    columns: Any = None
    """The file's column choice (:class:`geo.ingest.mapping.MappingResult`), made once on its head."""


@dataclass(frozen=True)
class _Block:
    quotes: int
    records: tuple[int, int]       # record ends in the block, if it starts outside / inside quotes
    first_end: tuple[int, int]     # offset after the first record end (-1: none)


def _scan_block(path: str, start: int, end: int) -> _Block:
    """Quotes and record-ending newlines of one byte range (for both possible quote states at its start)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = np.frombuffer(fh.read(end - start), dtype=np.uint8)
    is_quote = buf == 34
    n_quotes = int(np.count_nonzero(is_quote))
    newlines = np.flatnonzero(buf == 10)
    if n_quotes == 0:
        ends = (newlines, newlines[:0])
    else:
        # Quote parity before each byte, modulo 2 (a uint8 cumsum wraps at 256: parity survives).
        parity = (np.cumsum(is_quote, dtype=np.uint8) & 1)[newlines]
        ends = (newlines[parity == 0], newlines[parity == 1])
    return _Block(n_quotes, (len(ends[0]), len(ends[1])),
                  tuple(int(e[0]) + 1 + start if len(e) else -1 for e in ends))  # type: ignore[arg-type]


def _csv_head(path: Path, encoding: str | None, delimiter: str | None) -> tuple[int, bytes, str, str]:
    """Where the data of a CSV starts: (offset after the header line, header bytes, encoding, delimiter)."""
    from geo.ingest import csvscan, textencoding

    with open(path, "rb") as fh:
        head = fh.read(textencoding.SAMPLE_BYTES)
    name = str(path)
    if encoding:
        enc = textencoding.normalize_encoding(encoding, name)
    else:
        enc = textencoding.detect_bytes(head, name, verify=False, sample_only=True)
    bom = len(textencoding.BOM_UTF8) if head.startswith(textencoding.BOM_UTF8) else 0
    text = head[bom:].decode("gb18030" if enc == "gb18030" else "utf-8", errors="ignore")
    pos = bom
    m = csvscan.LEADING_BLANK.match(head[pos:])
    if m:
        pos += m.end()
    sniff = csvscan.sniff_best(text, "\t" if path.suffix.lower() in {".tsv", ".tab"} else None)
    delim = csvscan.normalize_delimiter(delimiter, name) if delimiter else sniff.delimiter
    for _ in range(sniff.preamble_lines):
        pos = csvscan.next_line(head, pos)
        m = csvscan.LEADING_BLANK.match(head[pos:])
        if m:
            pos += m.end()
    header_end = csvscan.next_line(head, pos)
    if header_end >= len(head) and len(head) == textencoding.SAMPLE_BYTES:
        raise InputFileError("the header line is longer than the sample read to find it; check the file",
                             file=name)
    return header_end, head[pos:header_end], enc, delim


def plan_chunks(inputs: Sequence[tuple[str | Path, str]], *, chunk_bytes: int, client: Any = None,
                crs: str | None = None, mapping_file: str | Path | None = None,
                encoding: str | None = None, delimiter: str | None = None) -> list[Chunk]:
    """Cut the inputs into ingest tasks (see the module docstring, step 1).

    Parameters
    ----------
    inputs : sequence of (path, source)
    chunk_bytes : int
        Target raw bytes per CSV task; record boundaries are respected.
    client : distributed.Client, optional
        Scans the byte ranges in parallel.
    """
    chunks: list[Chunk] = []
    block = min(_SCAN_BLOCK, chunk_bytes)
    scans: list[tuple[int, str, int, int]] = []
    heads: dict[int, tuple[int, bytes, str, str]] = {}
    for seq, (path, source) in enumerate(inputs):
        p = Path(path)
        if source not in SOURCES:
            raise InputFileError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}", file=str(p))
        if not p.is_file():
            raise InputFileError("file not found; check the path", file=str(p))
        if p.suffix.lower() in _CSV_SUFFIXES and p.stat().st_size > chunk_bytes:
            heads[seq] = _csv_head(p, encoding, delimiter)
            size = p.stat().st_size
            starts = list(range(heads[seq][0], size, block))
            scans += [(seq, str(p), s, min(s + block, size)) for s in starts]
    blocks = _run(client, _scan_item, scans) if scans else []
    by_file: dict[int, list[tuple[int, int, _Block]]] = {}
    for (seq, _, s, e), b in zip(scans, blocks, strict=True):
        by_file.setdefault(seq, []).append((s, e, b))

    common = {"crs": crs, "mapping_file": str(mapping_file) if mapping_file else None}
    for seq, (path, source) in enumerate(inputs):
        p = str(Path(path))
        if seq not in by_file:
            chunks.append(Chunk(seq, 0, p, source, encoding=encoding, delimiter=delimiter, **common))
            continue
        data_start, header, enc, delim = heads[seq]
        # Walk the blocks: quote state at each block start, records before it, cut points.
        # A cut every `per_chunk` scan blocks, just after the first record end in that block.
        cuts: list[tuple[int, int]] = [(0, 0)]   # (byte offset, records before it in the data)
        per_chunk = max(1, round(chunk_bytes / block))
        inside, records, due = 0, 0, False
        for i, (_s, _e, b) in enumerate(by_file[seq]):
            due = due or (i > 0 and i % per_chunk == 0)
            if due and b.first_end[inside] >= 0:
                cuts.append((b.first_end[inside], records + 1))  # that record is the last before the cut
                due = False
            records += b.records[inside]
            inside = (inside + b.quotes) % 2
        if inside:
            raise InputFileError("the file ends inside a quoted field (an unclosed \"); fix the quoting",
                                 file=p)
        size = Path(path).stat().st_size
        bounds = [c for c, _ in cuts] + [size]
        for i, (start, rec_before) in enumerate(cuts):
            # Row numbers: the header is record 1 of every range; record r of range i is file record
            # (records of the data before the range) + r, plus the lines above the data of the first range.
            chunks.append(Chunk(seq, i, p, source, start=start, end=bounds[i + 1],
                                row_offset=0 if i == 0 else rec_before - 1 + _lines_above(p, data_start),
                                header=b"" if i == 0 else header, encoding=enc, delimiter=delim, **common))
    return chunks


HEAD_BYTES = 4 << 20
"""Bytes at the head of a many-chunk CSV on which its columns are chosen for all its chunks."""


def _head(chunk: Chunk, max_bytes: int = HEAD_BYTES) -> Chunk:
    """The first whole records of a chunk (at most ``max_bytes``), as a chunk of its own."""
    if chunk.end < 0 or chunk.end - chunk.start <= max_bytes:
        return chunk
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        buf = np.frombuffer(fh.read(max_bytes), dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    outside = (np.cumsum(buf == 34, dtype=np.int64)[newlines] & 1) == 0  # not inside a quoted field
    ends = newlines[outside]
    return replace(chunk, end=chunk.start + int(ends[-1]) + 1) if len(ends) else chunk


def pin_columns(chunks: list[Chunk], ws: Workspace) -> list[Chunk]:
    """Choose each many-chunk file's columns once, on its head, and hand the choice to all its chunks.

    Chosen per chunk, two chunks of one file could read a field from different columns
    (content decides, and content varies); chosen once they cannot.

    Raises
    ------
    MappingError
        No safe choice for a file (nothing has been read into the store).
    """
    from geo.ingest.pipeline import choose_columns

    split = {c.file_seq for c in chunks if c.chunk > 0}
    pinned = {}
    for c in chunks:
        if c.chunk == 0 and c.file_seq in split:
            head = read_chunk(_head(c))
            chosen = choose_columns(head, c.source, ws, crs=c.crs, mapping_file=c.mapping_file)
            note = (f"columns chosen on the first {len(head.frame):,} rows of {Path(c.path).name} "
                    "and used for all of it")
            pinned[c.file_seq] = replace(chosen, warnings=[*chosen.warnings, note])
    return [replace(c, columns=pinned[c.file_seq]) if c.file_seq in pinned else c for c in chunks]


@lru_cache(maxsize=64)
def _lines_above(path: str, data_start: int) -> int:
    """Physical records up to and including the header (title lines, blank lines, header)."""
    from geo.ingest import csvscan

    with open(path, "rb") as fh:
        head = fh.read(data_start)
    return len(csvscan.LINE_BREAK.findall(head))


def _scan_item(item: tuple[int, str, int, int]) -> _Block:
    return _scan_block(item[1], item[2], item[3])


# --------------------------------------------------------------------------- prepare (per chunk)


@lru_cache(maxsize=4)
def _workspace(root: str, mtime: float) -> Workspace:
    return load_workspace(root)


def _ws(root: str) -> Workspace:
    return _workspace(root, (Path(root) / "gridwatch.toml").stat().st_mtime)


def read_chunk(chunk: Chunk) -> Any:
    """The raw table of one task (a byte range with its header, or a whole file), rows numbered as in the file."""
    from geo.ingest import csvreader, layout, readers, textencoding

    path = Path(chunk.path)
    if chunk.end < 0:
        return layout.apply_layout(layout.read_workbook(path, encoding=chunk.encoding, delimiter=chunk.delimiter))
    with open(path, "rb") as fh:
        fh.seek(chunk.start)
        data = chunk.header + fh.read(chunk.end - chunk.start)
    name = str(path)
    utf8 = textencoding.to_utf8(data, chunk.encoding or "utf-8", name)
    raw = csvreader.parse_csv(path, utf8, chunk.encoding or "utf-8", chunk.delimiter)
    if chunk.row_offset:
        raw.frame[readers.ROW_COLUMN] = raw.frame[readers.ROW_COLUMN] + chunk.row_offset
        if len(raw.bad_rows):
            raw.bad_rows["_row"] = raw.bad_rows["_row"] + chunk.row_offset
    # as the single-machine reader: 合计/小计 rows set aside; a two-row header only where the file starts
    return layout.apply_layout(raw) if chunk.start == 0 else layout.split_footer(raw)


def _bucket_of(event_id: pd.Series, buckets: int) -> np.ndarray:
    h = pd.util.hash_pandas_object(event_id.astype("string"), index=False, hash_key="gridwatchbucket1")
    return (h.to_numpy() % np.uint64(buckets)).astype(np.int32)


def _month_of(t: pd.Series, timezone: str) -> pd.Series:
    """Local ``YYYY-MM`` of each time (formatted once per distinct month, not per row)."""
    local = t.dt.tz_convert(timezone)
    code = (local.dt.year * 100 + local.dt.month).to_numpy()
    uniq, inverse = np.unique(code, return_inverse=True)
    labels = np.array([f"{u // 100:04d}-{u % 100:02d}" for u in uniq], dtype=object)
    return pd.Series(labels[inverse], index=t.index, dtype="string")


def _write(df: pd.DataFrame, path: Path) -> None:
    """A Parquet file that goes into the store (written under a temporary name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp, compression="zstd")
    os.replace(tmp, path)


def _stage(df: pd.DataFrame, path: Path) -> None:
    """A staging file: Arrow IPC with LZ4 (written and read back once; no Parquet encoding cost)."""
    import pyarrow.feather as feather

    path.parent.mkdir(parents=True, exist_ok=True)
    feather.write_feather(pa.Table.from_pandas(df, preserve_index=False), path, compression="lz4")


def _read_staged(paths: Sequence[Path]) -> pd.DataFrame:
    import pyarrow.feather as feather

    tables = [feather.read_table(p) for p in paths]
    return pa.concat_tables(tables, promote_options="permissive").to_pandas(types_mapper=arrow_types_mapper)


def _prepare_chunk(chunk: Chunk, *, root: str, staging: str, ingest_id: str, buckets: int) -> dict[str, Any]:
    from geo.ingest.pipeline import prepare_events
    from geo.store.schema import validate_events

    t0 = time.perf_counter()
    ws = _ws(root)
    raw = read_chunk(chunk)
    t_read = time.perf_counter() - t0
    events, rejects, report = prepare_events(raw, chunk.source, ws, crs=chunk.crs,
                                             mapping_file=chunk.mapping_file, ingest_id=ingest_id,
                                             columns=chunk.columns)
    validate_events(events, resolutions={t: ws.settings.tiers.resolution(t) for t in TIERS})
    stage = Path(staging)
    tag = f"f{chunk.file_seq:04d}-c{chunk.chunk:05d}"
    events = events.assign(_file=np.int32(chunk.file_seq), _chunk=np.int32(chunk.chunk),
                           _order=np.arange(len(events), dtype=np.int64),
                           _raw_index=events.index.to_numpy().astype(np.int64))
    events["_month"] = _month_of(events["occurred_at"], ws.settings.timezone)
    _stage(events, stage / "events" / f"{tag}.arrow")
    bucket = _bucket_of(events["event_id"], buckets)
    keys = events[["event_id", "content_hash", *_ROW_KEYS]]
    for b in np.unique(bucket):
        _stage(keys[bucket == b], stage / "keys" / f"b{b:04d}" / f"{tag}.arrow")
    near = events[["category", "occurred_at", "lon", "lat", *_ROW_KEYS, "_month"]]
    for month in near["_month"].unique():
        _stage(near[near["_month"] == month].drop(columns="_month"),
               stage / "near" / f"{chunk.source}" / f"{month}" / f"{tag}.arrow")
    if len(rejects):
        _stage(rejects.astype("string").assign(source_row=rejects["source_row"].astype("int64")),
               stage / "rejects" / f"{tag}.arrow")
    doc = report.to_dict()
    doc["timings"] = {"read": t_read, **report.timings}
    doc["months"] = sorted(str(m) for m in near["_month"].unique())
    doc["tag"] = tag
    doc["file_seq"] = chunk.file_seq
    doc["chunk"] = chunk.chunk
    doc["rejects"] = int(len(rejects))
    doc["blank_rows"] = int(raw.blank_rows)
    return doc


# --------------------------------------------------------------------------- dedupe (per bucket)


def _dedupe_bucket(bucket: int, *, staging: str, store: str, committed: list[str]) -> pd.DataFrame:
    """Rows of one hash bucket that are not stored: ``_file, _chunk, _order, kind``.

    ``kind``: ``dup_file`` / ``conflict_file`` (repeat of an earlier row of the same file),
    ``dup_prior`` / ``conflict_prior`` (of an earlier file or of the store).  Also writes the
    bucket's id index for the rows that are stored.
    """
    folder = Path(staging) / "keys" / f"b{bucket:04d}"
    files = sorted(folder.glob("*.arrow"))
    empty = pd.DataFrame({"_file": pd.Series(dtype="int32"), "_chunk": pd.Series(dtype="int32"),
                          "_order": pd.Series(dtype="int64"), "kind": pd.Series(dtype="string")})
    if not files:
        return empty
    keys = _read_staged(files)
    keys = keys.sort_values(_ROW_KEYS, kind="stable").reset_index(drop=True)
    first = ~keys["event_id"].duplicated(keep="first")
    first_hash = keys.loc[first].set_index("event_id")
    repeated = ~first.to_numpy()
    kind = pd.Series(pd.NA, index=keys.index, dtype="string")
    if repeated.any():
        rep = keys.loc[repeated]
        same = (rep["content_hash"] == rep["event_id"].map(first_hash["content_hash"])).to_numpy()
        same_file = (rep["_file"] == rep["event_id"].map(first_hash["_file"])).to_numpy()
        kind[repeated] = np.where(same, np.where(same_file, "dup_file", "dup_prior"),
                                  np.where(same_file, "conflict_file", "conflict_prior"))
    # Against the store: earlier ingests' index of this bucket.
    prior = [Path(store) / IDS / f"b{bucket:04d}" / f"{i}.parquet" for i in committed]
    prior = [p for p in prior if p.exists()]
    if prior:
        known = pq.ParquetDataset([str(p) for p in prior]).read().to_pandas(types_mapper=arrow_types_mapper)
        lookup = known.drop_duplicates("event_id").set_index("event_id")["content_hash"]
        prev = keys["event_id"].map(lookup)
        hit = first.to_numpy() & prev.notna().to_numpy()
        same = (prev == keys["content_hash"]).fillna(False).to_numpy()
        kind[hit & same] = "dup_prior"
        kind[hit & ~same] = "conflict_prior"
    stored = kind.isna().to_numpy()
    _write(keys.loc[stored, ["event_id", "content_hash"]],
           Path(staging) / "commit" / IDS / f"b{bucket:04d}" / "ids.parquet")
    out = keys.loc[~stored, _ROW_KEYS].assign(kind=kind[~stored])
    return out.reset_index(drop=True) if len(out) else empty


# --------------------------------------------------------------------------- near duplicates (per source-month)


def _near_month(item: tuple[str, str, str | None], *, staging: str, root: str,
                excluded: pd.DataFrame) -> pd.DataFrame:
    """Near duplicates of one source-month: ``_file, _chunk, _order`` of the flagged rows."""
    from geo.grid import crs as gcrs
    from geo.ingest.pipeline import near_duplicate_mask

    source, month, previous = item
    ws = _ws(root)
    s = ws.settings.ingest
    base = Path(staging) / "near" / source
    frames = [_read_staged(sorted((base / month).glob("*.arrow")))]
    if previous is not None and (base / previous).exists():
        prev = _read_staged(sorted((base / previous).glob("*.arrow")))
        start = frames[0]["occurred_at"].min()
        frames.insert(0, prev[prev["occurred_at"] >= start - pd.Timedelta(seconds=s.near_duplicate_s)]
                      .assign(_tail=True))
    rows = pd.concat(frames, ignore_index=True)
    rows["_tail"] = rows["_tail"].fillna(False).astype(bool) if "_tail" in rows else False
    if len(excluded):
        gone = rows[_ROW_KEYS].merge(excluded[_ROW_KEYS].assign(_x=True), on=_ROW_KEYS, how="left")["_x"]
        rows = rows[gone.isna().to_numpy()]
    # Input order, as the file is read; the single-machine path flags within each file.
    rows = rows.sort_values(_ROW_KEYS, kind="stable").reset_index(drop=True)
    x, y = gcrs.to_metric(rows["lon"].to_numpy(), rows["lat"].to_numpy(), ws.settings.metric_crs)
    near = near_duplicate_mask(rows["_file"], rows["category"], rows["occurred_at"], x, y,
                               s.near_duplicate_m, s.near_duplicate_s)
    flagged = near & ~rows["_tail"].to_numpy()
    return rows.loc[flagged, _ROW_KEYS].reset_index(drop=True)


# --------------------------------------------------------------------------- write (per chunk)


def _with_near_flag(flags: pa.ChunkedArray, near: np.ndarray) -> pa.ChunkedArray:
    """Replace the chunk-level ``near_duplicate`` flag (always last, see ingest) by the run-level one."""
    import pyarrow.compute as pc

    t = flags.type
    flag, sep = pa.scalar("near_duplicate", t), pa.scalar(";", t)
    base = pc.replace_substring_regex(pc.fill_null(flags, pa.scalar("", t)), r"(^|;)near_duplicate$", "")
    added = pc.if_else(pc.equal(base, ""), flag, pc.binary_join_element_wise(base, flag, sep))
    out = pc.if_else(pa.array(near), added, base)
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)


# GeoParquet 1.1 with the native GeoArrow point encoding (x/y struct, no WKB to build); no "crs" member
# means OGC:CRS84 — WGS84 longitude/latitude, the store's coordinates.
GEO_METADATA = json.dumps({"version": "1.1.0", "primary_column": "geometry", "columns": {
    "geometry": {"encoding": "point", "geometry_types": ["Point"]}}}).encode()


def _geoparquet(events: pa.Table) -> pa.Table:
    point = pa.StructArray.from_arrays([events["lon"].combine_chunks(), events["lat"].combine_chunks()],
                                       names=["x", "y"])
    table = events.append_column("geometry", point)
    return table.replace_schema_metadata({b"geo": GEO_METADATA})


def _write_chunk(item: tuple[str, int, int, str], *, staging: str, drops: pd.DataFrame,
                 near: pd.DataFrame, ingest_id: str, chunks: dict[tuple[int, int], Chunk]) -> dict[str, Any]:
    """Final GeoParquet files of one chunk (per source-month) and the quarantine rows of its id conflicts.

    Stays in Arrow from the staged file to the Parquet writer: this step touches every column of every event.
    """
    import pyarrow.compute as pc
    import pyarrow.feather as feather

    from geo.ingest.quarantine import quarantine_frame
    from geo.store.schema import EVENT_COLUMNS

    tag, file_seq, chunk_no, source = item
    stage = Path(staging)
    ev = feather.read_table(stage / "events" / f"{tag}.arrow")
    order = ev["_order"].to_numpy()
    mine = drops[(drops["_file"] == file_seq) & (drops["_chunk"] == chunk_no)]
    kind = pd.Series(mine["kind"].to_numpy(), index=mine["_order"].to_numpy()).reindex(order).to_numpy()
    flagged = near[(near["_file"] == file_seq) & (near["_chunk"] == chunk_no)]["_order"].to_numpy()
    is_near = np.isin(order, flagged)
    ev = ev.set_column(ev.schema.get_field_index("flags"), "flags", _with_near_flag(ev["flags"], is_near))
    keep = pd.isna(kind)
    stats = {"tag": tag, "file_seq": file_seq, "stored": int(keep.sum()),
             "near_duplicates": int((is_near & keep).sum()), "dup": int(np.isin(kind, ["dup_file", "dup_prior"]).sum()),
             "months": {}}
    conflict_file = kind == "conflict_file"
    conflict_prior = kind == "conflict_prior"
    if conflict_file.any() or conflict_prior.any():
        c = chunks[(file_seq, chunk_no)]
        raw = read_chunk(c).frame
        raw_index = ev["_raw_index"].to_numpy()
        parts = []
        for mask, message in ((conflict_file, "this id was already used by a different record earlier in the "
                                              "file; ids must be unique"),
                              (conflict_prior, "this id is already in the store with different content; ids "
                                               "must be unique")):
            if mask.any():
                parts.append(quarantine_frame(raw, pd.Index(raw_index[mask]), "duplicate_id_conflict", message,
                                              None, Path(c.path).name))
        q = pd.concat(parts)
        _stage(q.astype("string").assign(source_row=q["source_row"].astype("int64")),
               stage / "rejects" / f"{tag}-conflicts.arrow")
    ev = ev.filter(pa.array(keep))
    months = ev["_month"]
    for month in pc.unique(months).to_pylist():
        part = ev.filter(pc.equal(months, month)).select(list(EVENT_COLUMNS))
        path = stage / "commit" / f"source={source}" / f"month={month}" / f"{ingest_id}--{tag}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_geoparquet(part), path, compression="zstd")
        stats["months"][str(month)] = int(part.num_rows)
    return stats


# --------------------------------------------------------------------------- the whole ingest


@dataclass
class ScaleReport:
    """What a partitioned ingest did, per input file and in total (``read = stored + duplicates + quarantined``)."""

    ingest_id: str
    store: str
    files: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0
    partitions: int = 0
    workers: int = 1
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def total(self, key: str) -> int:
        return int(sum(f[key] for f in self.files))

    @property
    def reconciles(self) -> bool:
        return all(f["read"] == f["stored"] + f["duplicates"] + f["quarantined"] for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"ingest_id": self.ingest_id, "store": self.store, "files": self.files,
                "read": self.total("read"), "stored": self.total("stored"),
                "duplicates": self.total("duplicates"), "quarantined": self.total("quarantined"),
                "chunks": self.chunks, "partitions": self.partitions, "workers": self.workers,
                "seconds": round(self.seconds, 3), "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "reconciles": self.reconciles}


def _sum_dicts(docs: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in docs:
        for k, v in d.items():
            out[k] = out.get(k, 0) + int(v)
    return dict(sorted(out.items()))


def _previous_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def ingest_partitioned(inputs: Sequence[tuple[str | Path, str]], ws: Workspace, *, client: Any = None,
                       out_dir: str | Path | None = None, chunk_mb: float | None = None,
                       crs: str | None = None, mapping_file: str | Path | None = None,
                       encoding: str | None = None, delimiter: str | None = None,
                       progress: Progress | None = None) -> ScaleReport:
    """Ingest many and/or large files into the partitioned GeoParquet store (see the module docstring).

    Parameters
    ----------
    inputs : sequence of (path, source)
        CSV (any size: read in byte ranges), XLSX, GeoJSON, Parquet (one task per file).
    ws : Workspace
        Settings, study area, grids, gazetteer and salt; every worker must see its folder.
    client : distributed.Client, optional
        Where the tasks run; ``None`` runs them one after another in this process
        (the single-process path of the benchmarks).
    out_dir : path-like, optional
        The store (default ``<workspace>/events_parquet``).
    chunk_mb : float, optional
        Raw megabytes per CSV task (default ``scale.chunk_mb``).

    Returns
    -------
    ScaleReport
        Per file: read, stored, duplicates, quarantined, reasons, quarantine file.

    Raises
    ------
    InputFileError
        A file that cannot be read as a whole; the store is untouched.
    """
    if mapping_file:
        from geo.ingest.columns import load_mapping

        mapping = load_mapping(mapping_file)
        encoding = encoding or mapping.encoding
        delimiter = delimiter or mapping.delimiter
    root = store_dir(ws, out_dir)
    # 0700: everything under it (also what Dask workers in other processes write) is the owner's only;
    # files written by this process are 0600 as well
    private_dir(root)
    with private_umask(), _store_lock(root):
        return _ingest_locked(inputs, ws, root, client=client, crs=crs, mapping_file=mapping_file,
                              encoding=encoding, delimiter=delimiter, chunk_mb=chunk_mb, progress=progress)


@contextmanager
def _store_lock(root: Path) -> Iterator[None]:
    """One ingest at a time per store: a second one would take the first one's staging for a crash's leftovers."""
    import fcntl

    with open(root / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"another ingest is writing to {root}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _ingest_locked(inputs: Sequence[tuple[str | Path, str]], ws: Workspace, root: Path, *, client: Any,
                   crs: str | None, mapping_file: str | Path | None, encoding: str | None, delimiter: str | None,
                   chunk_mb: float | None, progress: Progress | None) -> ScaleReport:
    start = time.perf_counter()
    watch = Stopwatch(progress)
    lap = watch.lap
    settings = ws.settings
    _clear_leftovers(root)
    ingest_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = root / f"{STAGING_PREFIX}{ingest_id}"
    staging.mkdir()
    try:
        chunk_bytes = int((chunk_mb or settings.scale.chunk_mb) * (1 << 20))
        chunks = plan_chunks(inputs, chunk_bytes=chunk_bytes, client=client, crs=crs, mapping_file=mapping_file,
                             encoding=encoding, delimiter=delimiter)
        chunks = pin_columns(chunks, ws)
        lap("plan", 0.05)
        common = {"root": str(ws.root), "staging": str(staging), "ingest_id": ingest_id}
        docs = _run(client, _prepare_chunk, chunks, buckets=settings.scale.buckets, **common)
        lap("prepare", 0.7)

        committed = [d["ingest_id"] for d in committed_ingests(root)]
        drops = pd.concat(_run(client, _dedupe_bucket, list(range(settings.scale.buckets)),
                               staging=str(staging), store=str(root), committed=committed), ignore_index=True)
        lap("dedupe", 0.75)

        months = sorted({(c.source, m) for c, d in zip(chunks, docs, strict=True) for m in d["months"]})
        present = set(months)
        items = [(s, m, _previous_month(m) if (s, _previous_month(m)) in present else None) for s, m in months]
        in_file = drops[drops["kind"].isin(["dup_file", "conflict_file"])]
        near = pd.concat(_run(client, _near_month, items, staging=str(staging), root=str(ws.root),
                              excluded=in_file), ignore_index=True) if items else drops.iloc[:0, :3]
        lap("near_duplicates", 0.8)

        by_key = {(c.file_seq, c.chunk): c for c in chunks}
        write_items = [(d["tag"], d["file_seq"], d["chunk"], c.source) for c, d in zip(chunks, docs, strict=True)]
        stats = _run(client, _write_chunk, write_items, staging=str(staging), drops=drops, near=near,
                     ingest_id=ingest_id, chunks=by_key)
        lap("write", 0.95)

        report = _file_reports(inputs, chunks, docs, stats, staging, ws, ingest_id)
        report.store, report.chunks = str(root), len(chunks)
        report.partitions = len({(c.source, m) for c, st in zip(chunks, stats, strict=True) for m in st["months"]})
        report.workers = len(client.scheduler_info()["workers"]) if client is not None else 1
        if not report.reconciles:  # pragma: no cover - a bug, never user input
            raise StoreError(f"partitioned ingest does not reconcile: {report.to_dict()}")
        _commit(staging, root, ingest_id, report)
        _register_new_categories(ws, docs)
        lap("commit", 1.0)
        report.timings = watch.timings
        report.seconds = time.perf_counter() - start
        _write_commit_record(root, ingest_id, report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _file_reports(inputs: Sequence[tuple[str | Path, str]], chunks: list[Chunk], docs: list[dict[str, Any]],
                  stats: list[dict[str, Any]], staging: Path, ws: Workspace, ingest_id: str) -> ScaleReport:
    from geo.ingest.quarantine import write_quarantine

    report = ScaleReport(ingest_id=ingest_id, store="")
    for seq, (path, source) in enumerate(inputs):
        mine = [d for d in docs if d["file_seq"] == seq]
        st = [s for s in stats if s["file_seq"] == seq]
        parts = [_read_staged([p]) for d in mine for p in sorted((staging / "rejects").glob(f"{d['tag']}*.arrow"))]
        rejects = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        qfile = None
        if len(rejects):
            qfile = write_quarantine(rejects, ws.quarantine_dir / f"{ingest_id}_{Path(path).stem}.csv")
        # per-chunk blank-row warnings become one for the file, as the single-machine ingest words it
        chunk_blank = {f"{d['blank_rows']} empty row(s) skipped" for d in mine}
        warnings = list(dict.fromkeys(w for d in mine for w in d["warnings"] if w not in chunk_blank))
        blank = sum(d["blank_rows"] for d in mine)
        if blank:
            warnings.insert(0, f"{blank} empty row(s) skipped")
        flags = _sum_dicts({k: v for k, v in d["flags"].items() if k != "near_duplicate"} for d in mine)
        near = sum(s["near_duplicates"] for s in st)
        if near:
            flags["near_duplicate"] = near
        report.files.append({
            "file": str(path), "source": source, "read": sum(d["read"] for d in mine),
            "stored": sum(s["stored"] for s in st),
            "duplicates": sum(d["duplicates"] for d in mine) + sum(s["dup"] for s in st),
            "quarantined": int(len(rejects)), "quarantine_file": str(qfile) if qfile else None,
            "by_reason": {str(k): int(v) for k, v in rejects["reason"].value_counts().sort_index().items()}
            if len(rejects) else {},
            "crs": mine[0]["crs"] if mine else "", "encoding": mine[0]["encoding"] if mine else None,
            "chunks": len(mine), "near_duplicates": near, "flags": dict(sorted(flags.items())),
            "located_by": _sum_dicts(d["located_by"] for d in mine),
            "other_categories": _sum_dicts(d["other_categories"] for d in mine),
            "own_categories": _sum_dicts(d.get("own_categories", {}) for d in mine),
            "warnings": warnings,
            "mapping": mine[0].get("mapping", {}) if mine else {},
            "months": _sum_dicts(s["months"] for s in st),
        })
    return report


def _commit(staging: Path, root: Path, ingest_id: str, report: ScaleReport) -> None:
    """Move the staged files into the store (their ingest is invisible until the commit record exists)."""
    src = staging / "commit"
    for p in sorted(src.rglob("*.parquet")):
        rel = p.relative_to(src)
        if rel.parts[0] == IDS:
            rel = Path(IDS, rel.parts[1], f"{ingest_id}.parquet")
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, target)


def _register_new_categories(ws: Workspace, docs: list[dict[str, Any]]) -> None:
    """Name the workspace categories the chunks met (``categories.toml``), as a single-file ingest does."""
    from geo.store.categories import register_categories

    merged: dict[str, dict[str, Any]] = {}
    for d in docs:
        for code, info in d.get("new_categories", {}).items():
            entry = merged.setdefault(code, {"label": info["label"], "values": []})
            entry["values"] = sorted({*entry["values"], *info["values"]})
    register_categories(ws.root, merged)


def _write_commit_record(root: Path, ingest_id: str, report: ScaleReport) -> None:
    folder = root / COMMITS
    folder.mkdir(exist_ok=True)
    doc = {"ingest_id": ingest_id, "committed_at": datetime.now(UTC).isoformat(), **report.to_dict()}
    tmp = folder / f".{ingest_id}.json.tmp"
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / f"{ingest_id}.json")


# --------------------------------------------------------------------------- analysis on the store


def _filtered_cells(df: pd.DataFrame, *, column: str, flt: EventFilter, settings: Settings) -> pd.DataFrame:
    from geo.analysis.filters import apply_filter

    return apply_filter(df, flt, settings)[[column, "occurred_at"]]


def cell_counts(ws: Workspace, tier: str, flt: EventFilter = EventFilter(), *, client: Any = None,
                out_dir: str | Path | None = None) -> tuple[pd.Series, pd.Timestamp | None, pd.Timestamp | None]:
    """Events per H3 cell of a tier in the partitioned store: a distributed group-by on the int64 ids.

    Returns
    -------
    counts : Series
        Index: int64 cell id; values: events passing ``flt``.
    first, last : Timestamp or None
        Earliest and latest event time passing the filter (for the per-day rates).
    """
    import dask
    import dask.dataframe as dd

    from geo.store.schema import tier_cell_column

    column = tier_cell_column(tier)
    root = store_dir(ws, out_dir)
    files = committed_files(root, sources=flt.sources, since=_month_floor(flt.since), until=flt.until)
    if not files:
        return pd.Series(dtype="int64"), None, None
    cols = [column, "occurred_at", "source", "category"]
    ddf = dd.read_parquet([str(f) for f in files], columns=cols, split_row_groups=False,
                          dataset={"partitioning": None})
    meta = pd.DataFrame({column: pd.Series(dtype="int64"),
                         "occurred_at": pd.Series(dtype="datetime64[us, UTC]")})
    sel = ddf.map_partitions(_filtered_cells, column=column, flt=flt, settings=ws.settings, meta=meta)
    counts, first, last = dask.compute(sel.groupby(column).size(), sel["occurred_at"].min(),
                                       sel["occurred_at"].max(), **({} if client is not None else
                                                                    {"scheduler": "sync"}))
    counts = counts.astype("int64")
    counts.index = counts.index.astype("int64")
    return counts.sort_index(), (None if pd.isna(first) else first), (None if pd.isna(last) else last)


def _month_floor(d: date | None) -> date | None:
    return d.replace(day=1) if d is not None else None


def scale_hotspots(ws: Workspace, flt: EventFilter = EventFilter(), *, tier: str = "small", client: Any = None,
                   out_dir: str | Path | None = None, **gistar: Any) -> Any:
    """Gi* hot spots from the partitioned store: counts on Dask, Gi* on the aggregated cells.

    The same table as :func:`geo.analysis.hotcells.hotspot_cells` on the same events.
    """
    from geo.analysis.hotcells import hotspot_table

    counts, first, last = cell_counts(ws, tier, flt, client=client, out_dir=out_dir)
    tz = ws.settings.timezone
    since = flt.since or (first.tz_convert(tz).date() if first is not None else date.today())
    until = flt.until or (last.tz_convert(tz).date() if last is not None else date.today())
    return hotspot_table(ws, counts, flt, tier=tier, since=since, until=until, **gistar)


def store_summary(ws: Workspace, out_dir: str | Path | None = None) -> dict[str, Any]:
    """What the partitioned store holds: ingests, events per source and month, files."""
    root = store_dir(ws, out_dir)
    ingests = committed_ingests(root)
    files = committed_files(root)
    per: dict[str, dict[str, int]] = {}
    for p in files:
        source = p.parent.parent.name.split("=", 1)[1]
        month = p.parent.name.split("=", 1)[1]
        n = pq.ParquetFile(p).metadata.num_rows
        per.setdefault(source, {})
        per[source][month] = per[source].get(month, 0) + n
    return {"store": str(root), "ingests": len(ingests), "files": len(files),
            "events": int(sum(sum(m.values()) for m in per.values())),
            "by_source": {s: int(sum(m.values())) for s, m in sorted(per.items())},
            "by_month": {s: dict(sorted(m.items())) for s, m in sorted(per.items())}}
