"""End-to-end steps shared by the CLI, the app and the notebooks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from geo.ingest.pipeline import IngestReport, ingest_file
from geo.store.database import store_counts
from geo.store.workspace import SAMPLE_WORKSPACE, Workspace, load_workspace

SAMPLE_FILES: tuple[tuple[str, str], ...] = (
    ("patrol.csv", "patrol"),
    ("hotline_12345.csv", "hotline"),
    ("violations.xlsx", "violation"),
    ("snapshots.geojson", "snapshot"),
)
"""Raw exports of the sample and the source each one is ingested as."""

SAMPLE_SEED = 1


def ensure_sample_workspace(
    root: str | Path | None = None,
    *,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[Workspace, list[IngestReport]]:
    """Make the sample workspace ready: raw exports generated, store filled.

    Idempotent: exports are generated only when missing (seed
    :data:`SAMPLE_SEED`), and files are ingested only into an empty store.

    Returns
    -------
    (Workspace, list of IngestReport)
        The reports are empty when the store already held events.
    """
    from geo.synthetic.sample import write_sample

    root = Path(root) if root else SAMPLE_WORKSPACE
    ws = load_workspace(root)
    raw_dir = root / "raw"
    if not all((raw_dir / name).exists() for name, _ in SAMPLE_FILES):
        if progress:
            progress("generate sample exports", 0.0)
        write_sample(raw_dir, seed=SAMPLE_SEED)
        ws = load_workspace(root)
    reports: list[IngestReport] = []
    if store_counts(ws.store_path)["events"] == 0:
        for i, (name, source) in enumerate(SAMPLE_FILES):
            if progress:
                progress(f"ingest {name}", (i + 1) / (len(SAMPLE_FILES) + 1))
            reports.append(ingest_file(raw_dir / name, source, ws))
    return ws, reports


def report_table(reports: list[IngestReport]) -> list[dict[str, Any]]:
    """Rows of read/stored/duplicates/quarantined per file, for display."""
    return [{"file": Path(r.file).name, "source": r.source, "read": r.read, "stored": r.stored,
             "duplicates": r.duplicates, "quarantined": r.quarantined} for r in reports]
