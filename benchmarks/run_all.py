"""Run every benchmark of gridwatch in one go (``make bench``) and print their tables.

    python benchmarks/run_all.py            # full: ingest 1e5+1e6, Gi* vs esda, null-map FDR, MCLP
    python benchmarks/run_all.py --quick    # smaller sizes, a few minutes

Each benchmark is its own script (run it alone for its options); this runner
calls them one after another with the interpreter running it, so the figures
come from the same machine in the same session.  Tables are also written
under benchmarks/results/ by the scripts that support it.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

FULL = [
    ("ingest", ["bench_ingest.py"]),
    ("Gi* vs esda", ["bench_gistar.py"]),
    ("Gi* null-map FDR", ["bench_gistar_null.py"]),
    ("MCLP exact/greedy/spopt", ["bench_mclp.py"]),
]
QUICK = [
    ("ingest", ["bench_ingest.py", "--sizes", "100000", "--no-xlsx"]),
    ("Gi* vs esda", ["bench_gistar.py", "--repeat", "1", "--k", "1"]),
    ("Gi* null-map FDR", ["bench_gistar_null.py", "--maps", "20", "--means", "2", "10"]),
    ("MCLP exact/greedy/spopt", ["bench_mclp.py", "--quick"]),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.platform()}")
    failed = 0
    for title, cmd in (QUICK if args.quick else FULL):
        print(f"\n=== {title}: {' '.join(cmd)}", flush=True)
        t = time.perf_counter()
        res = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], cwd=HERE.parent)
        print(f"--- {title}: {time.perf_counter() - t:.0f} s, exit {res.returncode}", flush=True)
        failed += res.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
