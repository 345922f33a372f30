"""Analyses computed in another process while the user reads the page.

The forecast's backtest fits learned models for seconds.  A thread could compute it in the
background too, but under CPython's lock it would take turns with the page runs of every session
and slow down the very clicks it is meant to spare; a process only competes for a processor core,
at a lower priority (:data:`WORKER_NICE`).  One worker process, started on first use (``spawn``:
no copy of the server's threads and sockets) and kept for later jobs, so it pays its imports once.

A job reads the workspace itself and returns the version of the events it read
(:func:`geo.store.database.events_version`) with its result: the page takes the result only for
the version it is showing.  Nothing here imports Streamlit (the worker does not need it).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from geo.analysis.filters import EventFilter

WORKER_NICE = 10
"""Scheduling niceness of the worker process (POSIX): the server's page runs come first."""

KEEP_RESULTS = 8
"""Finished jobs whose results are kept until a page asks for them (the oldest go first)."""

_LOCK = threading.Lock()
_POOL: ProcessPoolExecutor | None = None
_JOBS: dict[Hashable, Future[Any]] = {}


def _lower_priority() -> None:
    try:
        os.nice(WORKER_NICE)
    except (AttributeError, OSError):  # no nice() (Windows) or not allowed: the worker keeps the server's priority
        pass


def _pool() -> ProcessPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_lower_priority)
    return _POOL


def submit(token: Hashable, job: Callable[..., Any], *args: Any) -> bool:
    """Queue ``job(*args)`` for the worker unless a job for ``token`` is there already; returns whether it was queued.

    Jobs still waiting for the worker are dropped first: the user has moved on to another tier or
    date, and the worker should not spend a minute on the views passed by.  ``job`` must be a
    module-level function (it is pickled by name) and its arguments picklable.
    """
    with _LOCK:
        if token in _JOBS:
            return False
        for other, future in list(_JOBS.items()):
            if future.cancel():  # only a job that has not started can be cancelled
                del _JOBS[other]
        _JOBS[token] = _pool().submit(job, *args)
        for other in [t for t, f in _JOBS.items() if f.done()][:max(0, len(_JOBS) - KEEP_RESULTS)]:
            del _JOBS[other]  # the oldest results nobody asked for
        return True


def take(token: Hashable) -> Future[Any] | None:
    """The job started for ``token`` (finished or not), handed over once; ``None`` if there is none."""
    with _LOCK:
        return _JOBS.pop(token, None)


def forecast_job(root: str, flt: EventFilter, tier: str, folds: int) -> tuple[tuple[int, int] | None, Any]:
    """In the worker: the workspace's forecast with a ``folds``-week backtest, and the events' version it used.

    The version is ``None`` when the store changed while the events were read (the result is then not used).
    """
    from geo.analysis.forecast import forecast
    from geo.store.database import events_version, read_events
    from geo.store.workspace import load_workspace

    ws = load_workspace(root)
    before = events_version(ws.store_path)
    events = read_events(ws.store_path)
    if events_version(ws.store_path) != before:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the learned models; the backtest judges them
        result = forecast(ws, events, flt, tier=tier, folds=folds, run_backtest=True)
    return before, result
