"""Plumbing shared by the benchmark scripts and ``run_all.py``.

* result rows: every script can write its figures as a JSON list of
  ``{benchmark, case, metric, value, unit, note}`` (``--json-out FILE``), which
  ``run_all.py`` collects into one table;
* the machine description (CPU model, cores, RAM, OS, Python, library versions);
* :class:`TreeRSS` (:class:`ForestRSS` for several roots): peak resident memory of a process *and its descendants*
  (Dask workers are separate processes, so ``ru_maxrss`` — a max, not a sum —
  would under-count them).

Not a benchmark itself; imported by the scripts next to it (``python
benchmarks/X.py`` puts this folder first on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

ROW_KEYS = ("benchmark", "case", "metric", "value", "unit", "note")
LIBRARIES = ("gridwatch", "numpy", "pandas", "pyarrow", "scipy", "h3", "h3ronpy", "geopandas", "shapely",
             "duckdb", "esda", "libpysal", "spopt", "pulp", "highspy", "dask", "distributed")


def result_row(benchmark: str, case: str, metric: str, value: float | None, unit: str, note: str = "",
               *, peak_rss_mb: float | None = None, ratio: float | None = None, ratio_to: str = ""
               ) -> dict[str, Any]:
    """One machine-readable result.

    ``peak_rss_mb`` is optional: a figure measured for this row alone (e.g. a
    process tree); without it the runner shows the peak RSS of the whole script.
    ``ratio`` is this case's wall time divided by that of its floor or peer
    (``ratio_to`` names it: "floor", "plain HiGHS", "libpysal/esda", "single
    process"), measured in the same run: below 1 is faster than the reference.
    """
    row: dict[str, Any] = {"benchmark": benchmark, "case": case, "metric": metric,
                           "value": None if value is None else float(value), "unit": unit, "note": note}
    if peak_rss_mb is not None:
        row["peak_rss_mb"] = float(peak_rss_mb)
    if ratio is not None and ratio == ratio and ratio_to:  # not NaN
        row["ratio"] = float(ratio)
        row["ratio_to"] = ratio_to
    return row


def add_json_out(parser: Any) -> None:
    """The ``--json-out FILE`` option of every suite script."""
    parser.add_argument("--json-out", type=Path, default=None, metavar="FILE",
                        help="also write the results as a JSON list of {benchmark, case, metric, value, "
                             "unit, note} rows (used by run_all.py)")


def write_rows(path: Path | None, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as JSON to ``path`` (no-op when ``path`` is None)."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1, allow_nan=True), encoding="utf-8")


# --------------------------------------------------------------------------- #
# machine description
# --------------------------------------------------------------------------- #


def _cpu_model() -> str:
    """``model name`` of /proc/cpuinfo, with the architecture and clock (VMs often give a bare family name)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    model = fields.get("model name") or fields.get("hardware") or platform.processor() or "unknown CPU"
    extra = [platform.machine()]
    if fields.get("cpu mhz"):
        extra.append(f"{float(fields['cpu mhz']) / 1000:.1f} GHz")
    return f"{model} ({', '.join(extra)})"


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def machine_description() -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python and key library versions of this machine."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram = _ram_gb()
    return {
        "cpu": _cpu_model(),
        "cores": f"{os.cpu_count()} logical ({usable} usable)",
        "ram": f"{ram:.1f} GiB" if ram else "?",
        "os": _os_name(),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


# --------------------------------------------------------------------------- #
# peak RSS of a process tree
# --------------------------------------------------------------------------- #

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (ppid, session id, CPU seconds of it and its waited-for children) of every live process."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:  # the process ended meanwhile
            continue
        # "pid (comm) state ppid pgrp session ... utime stime cutime cstime": comm may hold spaces and parentheses
        f = stat[stat.rindex(b")") + 2:].split()
        table[int(name)] = (int(f[1]), int(f[3]), sum(int(x) for x in f[11:15]) / tick)
    return table


def descendants(roots: list[int], table: dict[int, tuple[int, int, float]]) -> list[int]:
    """The live processes of ``table`` under ``roots`` (roots included; each once)."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _, _) in table.items():
        children[ppid].append(pid)
    seen, stack = set(), [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(children.get(pid, ()))
    return sorted(seen)


def rss_bytes(pid: int) -> int:
    """Resident bytes of one process (0 once it has ended)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def forest_rss(roots: list[int]) -> tuple[int, int]:
    """(sum of RSS over ``roots`` and all their descendants, number of live processes), bytes."""
    sizes = [rss_bytes(pid) for pid in descendants(roots, proc_table())]
    return sum(sizes), sum(1 for b in sizes if b)


def tree_rss(root: int) -> tuple[int, int]:
    """(sum of RSS over ``root`` and all its descendants, number of processes), bytes."""
    return forest_rss([root])


class TreeRSS:
    """Sample the summed RSS of a process tree every ``interval`` seconds in a thread.

    Use as a context manager around the work; ``peak_mb`` is the largest sum
    seen and ``max_procs`` the largest number of live processes in the tree.
    Shared pages (libraries, copy-on-write) count once per process, so the sum
    is an upper bound of what the tree really holds.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.2) -> None:
        self.pid = os.getpid() if pid is None else int(pid)
        self.roots = [self.pid]
        self.interval = float(interval)
        self.peak_bytes = 0
        self.max_procs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        total, count = forest_rss(self.roots)
        self.peak_bytes = max(self.peak_bytes, total)
        self.max_procs = max(self.max_procs, count)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRSS:
        self._thread = threading.Thread(target=self._run, name="tree-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 1024**2


class ForestRSS(TreeRSS):
    """:class:`TreeRSS` over several process trees (scheduler, worker command, CLI commands): the summed RSS.

    ``add`` puts another root in (a CLI command once started); a root that
    has ended counts nothing.  One pass over ``/proc`` per sample, whatever
    the number of roots (a pass costs ~10 ms of CPU, taken from the cores the
    cluster runs on).
    """

    def __init__(self, pids: list[int], interval: float = 0.2) -> None:
        super().__init__(pids[0], interval)
        self.roots = list(pids)

    def add(self, pid: int) -> None:
        self.roots.append(int(pid))


def wait_with_rusage(pid: int) -> tuple[int, float, float]:
    """Wait for child ``pid``; return (exit code, its ``ru_maxrss`` in MB, its CPU seconds).

    Linux's ``ru_maxrss`` of a waited child is the largest RSS of that child or
    of any of *its* waited-for descendants: a max, not a sum.  The CPU time
    (user + system) does add up the child and its waited-for descendants.
    """
    _, status, usage = os.wait4(pid, 0)
    return (os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024,  # Linux: kilobytes
            usage.ru_utime + usage.ru_stime)


def now_iso() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")
