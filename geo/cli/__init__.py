"""The ``gridwatch`` command line: one module per command group.

Each command parses its flags, calls one library function and prints a short
human summary (or, with ``--json``, one JSON document on stdout).  Errors a
user can fix print ``error: …`` on stderr and exit with status 2; the store
is never left half-written.

Modules: :mod:`~geo.cli.common` (the shared, public argument and output helpers every group
imports), :mod:`~geo.cli.events` (init, ingest, status, export, sample, setup-sample),
:mod:`~geo.cli.grids`, :mod:`~geo.cli.hotspots`, :mod:`~geo.cli.planning`,
:mod:`~geo.cli.trends`, :mod:`~geo.cli.scale`, :mod:`~geo.cli.admin`.
Public API: :func:`main` (the console script) and :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from geo.cli import admin, events, grids, hotspots, planning, scale, trends
from geo.errors import GridwatchError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridwatch",
        description="Grid-based urban enforcement analytics: ingest patrol / 12345 hotline / violation "
                    "exports, index them on H3 grids, find hotspots and plan enforcement posts.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (events, grids, hotspots, planning, trends, scale, admin):
        group.add_commands(sub)
    events.add_setup_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # inside the try: a closed pipe is met here, not at interpreter exit
        return code
    except GridwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (``gridwatch status --json | head -c 10``): stop quietly.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
