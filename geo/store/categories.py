"""A workspace's own categories: raw values with no taxonomy match, kept, named and mergeable.

Exports from any city name their problems in their own words ("Noise - Residential",
"Blocked Driveway", "违章搭建").  A raw value that matches no category of the
workspace's table (``[[settings.categories]]`` in ``gridwatch.toml``, the Beijing
taxonomy by default) becomes a category of the workspace itself instead of ``other``:
its code is :func:`category_code` of the value and its label is the value as written
(in the data's language).  They live in ``WORKSPACE/categories.toml``::

    [[categories]]
    code = "noise_residential"
    label = "Noise - Residential"      # the data's language
    label_zh = "居民区噪声"              # optional; the app shows whichever label exists
    values = ["Noise - Residential"]   # raw values (exact, case-insensitive) that map here

An entry whose ``code`` is one of the table's codes (or ``other``) only adds raw
values to it: that is what merging a raw value into ``illegal_parking`` writes.

Merging and renaming change the stored events' ``category`` in place (the raw value
stays in ``category_raw``), so nothing is re-ingested, and the file, so later
ingests map the same raw values the same way.  ``gridwatch categories merge`` moves
the events of the partitioned (Dask) store too (:func:`geo.scale.engine.recode_categories`).

Public API: :data:`FILE_NAME`, :func:`category_code`, :func:`read_categories`,
:func:`register_categories`, :func:`category_table`, :func:`merge_categories`,
:func:`rename_category`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from geo.errors import SettingsError
from geo.settings import OTHER_CATEGORY, Category, Settings
from geo.store.database import connect

FILE_NAME = "categories.toml"
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_HEADER = ("# The workspace's own problem categories (raw values with no match in the category table).\n"
           "# label: the data's language; label_zh / label_en optional.  values: raw values mapped here.\n"
           "# Change with `gridwatch categories merge | rename`, or edit by hand.\n")


def category_code(value: str) -> str:
    """Stable code of a raw category value: case-folded words joined by ``_``.

    ``"Noise - Residential"`` → ``noise_residential``; ``"违章 搭建"`` → ``违章_搭建``; a value
    with no letters or digits gets ``c_`` and 8 hex digits of its hash.
    """
    code = _NON_WORD.sub("_", str(value).casefold()).strip("_")
    if not code:
        code = "c_" + hashlib.sha1(str(value).encode("utf-8")).hexdigest()[:8]
    return code


def _path(root: Path) -> Path:
    return Path(root) / FILE_NAME


def _load_entries(root: Path) -> list[dict[str, Any]]:
    path = _path(root)
    if not path.exists():
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML: {exc}") from None
    entries = doc.get("categories", [])
    allowed = {"code", "label", "label_zh", "label_en", "values", "weight"}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not e.get("code"):
            raise SettingsError(f"{path}: categories[{i}] needs a code")
        extra = set(e) - allowed
        if extra:
            raise SettingsError(f"{path}: categories[{i}] ({e['code']}): unknown key(s) {sorted(extra)}; "
                                f"known: {', '.join(sorted(allowed))}")
    return [dict(e) for e in entries]


def _save_entries(root: Path, entries: list[dict[str, Any]]) -> Path:
    path = _path(root)
    clean = []
    for e in entries:
        out = {k: e[k] for k in ("code", "label", "label_zh", "label_en") if e.get(k)}
        if "weight" in e:
            out["weight"] = float(e["weight"])
        out["values"] = sorted(dict.fromkeys(str(v) for v in e.get("values", [])))
        clean.append(out)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(_HEADER + tomli_w.dumps({"categories": clean}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_categories(root: str | os.PathLike[str], table_codes: set[str] | frozenset[str]
                    ) -> tuple[tuple[Category, ...], dict[str, str]]:
    """The workspace's own categories and its exact raw-value map, from ``categories.toml``.

    Parameters
    ----------
    root : path-like
        The workspace folder.
    table_codes : set of str
        Codes of the category table (entries with these codes only add raw values).

    Returns
    -------
    categories : the workspace's own :class:`~geo.settings.Category` entries
    values : case-folded raw value → category code
    """
    entries = _load_entries(Path(root))
    own: list[Category] = []
    values: dict[str, str] = {}
    for e in entries:
        code = str(e["code"])
        if code not in table_codes and code != OTHER_CATEGORY:
            try:
                own.append(Category(code=code, label=str(e.get("label", "")), label_zh=str(e.get("label_zh", "")),
                                    label_en=str(e.get("label_en", "")), weight=float(e.get("weight", 1.0))))
            except ValueError as exc:
                raise SettingsError(f"{_path(Path(root))}: category {code!r}: {exc}") from None
        for v in e.get("values", []):
            values[str(v).casefold()] = code
    return tuple(own), values


def register_categories(root: str | os.PathLike[str], new: dict[str, dict[str, Any]]) -> Path | None:
    """Add categories met in an ingest (``code → {"label", "values"}``) to ``categories.toml``.

    Existing entries keep their labels; their raw values are extended.  Returns the file
    written, or ``None`` when there was nothing new.
    """
    if not new:
        return None
    entries = _load_entries(Path(root))
    by_code = {e["code"]: e for e in entries}
    for code, info in new.items():
        entry = by_code.get(code)
        if entry is None:
            entry = {"code": code, "label": info.get("label") or code, "values": []}
            entries.append(entry)
            by_code[code] = entry
        entry["values"] = [*entry.get("values", []), *info.get("values", [])]
    return _save_entries(Path(root), entries)


def category_table(store_path: str | os.PathLike[str], settings: Settings, top_values: int = 5) -> pd.DataFrame:
    """Every category in the store: its code, label, kind, event count and most common raw values.

    ``kind`` is ``table`` (the configured taxonomy), ``workspace`` (the workspace's own,
    from its data) or ``other``.  Sorted by events, most first.
    """
    with connect(store_path, read_only=True) as con:
        rows = con.execute("SELECT category, category_raw, count(*) AS n FROM events GROUP BY 1, 2").df()
    table_codes = {c.code for c in settings.categories}
    labels = {c.code: c for c in settings.all_categories}
    out = []
    for code, group in rows.groupby("category", sort=False):
        group = group.sort_values("n", ascending=False)
        cat = labels.get(code)
        kind = "table" if code in table_codes else OTHER_CATEGORY if code == OTHER_CATEGORY else "workspace"
        raw = [f"{v} ({n})" for v, n in zip(group["category_raw"].head(top_values), group["n"].head(top_values),
                                            strict=True)]
        out.append({"code": str(code), "label": cat.display("en") if cat else str(code),
                    "label_zh": cat.label_zh if cat else "", "kind": kind, "events": int(group["n"].sum()),
                    "raw_values": int(len(group)), "top_raw_values": "; ".join(raw)})
    frame = pd.DataFrame(out, columns=["code", "label", "label_zh", "kind", "events", "raw_values",
                                       "top_raw_values"])
    return frame.sort_values(["events", "code"], ascending=[False, True], kind="stable").reset_index(drop=True)


def merge_categories(root: str | os.PathLike[str], store_path: str | os.PathLike[str], settings: Settings,
                     target: str, members: list[str], *, label: str | None = None,
                     label_zh: str | None = None) -> dict[str, Any]:
    """Merge categories or raw values into ``target``, in the store and in ``categories.toml``.

    Parameters
    ----------
    root, store_path : path-like
        The workspace folder and its event store.
    settings : Settings
        The workspace's settings (with its own categories loaded).
    target : str
        A code of the category table, ``other``, one of the workspace's codes, or a new code
        (then ``label`` names it; default: the code).
    members : list of str
        Category codes (every event of the category moves) or raw values as they appear in
        ``category_raw`` (matched case-insensitively; those events move).
    label, label_zh : str, optional
        Labels of the target when it is a workspace category.

    Returns
    -------
    dict
        ``target``, ``moved`` (events whose category changed), ``codes`` and ``raw_values`` merged.

    Raises
    ------
    SettingsError
        When a member matches no category code and no raw value in the store.
    """
    root = Path(root)
    table_codes = {c.code for c in settings.categories}
    own_codes = {c.code for c in settings.workspace_categories}
    if not members:
        raise SettingsError("name at least one category code or raw value to merge")
    with connect(store_path) as con:
        stored = con.execute("SELECT category, category_raw, count(*) FROM events GROUP BY 1, 2").fetchall()
        codes_in_store = {str(c) for c, _, _ in stored}
        raw_in_store: dict[str, set[str]] = {}
        for _, raw, _ in stored:
            if raw is not None:
                raw_in_store.setdefault(str(raw).casefold(), set()).add(str(raw))
        codes, raws, unknown = [], [], []
        for m in members:
            if m in codes_in_store or m in own_codes or m in table_codes or m == OTHER_CATEGORY:
                codes.append(m)
            elif m.casefold() in raw_in_store:
                raws.extend(sorted(raw_in_store[m.casefold()]))
            else:
                unknown.append(m)
        if unknown:
            raise SettingsError(f"nothing to merge for {unknown}: neither a category code nor a raw value in the "
                                "store; see `gridwatch categories list`")
        if target in table_codes and any(c in table_codes and c != target for c in codes):
            raise SettingsError("merging two categories of the category table changes the taxonomy; edit "
                                "[[settings.categories]] in gridwatch.toml instead")
        con.begin()
        moved = con.execute(
            "UPDATE events SET category = ? WHERE category <> ? AND (list_contains(?, category) "
            "OR list_contains(?, category_raw))", [target, target, codes, raws]).fetchone()[0]
        con.commit()
        remaining = {str(c) for (c,) in con.execute("SELECT DISTINCT category FROM events").fetchall()}
    entries = _load_entries(root)
    moved_values: list[str] = list(raws)
    kept = []
    for e in entries:
        if e["code"] in codes and e["code"] != target:
            moved_values.extend(e.get("values", []))
        else:
            kept.append(e)
    # raw values of merged codes present in the store move too (e.g. codes created at scale)
    for code, raw, _ in stored:
        if str(code) in codes and raw is not None and str(code) not in table_codes:
            moved_values.append(str(raw))
    # a raw value maps to one category only; a workspace category left with no value and no event goes
    moved_set = {v.casefold() for v in moved_values}
    for e in kept:
        if e["code"] != target:
            e["values"] = [v for v in e.get("values", []) if str(v).casefold() not in moved_set]
    kept = [e for e in kept if e["code"] == target or e["values"] or e["code"] in remaining
            or e["code"] in table_codes or e["code"] == OTHER_CATEGORY]
    entry = next((e for e in kept if e["code"] == target), None)
    if entry is None:
        entry = {"code": target, "values": []}
        if target not in table_codes and target != OTHER_CATEGORY:
            entry["label"] = label or target
        kept.append(entry)
    if label and target not in table_codes:
        entry["label"] = label
    if label_zh and target not in table_codes:
        entry["label_zh"] = label_zh
    entry["values"] = [*entry.get("values", []), *moved_values]
    path = _save_entries(root, kept)
    return {"target": target, "moved": int(moved), "codes": codes, "raw_values": raws, "file": str(path)}


def rename_category(root: str | os.PathLike[str], settings: Settings, code: str, *, label: str | None = None,
                    label_zh: str | None = None, label_en: str | None = None) -> dict[str, Any]:
    """Change the labels of one of the workspace's own categories (its code and events stay).

    Categories of the table are renamed in ``gridwatch.toml`` (``[[settings.categories]]``).
    """
    root = Path(root)
    if code in {c.code for c in settings.categories} or code == OTHER_CATEGORY:
        raise SettingsError(f"{code!r} is in the category table; rename it under [[settings.categories]] in "
                            "gridwatch.toml")
    if not (label or label_zh or label_en):
        raise SettingsError("give --label, --label-zh or --label-en")
    entries = _load_entries(root)
    entry = next((e for e in entries if e["code"] == code), None)
    if entry is None:
        if code not in {c.code for c in settings.workspace_categories}:
            known = ", ".join(c.code for c in settings.workspace_categories) or "none yet"
            raise SettingsError(f"no workspace category {code!r}; the workspace's own categories: {known}")
        entry = {"code": code, "values": []}
        entries.append(entry)
    for key, value in (("label", label), ("label_zh", label_zh), ("label_en", label_en)):
        if value:
            entry[key] = value
    path = _save_entries(root, entries)
    return {"code": code, **{k: entry.get(k, "") for k in ("label", "label_zh", "label_en")}, "file": str(path)}
