"""Files at rest: what the product writes about people is readable by its owner only.

The event store, quarantine files, exports written by the command line and the
app's uploads are created with mode ``0600`` inside folders of mode ``0700``
(issue 21): on a shared street-office machine another local account cannot read
an address, a complaint text or a caller's masked number.

- :func:`private_umask` -- a context in which new files are ``0600`` and new
  folders ``0700`` (the process umask is ``077`` inside it).
- :func:`make_private` -- set an existing file to ``0600`` (a folder to ``0700``),
  e.g. a store created by an older version at ``0644``.
- :func:`private_dir` -- create a folder (and its missing parents) at ``0700``.
- :func:`prune_files` -- remove files older than a number of days under a folder.

The umask is process-wide: the context holds a lock and counts nested and
concurrent users, so the previous umask is restored only when the last one
leaves, and a file made by another thread meanwhile is only ever *more* private.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PRIVATE_FILE_MODE", "PRIVATE_DIR_MODE", "private_umask", "make_private", "private_dir",
           "prune_files"]

PRIVATE_FILE_MODE = 0o600
"""Mode of a file holding personal or operational data: owner read/write."""
PRIVATE_DIR_MODE = 0o700
"""Mode of a folder holding such files: owner only."""

_LOCK = threading.Lock()
_DEPTH = 0
_SAVED = 0o022


@contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files are created ``0600`` and folders ``0700`` (umask ``077``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, private_umask():
    ...     p = Path(d) / "x.csv"
    ...     _ = p.write_text("a")
    ...     oct(p.stat().st_mode & 0o777)
    '0o600'
    """
    global _DEPTH, _SAVED
    with _LOCK:
        if _DEPTH == 0:
            _SAVED = os.umask(0o077)
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                os.umask(_SAVED)


def make_private(path: str | Path) -> Path:
    """Set ``path`` to ``0600`` (a folder to ``0700``) if it exists; return it.

    A file owned by another account (a shared read-only store) is left as it is.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
        want = PRIVATE_DIR_MODE if stat.S_ISDIR(mode) else PRIVATE_FILE_MODE
        if stat.S_IMODE(mode) != want:
            path.chmod(want)
    except (FileNotFoundError, PermissionError):
        pass
    return path


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) at ``0700``, and set it to ``0700`` if it existed."""
    path = Path(path)
    with private_umask():
        path.mkdir(parents=True, exist_ok=True)
    return make_private(path)


def prune_files(folder: str | Path, older_than_days: float, *, now: float | None = None) -> list[Path]:
    """Remove the files under ``folder`` last modified more than ``older_than_days`` ago.

    Folders left empty are removed too.  Returns the files removed (none when
    the folder does not exist).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    limit = (time.time() if now is None else now) - older_than_days * 86400.0
    removed: list[Path] = []
    for p in sorted(folder.rglob("*"), reverse=True):  # children before their folders
        if p.is_file() and p.stat().st_mtime < limit:
            p.unlink(missing_ok=True)
            removed.append(p)
        elif p.is_dir() and not any(p.iterdir()):
            shutil.rmtree(p, ignore_errors=True)
    return removed
