"""Shared pieces of every command group: workspace and filter flags, JSON output, warnings, progress.

Every module of :mod:`geo.cli` imports these; none of them imports a command group.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from geo.errors import GridwatchError
from geo.settings import SOURCES

Handler = Callable[[argparse.Namespace], int]


def print_json(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def stderr_progress(label: str) -> Callable[[str, float], None]:
    def progress(stage: str, fraction: float) -> None:
        print(f"[{label}] {stage:<12} {fraction:6.0%}", file=sys.stderr, flush=True)
    return progress


@contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Collect library warnings; print them on stderr when the block ends (and let --json carry them)."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
        messages.extend(str(w.message) for w in caught)
    for m in messages:
        print(f"warning: {m}", file=sys.stderr)


def open_workspace(args: argparse.Namespace) -> Any:
    from geo.store.workspace import load_workspace

    return load_workspace(getattr(args, "workspace", None))


def filter_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~geo.analysis.filters.EventFilter` given by the shared filter flags."""
    from geo.analysis.filters import EventFilter

    return EventFilter(window=getattr(args, "window", None) or "all",
                             sources=tuple(getattr(args, "source", None) or ()),
                             categories=tuple(getattr(args, "category", None) or ()),
                             since=parse_date(getattr(args, "since", None)), until=parse_date(getattr(args, "until", None)))


def parse_date(value: str | None) -> Any:
    from datetime import date

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GridwatchError(f"date {value!r} is not YYYY-MM-DD") from None


def events_for(ws: Any, args: argparse.Namespace) -> Any:
    """Stored events passing the command's filter flags."""
    from geo.analysis.filters import apply_filter
    from geo.store.database import read_events

    flt = filter_from_args(args)
    return apply_filter(read_events(ws.store_path), flt, ws.settings), flt


def add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", "-w", metavar="DIR",
                   help="workspace folder (default: $GRIDWATCH_WORKSPACE, else the shipped Xicheng sample)")


def add_filter_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", help="named time window (all, morning_peak, evening_peak, day, night, "
                                    "weekday, weekend, or the workspace's own)")
    p.add_argument("--source", action="append", choices=SOURCES, help="only these sources (repeatable)")
    p.add_argument("--category", action="append", help="only these category codes (repeatable)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="first local date (inclusive)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last local date (inclusive)")
