"""Analyses computed in the background while the user reads the page.

The forecast's backtest fits learned models for seconds.  Started when a page opens, it is usually
done by the time the user turns the forecast on.  Each job runs on a thread of the server, reads the
workspace itself and answers with the version of the events it read
(:func:`geo.store.database.events_version`) and its result: a page takes the result only for the
version it shows.  One job runs at a time; of the jobs asked for meanwhile only the latest waits
(the user has moved on from the others).  (A worker process would not share the server's
interpreter lock, but would need its answers serialised; the project unpickles nothing.)
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

from geo.analysis.filters import EventFilter

BACKGROUND_NICE = 10
"""Scheduling niceness of a background thread (Linux): the pages' own runs come first."""

KEEP_RESULTS = 8
"""Finished jobs whose results are kept until a page asks for them (the oldest go first)."""

_LOCK = threading.Lock()
_JOBS: dict[Hashable, Future[Any]] = {}
_running: Hashable | None = None
_waiting: tuple[Hashable, Callable[..., Any], tuple[Any, ...], Future[Any]] | None = None


def forecast_job(root: str, flt: EventFilter, tier: str, folds: int) -> tuple[tuple[int, int] | None, Any]:
    """The workspace's forecast with a ``folds``-week backtest, and the events' version it used.

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


def submit(token: Hashable, job: Callable[..., Any], *args: Any) -> bool:
    """Run ``job(*args)`` on a background thread unless a job for ``token`` is known already.

    Returns whether it was queued.  A job asked for while another runs waits; a job still waiting
    is dropped when a newer one is asked for.
    """
    global _waiting
    with _LOCK:
        if token in _JOBS:
            return False
        if _waiting is not None:
            _waiting[3].cancel()
            _JOBS.pop(_waiting[0], None)
            _waiting = None
        future: Future[Any] = Future()
        _JOBS[token] = future
        if _running is None:
            _start(token, job, args, future)
        else:
            _waiting = (token, job, args, future)
        for other in [t for t, f in _JOBS.items() if f.done()][:max(0, len(_JOBS) - KEEP_RESULTS)]:
            del _JOBS[other]  # the oldest results nobody asked for
        return True


def take(token: Hashable) -> Future[Any] | None:
    """The job started for ``token`` (finished or not), handed over once; ``None`` if there is none."""
    with _LOCK:
        return _JOBS.pop(token, None)


def _start(token: Hashable, job: Callable[..., Any], args: tuple[Any, ...], future: Future[Any]) -> None:
    global _running
    _running = token
    future.set_running_or_notify_cancel()
    threading.Thread(target=_run, args=(job, args, future), name="gridwatch-background", daemon=True).start()


def lower_thread_priority() -> None:
    """Give the calling thread :data:`BACKGROUND_NICE` (Linux schedules threads one by one)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # not Linux: the thread keeps the server's priority
        pass


def _run(job: Callable[..., Any], args: tuple[Any, ...], future: Future[Any]) -> None:
    global _running, _waiting
    lower_thread_priority()
    try:
        future.set_result(job(*args))
    except Exception as exc:  # noqa: BLE001 - handed to whoever takes the job
        future.set_exception(exc)
    finally:
        with _LOCK:
            _running = None
            if _waiting is not None:
                token, waiting_job, waiting_args, waiting = _waiting
                _waiting = None
                _start(token, waiting_job, waiting_args, waiting)


