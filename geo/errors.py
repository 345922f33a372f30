"""Exception types of gridwatch.

Every error a user can trigger is a :class:`GridwatchError`; most are also a
built-in ``ValueError`` so callers that only know the standard library can
catch them.  Messages say what was wrong, where (file, row, column) and how to
fix it — the CLI and the app show them verbatim.
"""

from __future__ import annotations


class GridwatchError(Exception):
    """Base class of all errors raised on purpose by gridwatch."""


class SettingsError(GridwatchError, ValueError):
    """A workspace or settings value is missing or invalid."""


class WorkspaceError(GridwatchError, ValueError):
    """A workspace folder is missing, incomplete or not a gridwatch workspace."""


class InputFileError(GridwatchError, ValueError):
    """An input file cannot be read as a whole (encoding, format, missing columns).

    Row-level problems never raise: they go to quarantine with a reason.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        where = ", ".join(
            part for part in (
                f"file {file}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.row = row
        self.column = column


class SchemaError(GridwatchError, ValueError):
    """A table does not match the event schema."""


class CoordinateError(GridwatchError, ValueError):
    """Coordinates or a coordinate reference system are invalid."""


class InfeasibleError(GridwatchError, ValueError):
    """An optimisation problem has no solution with the given parameters."""


class StoreError(GridwatchError, RuntimeError):
    """The event store cannot be opened or written."""
