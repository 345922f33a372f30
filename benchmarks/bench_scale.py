"""Scale benchmark: ~2e7 synthetic events, one process against Dask (threads, processes).

    python benchmarks/bench_scale.py                  # 2e7 events (generated once, cached)
    python benchmarks/bench_scale.py --events 1e6     # quick

1. *Input*: ``gridwatch sample --out DIR --seed 11 --scale S --months M`` writes
   the raw exports; S and M are chosen so that the three CSV files (patrol,
   12345 hotline in GBK, violations) hold ~``--events`` rows (2e7: scale
   137.78, 12 months; below 5e6 fewer months keep the scale above 5, where
   violations are CSV rather than XLSX).  Generated once
   into ``--cache`` (default ``/tmp/gridwatch-bench/scale``) and reused; the
   generation's wall time and peak RSS are reported (from the run that made it).
2. *Indexing + counting only* (what the issue's anchor measures): read the
   ``经度``/``纬度`` columns of the CSVs in byte-range chunks with pyarrow,
   :func:`geo.grid.h3cells.cells_for_points` at res 9, count events per cell (per
   chunk ``np.unique``, merged with a group-by) — in one process on one
   thread, in one process with h3ronpy's own thread pool, with Dask's threaded
   scheduler (2 threads) and on a Dask ``LocalCluster`` of 2 worker processes.
   Raw coordinates only (no CRS conversion, no validation): dirty values are
   normalised (NFKC, trimmed) or dropped.  Hotline rows located only by
   address have no coordinates and are not counted.
3. *Scale engine* (``geo.scale.engine``, when present): ``ingest_partitioned`` of the
   three CSVs into a fresh workspace, then ``cell_counts(ws, "small")``, with no
   client (one process), Dask 1 worker, 2 workers × 1 thread and 1 worker × 2
   threads.  Slow at 2e7 (thousands of events/s per core): ``--ingest-modes``
   picks the modes, ``--ingest-modes ''`` skips the part.
4. *The same job on a cluster started as a user would* (mode ``cluster``):
   ``dask scheduler --scheduler-file F --port 0 --dashboard-address :0`` and
   ``dask worker --scheduler-file F --nworkers 2 --nthreads 1`` as separate
   processes (both ``--host 127.0.0.1``: nothing listens beyond this machine),
   then, once 2 workers are connected, the user's commands
   ``gridwatch scale ingest patrol=… hotline=… violation=… --scheduler ADDR
   --json`` on the same three CSVs into a fresh workspace, ``gridwatch scale
   status`` (the stored events, read back) and ``gridwatch scale counts``.  The
   time is the wall clock of the ingest command (its imports and connecting
   included; the engine's own time is in the note), the cluster's start-up
   is given separately; the peak RSS is summed over the scheduler, the worker
   command with its nannies and worker processes, and the CLI commands.  The
   stored events and the counts per cell are compared with those of the
   ``single`` / ``dask2x1`` modes of the same run ("same stored events:
   yes/no"; ``cluster`` always runs after them).  The cluster is shut down
   through the scheduler, then any process left in the two sessions is
   stopped (and counted in the note: there should be none), also on errors.

CSV chunks (``--chunk-mb``) are the engine's default 64 MB at 2e7, smaller
for small inputs (CSV size / 16, at least 1 MB) so that 2 workers have work.

Every mode runs in its own child process (``cluster``: in its own scheduler,
worker and CLI processes); a thread samples ``/proc`` every 0.2 s and keeps
the largest *sum* of RSS over the child and all its descendants (Dask
workers, nannies; ``cluster``: over all its processes' trees), so Dask's
memory is counted whole.  ``RAYON_NUM_THREADS`` (h3ronpy's pool) is set to the
threads each process is meant to use, so "1 thread" really is one core.
Times are wall clock of the work itself (cluster start-up and imports
excluded, given in the note; ``cluster``: the ingest command's imports and
connecting included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _suite import (
    ForestRSS,
    TreeRSS,
    add_json_out,
    descendants,
    now_iso,
    proc_table,
    result_row,
    wait_with_rusage,
    write_rows,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH = "scale (Dask)"
SEED = 11
RES = 9
# rows of the three CSV files per unit of --scale per six months (measured at seed 11: 3,774,201 at scale 52)
CSV_ROWS_PER_SCALE_6M = 72_580
CSV_FILES: dict[str, tuple[str, str]] = {  # source: (file, encoding), as geo.synthetic.sample writes them above scale 5
    "patrol": ("patrol.csv", "utf-8"),
    "hotline": ("hotline_12345.csv", "gbk"),
    "violation": ("violations.csv", "utf-8"),
}
LON, LAT = "经度", "纬度"

INDEX_MODES: dict[str, dict[str, Any]] = {
    "single": {"label": "single process, 1 thread", "rayon": 1},
    "single-pool": {"label": "single process, h3ronpy pool (2 threads)", "rayon": 2},
    "threads": {"label": "Dask threads, 1 process x 2 threads", "rayon": 2},
    "procs": {"label": "Dask LocalCluster, 2 workers x 1 thread", "rayon": 1},
}
INGEST_MODES: dict[str, dict[str, Any]] = {
    "single": {"label": "no client (one process, 1 thread)", "workers": None, "threads": None, "rayon": 1},
    "dask1": {"label": "Dask 1 worker x 1 thread", "workers": 1, "threads": 1, "rayon": 1},
    "dask2x1": {"label": "Dask 2 workers x 1 thread", "workers": 2, "threads": 1, "rayon": 1},
    "dask1x2": {"label": "Dask 1 worker x 2 threads", "workers": 1, "threads": 2, "rayon": 2},
    "cluster": {"label": "dask scheduler + worker 2x1 (CLI --scheduler)", "workers": 2, "threads": 1,
                "rayon": 1},
}
# modes whose stored events the cluster mode must reproduce
REFERENCE_MODES = ("single", "dask2x1")
CLUSTER_START_TIMEOUT_S = 120.0
# Runs a cluster command (exec: the same pid and command line) with PR_SET_PDEATHSIG = SIGTERM, so that it
# stops even if the benchmark is killed outright; argv: the benchmark's pid, then the command.
_ORPHAN_GUARD = ("import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
                 "os.getppid() == int(sys.argv[1]) or sys.exit('parent gone'); os.execv(sys.argv[2], sys.argv[2:])")


# --------------------------------------------------------------------------- #
# input: gridwatch sample, generated once
# --------------------------------------------------------------------------- #


def plan_sample(events: float) -> tuple[float, int]:
    """(scale, months) of ``gridwatch sample`` for ~``events`` CSV rows.

    A year from 5e6 events on; below, fewer months so that the scale stays
    above ``XLSX_MAX_SCALE`` (5) and violations are written as CSV too.
    """
    for months in ((12,) if events >= 5e6 else (6, 3, 2, 1)):
        scale = round(events / (CSV_ROWS_PER_SCALE_6M * months / 6), 2)
        if scale > 5.0:
            return scale, months
    raise ValueError(f"--events {events:g} is too small for CSV violations: use at least 7e4")


def _gridwatch_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("gridwatch")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "geo.cli"]


def ensure_sample(events: float, cache: Path, *, regenerate: bool = False) -> dict[str, Any]:
    """Generate the input once into ``cache`` and return its description (``bench_meta.json``).

    The meta file is written last, so a directory without it (an interrupted
    run) is generated again.
    """
    scale, months = plan_sample(events)
    out = cache / f"seed{SEED}-scale{scale:g}-months{months}"
    meta_file = out / "bench_meta.json"
    if meta_file.exists() and not regenerate:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        meta["cached"] = True
        return meta
    out.mkdir(parents=True, exist_ok=True)
    cmd = [*_gridwatch_cmd(), "sample", "--out", str(out), "--seed", str(SEED), "--scale", f"{scale:g}",
           "--months", str(months), "--json"]
    print(f"generating ~{events:.3g} events: {' '.join(cmd)}", file=sys.stderr, flush=True)
    with tempfile.TemporaryFile() as log, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=err, cwd=ROOT)
        with TreeRSS(proc.pid) as tree:
            code, maxrss, _ = wait_with_rusage(proc.pid)
        proc.returncode = code
        seconds = time.perf_counter() - t
        log.seek(0)
        err.seek(0)
        if code != 0:
            raise RuntimeError(f"gridwatch sample failed (exit {code}): {err.read().decode()[-2000:]}")
        summary = json.loads(log.read().decode())
    files = summary["files"]
    csv_rows = sum(files[name]["rows"] for name, _ in CSV_FILES.values())
    meta = {
        "command": " ".join(cmd), "scale": scale, "months": months, "seed": SEED, "dir": str(out),
        "csv_events": csv_rows, "all_events": summary["events"], "bytes": summary["total_bytes"],
        "csv_bytes": sum((out / name).stat().st_size for name, _ in CSV_FILES.values()),
        "seconds": seconds, "peak_rss_mb": max(tree.peak_mb, maxrss), "generated": now_iso(),
    }
    meta_file.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    meta["cached"] = False
    return meta


# --------------------------------------------------------------------------- #
# indexing + counting only
# --------------------------------------------------------------------------- #


def csv_ranges(path: Path, chunk_bytes: int) -> tuple[bytes, list[tuple[int, int]]]:
    """Header line and (start, end) byte ranges of ``path`` cut after newlines.

    The sample's CSVs have no quoted newlines, and a GBK trail byte is never
    ``\\n``, so cutting at line ends is safe for both encodings.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.readline()
        starts = [len(header)]
        while starts[-1] + chunk_bytes < size:
            f.seek(starts[-1] + chunk_bytes)
            f.readline()
            if f.tell() >= size:
                break
            starts.append(f.tell())
    return header, list(zip(starts, [*starts[1:], size], strict=True))


def _coords(col: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        clean = pc.utf8_trim_whitespace(pc.utf8_normalize(col, "NFKC"))  # full-width digits, U+3000
        return pc.cast(pc.if_else(pc.equal(clean, ""), None, clean), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # something else non-numeric: drop what is not a plain decimal
        ok = pc.match_substring_regex(col, r"^-?[0-9]+(\.[0-9]*)?$")
        return pc.cast(pc.if_else(ok, col, None), pa.float64()).to_numpy(zero_copy_only=False)


def index_range(path: str, header: bytes, start: int, end: int, encoding: str, res: int = RES
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """Cells and counts of the events in bytes ``start:end`` of a CSV (and the rows read)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from geo.grid.h3cells import cells_for_points

    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    table = pacsv.read_csv(
        pa.py_buffer(header + data),
        read_options=pacsv.ReadOptions(encoding=encoding, use_threads=False),
        convert_options=pacsv.ConvertOptions(include_columns=[LON, LAT],
                                             column_types={LON: pa.string(), LAT: pa.string()}),
    )
    cells = cells_for_points(_coords(table.column(LON)), _coords(table.column(LAT)), res)
    ids, counts = np.unique(cells[cells != 0], return_counts=True)
    return ids, counts, table.num_rows


def index_tasks(sample_dir: Path, chunk_bytes: int) -> list[tuple[str, bytes, int, int, str]]:
    tasks = []
    for name, encoding in CSV_FILES.values():
        header, ranges = csv_ranges(sample_dir / name, chunk_bytes)
        tasks += [(str(sample_dir / name), header, a, b, encoding) for a, b in ranges]
    return tasks


def merge_counts(parts: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray, int]:
    """Group-by over the per-chunk (cells, counts): sorted cells and their totals."""
    import pandas as pd

    ids = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    total = pd.Series(counts).groupby(ids).sum()
    return total.index.to_numpy(np.int64), total.to_numpy(np.int64), sum(p[2] for p in parts)


def run_index(mode: str, sample_dir: Path, chunk_bytes: int) -> dict[str, Any]:
    """Child process: index + count every CSV row in ``mode``; returns timings and a checksum."""
    import dask
    from dask import delayed

    tasks = index_tasks(sample_dir, chunk_bytes)
    info: dict[str, Any] = {"chunks": len(tasks)}
    client = None
    if mode == "procs":
        from distributed import Client, LocalCluster

        t = time.perf_counter()
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=40))
        info["startup_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if mode in ("single", "single-pool"):
        parts = [index_range(*task) for task in tasks]
    else:
        jobs = [delayed(index_range)(*task) for task in tasks]
        parts = list(dask.compute(*jobs, scheduler="threads", num_workers=2) if mode == "threads"
                     else client.gather(client.compute(jobs)))
    ids, counts, rows = merge_counts(parts)
    info["seconds"] = time.perf_counter() - t
    if client is not None:
        client.close()
    info.update(rows=rows, indexed=int(counts.sum()), cells=int(ids.size),
                checksum=int((ids % 1_000_003 * counts).sum() % (1 << 62)))
    return info


# --------------------------------------------------------------------------- #
# scale engine: geo.scale.engine
# --------------------------------------------------------------------------- #


def fresh_workspace(root: Path, sample_dir: Path) -> Any:
    """A new workspace of the Xicheng sample geography whose gazetteer is the generated one."""
    from geo.store.workspace import SAMPLE_WORKSPACE, load_workspace

    root.mkdir(parents=True)
    for name in ("gridwatch.toml", "area_xicheng.geojson", "official_grids.geojson", "roads.geojson",
                 "intersections.geojson"):
        shutil.copy(SAMPLE_WORKSPACE / name, root / name)
    (root / "raw").mkdir()
    shutil.copy(sample_dir / "standard_addresses.csv", root / "raw" / "standard_addresses.csv")
    ws = load_workspace(root)
    # what `gridwatch init --grids` does once per grid file, not part of an ingest
    from geo.grid.officialgrids import interior_lookup

    interior_lookup(ws.grids, ws.cache_dir)
    return ws


def _report_dict(report: Any) -> dict[str, Any]:
    if hasattr(report, "to_dict"):
        return report.to_dict()
    if hasattr(report, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(report)
    return dict(vars(report)) if hasattr(report, "__dict__") else {"report": repr(report)}


def counts_checksum(cells: np.ndarray, counts: np.ndarray) -> int:
    """Order-free checksum of events per cell (int64 cell ids), the same in every mode."""
    cells = np.asarray(cells, dtype=np.int64)
    return int((cells % 1_000_003 * np.asarray(counts, dtype=np.int64)).sum() % (1 << 62))


def run_ingest(mode: str, sample_dir: Path, work: Path, chunk_mb: float) -> dict[str, Any]:
    """Child process: ``geo.scale.engine.ingest_partitioned`` + ``cell_counts`` in ``mode``."""
    from geo.scale import engine as scale

    cfg = INGEST_MODES[mode]
    root = work / f"ws-{mode}-{os.getpid()}"
    info: dict[str, Any] = {}
    try:
        ws = fresh_workspace(root, sample_dir)
        inputs = [(sample_dir / name, source) for source, (name, _) in CSV_FILES.items()]
        client = None
        if cfg["workers"] is not None:
            t = time.perf_counter()
            client = scale.start_client(workers=cfg["workers"], threads_per_worker=cfg["threads"])
            info["startup_s"] = time.perf_counter() - t
        t = time.perf_counter()
        report = scale.ingest_partitioned(inputs, ws, client=client, chunk_mb=chunk_mb)
        info["seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        counts = scale.cell_counts(ws, "small", client=client)
        info["counts_s"] = time.perf_counter() - t
        if isinstance(counts, tuple):  # (counts, first, last)
            counts = counts[0]
        info["counted"] = int(np.asarray(counts).sum())
        info["cells"] = int(len(counts))
        info["cells_checksum"] = counts_checksum(np.asarray(counts.index), np.asarray(counts))
        info["stored_readback"] = scale.store_summary(ws)["events"]
        info["store_bytes"] = sum(p.stat().st_size for p in scale.store_dir(ws).rglob("*") if p.is_file())
        rep = _report_dict(report)
        info["report"] = {k: v for k, v in rep.items() if isinstance(v, int | float | str | bool)}
        info["timings"] = rep.get("timings", {})
        if client is not None:
            getattr(scale, "close_client", lambda c: c.close())(client)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return info


# --------------------------------------------------------------------------- #
# the same job on a dask.distributed cluster started as a user would
# --------------------------------------------------------------------------- #


def _tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds used so far by the live processes under ``roots`` (and the children they waited for)."""
    table = proc_table()
    return sum(table[pid][2] for pid in descendants(roots, table))


def _in_sessions(sessions: set[int]) -> list[int]:
    """Live processes whose session is one of ``sessions`` (those started with ``start_new_session``)."""
    return sorted(pid for pid, (_, sid, _) in proc_table().items() if sid in sessions)


def _log_tail(path: Path, n: int = 1500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def _wait_for_cluster(sched: subprocess.Popen, worker: subprocess.Popen, scheduler_file: Path,
                      workers: int, logs: Path) -> str:
    """The scheduler's address once ``workers`` workers are connected (RuntimeError if a process dies or it times out)."""
    from distributed import Client

    deadline = time.monotonic() + CLUSTER_START_TIMEOUT_S
    while not scheduler_file.exists():
        if sched.poll() is not None:
            raise RuntimeError(f"dask scheduler exited ({sched.returncode}): {_log_tail(logs / 'scheduler.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no scheduler file after {CLUSTER_START_TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    while True:
        try:
            address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
            break
        except (ValueError, KeyError):  # being written
            time.sleep(0.1)
    with Client(address, timeout="20s") as client:
        while len(client.scheduler_info(n_workers=-1)["workers"]) < workers:
            for proc, name in ((sched, "scheduler"), (worker, "worker")):
                if proc.poll() is not None:
                    raise RuntimeError(f"dask {name} exited ({proc.returncode}): {_log_tail(logs / f'{name}.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"fewer than {workers} workers after {CLUSTER_START_TIMEOUT_S:.0f} s: "
                                   + _log_tail(logs / "worker.log"))
            time.sleep(0.2)
    return address


def _stop_cluster(address: str | None, procs: list[subprocess.Popen]) -> dict[str, Any]:
    """Shut the cluster down through its scheduler; stop whatever is left of the processes' sessions.

    Returns the seconds it took, how the processes ended and the pids of
    stray processes that had to be killed (there should be none).
    """
    t = time.perf_counter()
    if address is not None and all(p.poll() is None for p in procs):
        try:
            from distributed import Client

            with Client(address, timeout="10s") as client:
                client.shutdown()  # the scheduler closes its workers (and their nannies), then itself
        except Exception:  # noqa: BLE001 - fall back to signals below
            pass
    forced = []
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            forced.append(proc.pid)
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(proc.pid, sig)  # its own session and group: start_new_session
                    proc.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
    sessions = {p.pid for p in procs}
    strays = _in_sessions(sessions)
    for _ in range(50):  # a worker process may take a moment to follow its nanny
        if not strays:
            break
        time.sleep(0.2)
        strays = _in_sessions(sessions)
    for pid in strays:  # ours: in the sessions started above
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return {"shutdown_s": time.perf_counter() - t, "forced": forced, "strays": strays,
            "exit_codes": [p.poll() for p in procs]}


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through measure_cluster's finally: the cluster is stopped


def _run_cli(cmd: list[str], env: dict[str, str], rss: ForestRSS, log: Path) -> tuple[dict[str, Any], float, float]:
    """Run a ``gridwatch … --json`` command; (its JSON output, wall seconds, CPU seconds)."""
    with tempfile.TemporaryFile() as out, log.open("ab") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        rss.add(proc.pid)
        try:
            code, _, cpu = wait_with_rusage(proc.pid)
        except BaseException:  # SIGTERM/^C of the benchmark: the command goes too
            proc.kill()
            proc.wait()
            raise
        proc.returncode = code
        wall = time.perf_counter() - t
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} exited {code}: {_log_tail(log)}")
    return json.loads(text), wall, cpu


def measure_cluster(sample_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The scale ingest as a user runs it on a ``dask scheduler`` + ``dask worker`` cluster (see the module doc).

    The workspace is made here, in the driver, as in the other modes' child
    (what ``gridwatch init`` would have done); everything measured runs in the
    cluster's processes and the CLI commands.
    """
    cfg = INGEST_MODES["cluster"]
    dask_exe = str(Path(sys.executable).with_name("dask"))
    env = {k: v for k, v in os.environ.items() if k != "GRIDWATCH_SCHEDULER"}
    env["RAYON_NUM_THREADS"] = str(cfg["rayon"])
    info: dict[str, Any] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        work = Path(tmp)
        root = work / "ws-cluster"
        logs = work / "logs"
        logs.mkdir()
        scheduler_file = work / "scheduler.json"
        procs: list[subprocess.Popen] = []
        address = None
        rss = None
        sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            fresh_workspace(root, sample_dir)
            t = time.perf_counter()
            guard = [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid())]
            common = {"env": env, "cwd": ROOT, "stdin": subprocess.DEVNULL, "stderr": subprocess.STDOUT,
                      "start_new_session": True}  # own session: stopped as a whole, not hit by the terminal's ^C
            with (logs / "scheduler.log").open("wb") as log:
                procs.append(subprocess.Popen(
                    [*guard, dask_exe, "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
                     "--dashboard-address", ":0", "--host", "127.0.0.1"], stdout=log, **common))
            rss = ForestRSS([procs[0].pid])
            rss.__enter__()
            while not scheduler_file.exists() and procs[0].poll() is None \
                    and time.perf_counter() - t < CLUSTER_START_TIMEOUT_S:
                time.sleep(0.1)
            with (logs / "worker.log").open("wb") as log:
                procs.append(subprocess.Popen(
                    [*guard, dask_exe, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", str(cfg["workers"]),
                     "--nthreads", str(cfg["threads"]), "--host", "127.0.0.1"], stdout=log, **common))
            rss.add(procs[1].pid)
            address = _wait_for_cluster(procs[0], procs[1], scheduler_file, cfg["workers"], logs)
            info["startup_s"] = time.perf_counter() - t
            info["cluster_procs"] = len(_in_sessions({p.pid for p in procs}))

            gw = _gridwatch_cmd()
            inputs = [f"{source}={sample_dir / name}" for source, (name, _) in CSV_FILES.items()]
            doc, info["seconds"], cli_cpu = _run_cli(
                [*gw, "scale", "ingest", *inputs, "--workspace", str(root), "--scheduler", address,
                 "--chunk-mb", f"{args.chunk_mb:g}", "--json"], env, rss, logs / "cli.log")
            info["report"] = {k: v for k, v in doc.items() if isinstance(v, int | float | str | bool)}
            info["timings"] = doc.get("timings", {})
            status, info["status_s"], cpu = _run_cli([*gw, "scale", "status", "--workspace", str(root), "--json"],
                                                     env, rss, logs / "cli.log")
            cli_cpu += cpu
            info["stored_readback"] = int(status["events"])
            counts_file = work / "counts.parquet"
            counted, info["counts_s"], cpu = _run_cli(
                [*gw, "scale", "counts", "--workspace", str(root), "--scheduler", address, "--tier", "small",
                 "--out", str(counts_file), "--json"], env, rss, logs / "cli.log")
            cli_cpu += cpu
            import pandas as pd

            from geo.grid.h3cells import hex_to_cells

            table = pd.read_parquet(counts_file)
            info["counted"] = int(counted["events"])
            info["cells"] = int(counted["cells"])
            info["cells_checksum"] = counts_checksum(hex_to_cells(table["cell"].to_numpy()), table["count"].to_numpy())
            info["store_bytes"] = sum(p.stat().st_size for p in Path(status["store"]).rglob("*") if p.is_file())
            info["cpu_s"] = _tree_cpu_s([p.pid for p in procs]) + cli_cpu
        except Exception as exc:  # noqa: BLE001 - reported as a FAILED row, the cluster is stopped below
            info["error"] = f"{type(exc).__name__}: {exc}"[:1500]
        finally:
            info.update(_stop_cluster(address, procs))
            signal.signal(signal.SIGTERM, sigterm)
            if rss is not None:
                rss.__exit__(None, None, None)
            # the nannies' complaint when a worker process does not end in time on shutdown
            info["workers_killed"] = _log_tail(logs / "worker.log", 1 << 20).count("still alive after")
    info["wall_s"] = time.perf_counter() - t_all
    info["peak_rss_mb"] = rss.peak_mb if rss is not None else None
    info["procs"] = rss.max_procs if rss is not None else 0
    return info


# --------------------------------------------------------------------------- #
# driver: one child process per mode, its process tree sampled
# --------------------------------------------------------------------------- #


def measure(kind: str, mode: str, rayon: int, sample_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one mode in a child process; its result plus the peak summed RSS of its tree."""
    if (kind, mode) == ("ingest", "cluster"):
        return measure_cluster(sample_dir, args)
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", kind, mode, "--sample-dir", str(sample_dir),
               "--result", str(out), "--chunk-mb", str(args.chunk_mb), "--cache", str(args.cache)]
        env = {**os.environ, "RAYON_NUM_THREADS": str(rayon)}
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
        with TreeRSS(proc.pid) as tree:
            code, maxrss, cpu = wait_with_rusage(proc.pid)
        proc.returncode = code
        wall = time.perf_counter() - t
        if code != 0 or not out.exists():
            return {"error": f"exit {code}", "wall_s": wall, "peak_rss_mb": tree.peak_mb}
        res = json.loads(out.read_text(encoding="utf-8"))
    res.update(wall_s=wall, cpu_s=cpu, peak_rss_mb=max(tree.peak_mb, maxrss), procs=tree.max_procs)
    return res


def _child(args: argparse.Namespace) -> None:
    kind, mode = args.child
    sample_dir = Path(args.sample_dir)
    if kind == "index":
        res = run_index(mode, sample_dir, int(args.chunk_mb * 2**20))
    else:
        res = run_ingest(mode, sample_dir, Path(args.cache), args.chunk_mb)
    Path(args.result).write_text(json.dumps(res, default=str), encoding="utf-8")


def _has_scale_engine() -> bool:
    import importlib.util

    return importlib.util.find_spec("geo.scale.engine") is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=float, default=2e7, help="CSV rows to generate (default 2e7)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/gridwatch-bench/scale"))
    ap.add_argument("--regenerate", action="store_true", help="generate the input again")
    ap.add_argument("--chunk-mb", type=float, default=0.0,
                    help="CSV byte-range chunk, both parts (default: CSV size / 16, within 1-64 MB; "
                         "64 MB is geo.scale.engine's default)")
    ap.add_argument("--index-modes", default=",".join(INDEX_MODES), help="comma-separated, '' = skip")
    ap.add_argument("--ingest-modes", default=",".join(INGEST_MODES), help="comma-separated, '' = skip")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--sample-dir", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    add_json_out(ap)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    index_modes = [m for m in args.index_modes.split(",") if m]
    # the cluster mode compares its stored events with the reference modes': after them
    ingest_modes = sorted((m for m in args.ingest_modes.split(",") if m), key=lambda m: m == "cluster")
    unknown = sorted(set(ingest_modes) - set(INGEST_MODES)) + sorted(set(index_modes) - set(INDEX_MODES))
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}: index modes {', '.join(INDEX_MODES)}; "
                         f"ingest modes {', '.join(INGEST_MODES)}")
    args.cache.mkdir(parents=True, exist_ok=True)
    meta = ensure_sample(args.events, args.cache, regenerate=args.regenerate)
    sample_dir = Path(meta["dir"])
    n = meta["csv_events"]
    if not args.chunk_mb:  # enough chunks for 2 workers at small sizes, the engine's default at large ones
        args.chunk_mb = round(min(64.0, max(1.0, meta["csv_bytes"] / 16 / 2**20)), 1)
    size = f"{n / 1e6:.1f}M"
    rows = []
    gen_note = (f"{n:,} CSV rows (+{meta['all_events'] - n:,} snapshots), {meta['csv_bytes'] / 1e9:.2f} GB CSV; "
                f"--scale {meta['scale']:g} --months {meta['months']} --seed {SEED}"
                + (f"; cached, generated {meta['generated']}" if meta["cached"] else ""))
    rows.append(result_row(BENCH, f"generate {size} events (gridwatch sample)", "seconds", meta["seconds"], "s",
                           gen_note, peak_rss_mb=meta["peak_rss_mb"]))
    print(f"# {gen_note}: {meta['seconds']:.0f} s, peak RSS {meta['peak_rss_mb']:.0f} MB", flush=True)

    def emit(prefix: str, kind: str, modes: dict[str, dict[str, Any]], selected: list[str]) -> None:
        base = None
        done: dict[str, dict[str, Any]] = {}
        for mode in selected:
            cfg = modes[mode]
            r = measure(kind, mode, cfg["rayon"], sample_dir, args)
            case = f"{prefix} {size}: {cfg['label']}"
            if "error" in r:
                note = f"FAILED ({r['error']})"
                if "strays" in r:
                    note += "; " + cluster_shutdown_note(r)
                rows.append(result_row(BENCH, case, "seconds", None, "s", note, peak_rss_mb=r["peak_rss_mb"]))
                print(f"  {case}: {note}", flush=True)
                continue
            done[mode] = r
            base = base or r
            note = f"{n / r['seconds']:,.0f} ev/s, {base['seconds'] / r['seconds']:.2f}x vs {selected[0]}, "
            if mode == "cluster":  # the verdict first: the README's copy of the table keeps 100 characters
                note = same_events_note(r, {m: done[m] for m in REFERENCE_MODES if m in done}) + "; " + note
                note += (f"CPU {r['cpu_s']:.0f} s (scheduler, workers, CLI) in {r['wall_s']:.0f} s from workspace "
                         f"to shutdown, cluster start {r['startup_s']:.1f} s ({r['cluster_procs']} procs), "
                         f"engine {r['report'].get('seconds', float('nan')):.1f} s of the CLI's wall time "
                         f"(`scale status` took {r['status_s']:.1f} s)")
            else:
                note += f"CPU {r['cpu_s']:.0f} s in {r['wall_s']:.0f} s of the whole child"
            if "startup_s" in r and mode != "cluster":
                note += f", cluster start {r['startup_s']:.1f} s"
            if kind == "index":
                same = (r["checksum"], r["indexed"]) == (base["checksum"], base["indexed"])
                note += f", {r['indexed']:,} pts in {r['cells']:,} cells, {r['chunks']} chunks of {args.chunk_mb:g} MB"
                note += "" if same else " — COUNTS DIFFER from the first mode"
            else:
                rep = r["report"]
                note += f", {rep.get('chunks', '?')} chunks of {args.chunk_mb:g} MB"
                if "stored" in rep:
                    note += f", read {rep['read']:,}, stored {rep['stored']:,}"
                stages = sorted(r.get("timings", {}).items(), key=lambda kv: -kv[1])[:3]
                if stages:
                    note += " (" + ", ".join(f"{k} {v:.0f} s" for k, v in stages) + ")"
                if mode == "cluster":
                    note += f"; then `scale counts` {r['counts_s']:.1f} s of CLI wall time ({r['cells']:,} cells); "
                    note += cluster_shutdown_note(r)
                else:
                    note += f"; then cell_counts {r['counts_s']:.1f} s ({r['cells']:,} cells)"
            rows.append(result_row(BENCH, case, "seconds", r["seconds"], "s", note, peak_rss_mb=r["peak_rss_mb"],
                                   ratio=r["seconds"] / base["seconds"], ratio_to=f"first mode ({selected[0]})"))
            print(f"  {case}: {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"({r['procs']} procs); {note}", flush=True)

    emit("index+count", "index", INDEX_MODES, index_modes)
    if ingest_modes and _has_scale_engine():
        emit("geo.scale.engine ingest", "ingest", INGEST_MODES, ingest_modes)
    elif ingest_modes:
        rows.append(result_row(BENCH, f"geo.scale.engine ingest {size}", "seconds", None, "s",
                               "skipped: geo.scale.engine is not in this checkout"))
    print_table(rows)
    write_rows(args.json_out, rows)


def same_events_note(r: dict[str, Any], refs: dict[str, dict[str, Any]]) -> str:
    """"same stored events: yes/no" of the cluster run ``r`` against the reference modes' runs ``refs``.

    Yes when the events it stored (the CLI's report and ``scale status`` read
    back) and its counts per small cell (``scale counts``: total, cells,
    checksum) equal those of every reference run.
    """
    stored = f"{r['stored_readback']:,} read back"
    if not refs:
        return f"same stored events: not checked (run {' or '.join(REFERENCE_MODES)} too; {stored})"
    mine = (r["report"].get("stored"), r["stored_readback"], r["counted"], r["cells"], r["cells_checksum"])
    differ = [m for m, ref in refs.items()
              if (ref["report"].get("stored"), ref.get("stored_readback"), ref["counted"], ref["cells"],
                  ref["cells_checksum"]) != mine]
    if not differ:
        return f"same stored events: yes ({stored} = {', '.join(refs)}; counts per cell identical)"
    return f"same stored events: NO ({stored}, {r['counted']:,} in {r['cells']:,} cells; " + "; ".join(
        f"{m} stored {refs[m]['report'].get('stored')}, {refs[m]['counted']:,} in {refs[m]['cells']:,} cells"
        + ("" if refs[m]["cells_checksum"] == r["cells_checksum"] else ", other counts per cell")
        for m in differ) + ")"


def cluster_shutdown_note(r: dict[str, Any]) -> str:
    """How the cluster ended: shut down through the scheduler, or processes killed."""
    note = f"cluster shut down in {r['shutdown_s']:.1f} s"
    if r["forced"]:
        note += f", {len(r['forced'])} command(s) signalled after 30 s"
    if r.get("workers_killed"):
        note += f", {r['workers_killed']} worker process(es) killed by their nanny"
    return note + (f", STRAY PROCESSES KILLED: {r['strays']}" if r["strays"] else ", no stray processes")


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"| {'case':<62} | {'seconds':>8} | {'peak RSS MB':>11} | note"
    print("\n" + head)
    print("|" + "|".join("-" * len(c) for c in head.split("|")[1:]))
    for r in rows:
        sec = f"{r['value']:8.1f}" if r["value"] is not None else f"{'-':>8}"
        rss = f"{r['peak_rss_mb']:11,.0f}" if r.get("peak_rss_mb") is not None else f"{'-':>11}"
        print(f"| {r['case']:<62} | {sec} | {rss} | {r['note']}")


if __name__ == "__main__":
    main()
