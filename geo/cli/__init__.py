"""The ``gridwatch`` command line: one module per command group.

Each command parses its flags, calls one library function and prints a short
human summary (or, with ``--json``, one JSON document on stdout).  Errors a
user can fix print ``error: …`` on stderr and exit with status 2; the store
is never left half-written.

Modules: :mod:`~geo.cli.common` (the shared, public argument and output helpers every group
imports), :mod:`~geo.cli.events` (init, ingest, status, export, sample, setup-sample),
:mod:`~geo.cli.categories` (categories list, merge, rename), :mod:`~geo.cli.grids`, :mod:`~geo.cli.hotspots`, :mod:`~geo.cli.planning`,
:mod:`~geo.cli.trends`, :mod:`~geo.cli.scale`, :mod:`~geo.cli.admin`.
Public API: :func:`main` (the console script), :func:`build_parser`,
:func:`join_negative_values` and :func:`error_document`.

With ``--json`` anywhere on the command line every failure — a wrong flag, a
missing workspace, an unreadable file — is one JSON document on stdout,
``{"error": …, "hint": …, "type": …}``, and the exit status is 2 (1 for an
unexpected error, which without ``--json`` shows its traceback).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from geo.cli import admin, categories, events, grids, hotspots, planning, scale, trends
from geo.cli.common import print_json
from geo.errors import GridwatchError, InputFileError, SettingsError, WorkspaceError

__all__ = ["build_parser", "error_document", "join_negative_values", "main"]

# "-74.26,40.49,-73.70,40.92": a list of numbers whose first is negative (argparse takes it for a flag)
_NEGATIVE_LIST = re.compile(r"^-\d[\d.]*(,\s*-?\d[\d.]*)+$")


class UsageError(GridwatchError):
    """A command line argparse refused (raised instead of exiting when ``--json`` was given)."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    json_errors = False  # set by main() for the duration of one parse

    def error(self, message: str) -> Any:  # type: ignore[override]
        if _Parser.json_errors:
            raise UsageError(message, self.prog)
        return super().error(message)


def join_negative_values(argv: Sequence[str]) -> list[str]:
    """``--bbox -74.26,40.49,-73.70,40.92`` → ``--bbox=-74.26,40.49,-73.70,40.92``.

    argparse reads a value that starts with ``-`` and is not a single number as a flag
    ("expected one argument"); a comma-separated list of numbers after a long option is
    joined to it, so both spellings work for every option that takes coordinates.
    """
    out: list[str] = []
    for token in argv:
        prev = out[-1] if out else ""
        if (_NEGATIVE_LIST.match(token) and prev.startswith("--") and "=" not in prev):
            out[-1] = f"{prev}={token}"
        else:
            out.append(token)
    return out


_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (UsageError, "run the command with --help for its flags and their values"),
    (WorkspaceError, "pass --workspace DIR (or set GRIDWATCH_WORKSPACE), or create one with `gridwatch init`"),
    (SettingsError, "fix the named key in the workspace's gridwatch.toml (defaults: geo/settings.py, README)"),
    (InputFileError, "fix the named file, row or column, or describe its columns with --mapping FILE"),
    (FileNotFoundError, "check the path: the file or folder does not exist"),
    (PermissionError, "check that the file can be read (and the folder written) by this user"),
    (GridwatchError, "the message says what to change"),
    (ValueError, "check the values given on the command line (see --help)"),
    (Exception, "an unexpected error (a bug): run the command again without --json for the traceback and "
                "report it"),
)


def error_document(exc: BaseException) -> dict[str, str]:
    """The JSON form of a failure: ``error`` (the message), ``hint`` (what to do), ``type``."""
    hint = getattr(exc, "hint", None) or next(h for t, h in _HINTS if isinstance(exc, t))
    message = f"{exc.prog}: {exc}" if isinstance(exc, UsageError) else str(exc)
    return {"error": message, "hint": hint, "type": type(exc).__name__}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gridwatch",
        description="Grid-based urban enforcement analytics: ingest patrol / 12345 hotline / violation "
                    "exports, index them on H3 grids, find hotspots and plan enforcement posts.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (events, categories, grids, hotspots, planning, trends, scale, admin):
        group.add_commands(sub)
    events.add_setup_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = join_negative_values(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv
    try:
        _Parser.json_errors = want_json
        try:
            args = parser.parse_args(argv)
        finally:
            _Parser.json_errors = False
        code = int(args.handler(args))
        sys.stdout.flush()  # inside the try: a closed pipe is met here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader of our output went away (``gridwatch status --json | head -c 10``): stop quietly.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
    except (GridwatchError, FileNotFoundError, PermissionError, ValueError) as exc:
        if want_json:
            print_json(error_document(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not the user's input: JSON still, and the traceback without --json
        if not want_json:
            raise
        print_json(error_document(exc))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
