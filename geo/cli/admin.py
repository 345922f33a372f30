"""Command-line handlers of access and audit: ``gridwatch users …`` and ``gridwatch audit``.

The command line acts as the local administrator (whoever can run it can read
the workspace anyway); every change is audited with actor
:func:`geo.store.audit.cli_actor`.  Passwords are read with ``getpass`` (asked
twice) or, for scripts, one line from standard input (``--password-stdin``);
there is deliberately no flag that takes a password on the command line,
where it would land in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import warnings
from typing import Any

from geo.access import auth
from geo.errors import GridwatchError
from geo.store import audit

# --- helpers -----------------------------------------------------------------------------------

def _read_password(args: argparse.Namespace, prompt: str = "Password") -> str:
    """The new password from stdin (one line) or from two ``getpass`` prompts."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise GridwatchError("--password-stdin: standard input held no password line")
        return password
    if not sys.stdin.isatty():  # getpass would fall back to echoing stdin, or end in a termios traceback
        raise GridwatchError(_NO_TERMINAL)
    first = _ask(f"{prompt}: ")
    second = _ask(f"{prompt} (again): ")
    if first != second:
        raise GridwatchError("the two passwords differ; nothing was changed")
    return first


_NO_TERMINAL = ("no terminal to ask for the password on (a script or a pipe?): give it as one line on standard "
                "input with --password-stdin, e.g. `printf '%s\\n' \"$PW\" | gridwatch users add NAME --role ROLE "
                "--password-stdin`")


def _ask(prompt: str) -> str:
    """One hidden answer from the terminal; a clear error (not a termios traceback) without one."""
    try:
        import termios

        terminal_errors: tuple[type[BaseException], ...] = (termios.error,)
    except ImportError:  # pragma: no cover - Windows
        terminal_errors = ()
    try:
        with warnings.catch_warnings():
            # Without a terminal getpass would warn and read the password from stdin with echo on.
            warnings.simplefilter("error", getpass.GetPassWarning)
            return getpass.getpass(prompt)
    except (getpass.GetPassWarning, EOFError, OSError, *terminal_errors):
        raise GridwatchError(_NO_TERMINAL) from None


def _user_doc(u: auth.User) -> dict[str, Any]:
    return {"username": u.username, "role": u.role, "display_name": u.display_name, "email": u.email,
            "disabled": u.disabled, "created_at": u.created_at, "last_login": u.last_login,
            "locked_until": u.locked_until}


# --- users -------------------------------------------------------------------------------------

def cmd_users_add(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace

    ws = open_workspace(args)
    password = _read_password(args)
    user = auth.add_user(ws, args.name, args.role, password, display_name=args.display_name or "",
                         email=args.email or "", actor=audit.cli_actor())
    print(f"added user {user.username} ({user.role})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace, print_json

    ws = open_workspace(args)
    users = auth.list_users(ws)
    if args.json:
        print_json([_user_doc(u) for u in users])
        return 0
    if not users:
        print(f"no users in {auth.users_path(ws)}; create the first admin with `gridwatch users bootstrap`")
        return 0
    print(f"{'user':<20}{'role':<10}{'state':<10}{'last login':<27}name / e-mail")
    for u in users:
        state = "disabled" if u.disabled else ("locked" if u.locked_until else "active")
        who = " / ".join(x for x in (u.display_name, u.email) if x)
        print(f"{u.username:<20}{u.role:<10}{state:<10}{u.last_login or '-':<27}{who}")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace

    ws = open_workspace(args)
    if auth.get_user(ws, args.name) is None:  # fail before asking for a password
        raise auth.AuthError("unknown_user", f"no user {args.name!r}; list users with `gridwatch users list`")
    auth.set_password(ws, args.name, _read_password(args, "New password"), actor=audit.cli_actor())
    print(f"password of {args.name} changed")
    return 0


def cmd_users_role(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace

    auth.set_role(open_workspace(args), args.name, args.role, actor=audit.cli_actor())
    print(f"{args.name} is now {args.role}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace

    disabled = args.users_command == "disable"
    auth.set_disabled(open_workspace(args), args.name, disabled, actor=audit.cli_actor())
    print(f"{args.name} {'disabled' if disabled else 'enabled'}")
    return 0


def cmd_users_unlock(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace

    auth.unlock_user(open_workspace(args), args.name, actor=audit.cli_actor())
    print(f"{args.name} unlocked")
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace

    auth.remove_user(open_workspace(args), args.name, actor=audit.cli_actor())
    print(f"removed user {args.name}")
    return 0


def cmd_users_bootstrap(args: argparse.Namespace) -> int:
    from geo.cli.common import open_workspace, print_json

    ws = open_workspace(args)
    password = auth.bootstrap_admin(ws, args.name)
    if args.json:
        print_json({"created": password is not None, "username": args.name if password else None,
                     "password": password})
        return 0
    if password is None:
        print(f"users already exist in {auth.users_path(ws)}; nothing to do "
              "(add more with `gridwatch users add NAME --role ROLE`)")
        return 0
    demo: list[tuple[str, str, str]] = []
    if getattr(args, "demo", False):
        # one account per working role, so the first start reaches the map (the admin has no map pages)
        import secrets

        length = max(20, ws.settings.access.min_password_length)
        for role in DEMO_ROLES:
            pw = secrets.token_urlsafe(length)[:length]
            auth.add_user(ws, role, role, pw, display_name=f"demo {role}", actor=audit.cli_actor())
            demo.append((role, role, pw))
    print(f"created the first admin {args.name!r}. Its password (shown only this once):\n\n    {password}\n\n"
          f"Log in to the app with it, then change it: gridwatch users passwd {args.name}")
    if demo:
        print("\ndemo accounts (user / role / password, shown only this once; the leader opens on the overview "
              "map, the brigade on the hotspot map and the planner):\n")
        for name, role, pw in demo:
            print(f"    {name:<8} {role:<8} {pw}")
        print("\nremove them when real users exist: gridwatch users remove NAME")
    return 0


DEMO_ROLES = ("leader", "brigade", "analyst")
"""Roles that ``users bootstrap --demo`` creates one account for (named after the role)."""


# --- audit -------------------------------------------------------------------------------------

def cmd_audit(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from geo.cli.common import open_workspace, print_json

    ws = open_workspace(args)
    if args.verify:
        check = audit.verify_audit(ws)
        if args.json:
            print_json(check.to_dict())
        elif check.ok:
            legacy = f", {check.legacy_rows} from before the key" if check.legacy_rows else ""
            print(f"audit chain intact ({check.rows} rows); anchored up to row {check.anchored_seq}{legacy}")
        else:
            where = f" at seq {check.first_bad_seq}" if check.first_bad_seq is not None else ""
            print(f"audit log BROKEN{where}: {check.problem}")
        return 0 if check.ok else 1
    df = audit.read_audit(ws, since=args.since, action=args.action, actor=args.actor, limit=args.limit)
    tz = ZoneInfo(ws.settings.timezone)
    if args.json:
        rows = []
        for r in df.itertuples(index=False):  # a few hundred rows at most on screen
            rows.append({"seq": int(r.seq), "at": r.at.tz_convert(tz).isoformat(), "actor": r.actor,
                         "role": r.role, "action": r.action, "target": r.target,
                         "details": json.loads(r.details) if r.details else {}, "hash": r.hash})
        print_json(rows)
        return 0
    if df.empty:
        print("no audit records" + (" match the filters" if any(
            v is not None for v in (args.since, args.action, args.actor)) else ""))
        return 0
    print(f"{'seq':>6}  {'time (' + ws.settings.timezone + ')':<25}{'actor':<20}{'role':<9}{'action':<16}"
          f"{'target':<24}details")
    for r in df.itertuples(index=False):
        at = r.at.tz_convert(tz).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{r.seq:>6}  {at:<25}{r.actor:<20}{r.role or '-':<9}{r.action:<16}{r.target or '-':<24}"
              f"{r.details if r.details != '{}' else ''}")
    return 0


# --- parser ------------------------------------------------------------------------------------

def add_commands(subparsers: Any) -> None:
    """Register ``gridwatch users`` and ``gridwatch audit`` on the main parser's subparsers."""
    from geo.cli.common import add_workspace

    users = subparsers.add_parser(
        "users", help="app users and roles (the CLI acts as local admin)",
        description="Manage the app's users in the workspace's password file (argon2id hashes). "
                    "Roles: " + ", ".join(auth.ROLES) + ". Every change is audited.")
    usub = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)

    def stdin_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password as one line from standard input (scripts); "
                            "otherwise it is asked twice without echo")

    p = usub.add_parser("add", help="create a user", description="Create a user with a role and a password.")
    p.add_argument("name", metavar="NAME", help="1–32 letters, digits, '_', '.', '-' or Chinese characters")
    p.add_argument("--role", required=True, choices=auth.ROLES)
    p.add_argument("--display-name", metavar="TEXT")
    p.add_argument("--email", metavar="ADDRESS", help="e-mail at the identity provider (OIDC login)")
    stdin_flag(p)
    add_workspace(p)
    p.set_defaults(handler=cmd_users_add)

    p = usub.add_parser("list", help="list users (never hashes)", description="List users and their state.")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_users_list)

    p = usub.add_parser("passwd", help="set a user's password", description="Set a new password (clears a lock-out).")
    p.add_argument("name", metavar="NAME")
    stdin_flag(p)
    add_workspace(p)
    p.set_defaults(handler=cmd_users_passwd)

    p = usub.add_parser("role", help="change a user's role", description="Change a user's role.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("role", metavar="ROLE", choices=auth.ROLES, help=" | ".join(auth.ROLES))
    add_workspace(p)
    p.set_defaults(handler=cmd_users_role)

    for name, helptext in (("disable", "refuse a user's logins"), ("enable", "allow a disabled user again"),
                           ("unlock", "clear a lock-out after failed logins"), ("remove", "delete a user")):
        p = usub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        p.add_argument("name", metavar="NAME")
        add_workspace(p)
        p.set_defaults(handler={"disable": cmd_users_disable, "enable": cmd_users_disable,
                                "unlock": cmd_users_unlock, "remove": cmd_users_remove}[name])

    p = usub.add_parser("bootstrap", help="create the first admin (only when there are no users)",
                        description="Create the first admin with a random password, printed once. Does nothing "
                                    "(and prints no secret) when users exist.")
    p.add_argument("--name", default="admin", help="user name of the first admin (default: admin)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--demo", action="store_true",
                   help="also create one demo account per role (leader, brigade, analyst), passwords printed once")
    add_workspace(p)
    p.set_defaults(handler=cmd_users_bootstrap)

    p = subparsers.add_parser("audit", help="print the audit log (logins, ingests, exports, changes)",
                              description="Print the append-only audit log of the workspace, oldest first; "
                                          "--verify checks its hash chain (exit 1 if broken).")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only records from this local date on")
    p.add_argument("--action", choices=audit.ACTIONS)
    p.add_argument("--actor", metavar="USER", help="only this actor (e.g. cli:alice or a user name)")
    p.add_argument("--limit", type=int, metavar="N", help="only the latest N records")
    p.add_argument("--verify", action="store_true", help="check the hash chain instead of printing")
    p.add_argument("--json", action="store_true")
    add_workspace(p)
    p.set_defaults(handler=cmd_audit)
