"""The workspace's categories: ``categories list | merge | rename``."""

from __future__ import annotations

import argparse
from typing import Any

from geo.cli.common import add_workspace, open_workspace, print_json


def cmd_categories_list(args: argparse.Namespace) -> int:
    from geo.store.categories import category_table

    ws = open_workspace(args)
    table = category_table(ws.store_path, ws.settings, top_values=args.top)
    if args.json:
        print_json({"categories": table.to_dict(orient="records")})
        return 0
    if table.empty:
        print(f"the store of {ws.root} holds no events yet")
        return 0
    print(f"{'code':<28}{'kind':<11}{'events':>8}  label · most common raw values")
    for r in table.itertuples():
        label = r.label + (f" / {r.label_zh}" if r.label_zh and r.label_zh != r.label else "")
        print(f"{r.code:<28}{r.kind:<11}{r.events:>8}  {label} · {r.top_raw_values}")
    return 0


def cmd_categories_merge(args: argparse.Namespace) -> int:
    from geo.scale.engine import committed_ingests, recode_categories, store_dir
    from geo.store import audit
    from geo.store.categories import merge_categories

    ws = open_workspace(args)
    doc = merge_categories(ws.root, ws.store_path, ws.settings, args.target, args.members,
                           label=args.label, label_zh=args.label_zh)
    partitioned = store_dir(ws)
    if committed_ingests(partitioned):  # the partitioned (Dask) store holds events too: same move there
        doc["moved_partitioned"] = recode_categories(partitioned, doc["target"], doc["codes"], doc["raw_values"])
    audit.record(ws, "categories_merge", actor=audit.cli_actor(), role="admin", target=args.target,
                 details={k: doc[k] for k in ("moved", "codes", "raw_values")})
    if args.json:
        print_json(doc)
    else:
        print(f"merged {', '.join(doc['codes'] + doc['raw_values'])} into {doc['target']}: "
              f"{doc['moved']} events moved; later ingests map these raw values the same way ({doc['file']})")
        if "moved_partitioned" in doc:
            print(f"partitioned store {store_dir(ws)}: {doc['moved_partitioned']} events moved")
    return 0


def cmd_categories_rename(args: argparse.Namespace) -> int:
    from geo.store import audit
    from geo.store.categories import rename_category

    ws = open_workspace(args)
    doc = rename_category(ws.root, ws.settings, args.code, label=args.label, label_zh=args.label_zh,
                          label_en=args.label_en)
    audit.record(ws, "categories_rename", actor=audit.cli_actor(), role="admin", target=args.code,
                 details={k: doc[k] for k in ("label", "label_zh", "label_en")})
    if args.json:
        print_json(doc)
    else:
        print(f"{doc['code']}: label {doc['label']!r}"
              + (f", label_zh {doc['label_zh']!r}" if doc["label_zh"] else "")
              + (f", label_en {doc['label_en']!r}" if doc["label_en"] else ""))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``categories`` and its subcommands to the ``gridwatch`` sub-parser."""
    group = sub.add_parser("categories", help="the workspace's categories: list, merge, rename",
                           description="Raw category values with no match in the category table become the "
                                       "workspace's own categories (categories.toml). List them, merge raw "
                                       "values or categories into one, or relabel one, without re-ingesting.")
    csub = group.add_subparsers(dest="categories_command", metavar="SUBCOMMAND", required=True)
    p = csub.add_parser("list", help="every category in the store with its kind, count and raw values")
    p.add_argument("--top", type=int, default=5, help="raw values shown per category (default 5)")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_categories_list)

    p = csub.add_parser("merge", help="move categories or raw values into one category",
                        description="Every event whose category code or raw value is named moves to TARGET "
                                    "(a code of the table, other, a workspace category or a new code).")
    p.add_argument("target", metavar="TARGET")
    p.add_argument("members", nargs="+", metavar="CODE_OR_RAW_VALUE")
    p.add_argument("--label", help="label of TARGET when it is a workspace category (the data's language)")
    p.add_argument("--label-zh", help="Chinese label of TARGET (optional)")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_categories_merge)

    p = csub.add_parser("rename", help="relabel one of the workspace's own categories")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--label", help="label in the data's language")
    p.add_argument("--label-zh", help="Chinese label")
    p.add_argument("--label-en", help="English label")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_categories_rename)
