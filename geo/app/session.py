"""Login, roles and sessions of the app (issue 12).

``app.py`` calls :func:`gate` before ``st.navigation``: without a logged-in
user it draws the login form (or the OpenID Connect button) and stops the
script, so no page, no page list and no data reach an anonymous browser.
After login the navigation holds only the pages of the user's role
(:func:`geo.access.auth.pages_for`), and each page checks its permission again with
:func:`require` (a page script must never trust that it was reached through
the menu).

The session lives in ``st.session_state`` (per browser tab, gone on reload):
the user name, role and the time of the last interaction.  Every script run
re-reads the user from the password file, so a disabled, removed or
re-roled user is affected at their next click, and ends the session once it
has been idle longer than ``[access] session_timeout_minutes``.

Everything a user does that the issue asks to audit goes through here or
through :mod:`geo.access.auth` / :func:`geo.store.workspace.update_settings`: login
(audited by :func:`geo.access.auth.authenticate`), logout (incl. time-outs) and
downloads (:func:`download_button`, audited when clicked).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from geo.access import auth
from geo.app.lang import cat
from geo.errors import StoreError
from geo.store import audit
from geo.store.workspace import Workspace

log = logging.getLogger("gridwatch.app")

USER_KEY = "gw_user"
"""Session state: ``{"username", "role", "display_name"}`` of the logged-in user."""
LAST_SEEN_KEY = "gw_last_seen"
"""Session state: epoch seconds of the last script run of the session (idle time-out)."""
NOTICE_KEY = "gw_notice"
"""Session state: why the last session ended (``timeout``, ``logout``, ``disabled``), shown on the login form."""

BOOTSTRAP_COMMAND = "gridwatch users bootstrap"

# page key -> (script, icon); the url path is the key, the menu order auth.PAGES'
PAGE_FILES: dict[str, tuple[str, str]] = {
    "overview": ("app_pages/overview.py", ":material/dashboard:"),
    "hotspots": ("app_pages/hotspots.py", ":material/map:"),
    "planner": ("app_pages/planner.py", ":material/place:"),
    "events": ("app_pages/events.py", ":material/table_rows:"),
    "intake": ("app_pages/intake.py", ":material/upload_file:"),
    "users": ("app_pages/users.py", ":material/group:"),
    "settings": ("app_pages/settings.py", ":material/tune:"),
    "audit": ("app_pages/audit.py", ":material/fact_check:"),
}


@dataclass(frozen=True)
class SessionUser:
    """Who is logged in (never a password or a hash)."""

    username: str
    role: str
    display_name: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.username




# --- state --------------------------------------------------------------------------------------

def current_user() -> SessionUser | None:
    """The logged-in user of this session, or ``None``."""
    rec = st.session_state.get(USER_KEY)
    if not isinstance(rec, Mapping):
        return None
    return SessionUser(str(rec["username"]), str(rec["role"]), str(rec.get("display_name", "")))


def start_session(user: auth.User | SessionUser) -> None:
    st.session_state[USER_KEY] = {"username": user.username, "role": user.role,
                                  "display_name": user.display_name}
    st.session_state[LAST_SEEN_KEY] = time.time()
    st.session_state.pop(NOTICE_KEY, None)


def end_session(ws: Workspace, reason: str = "logout") -> None:
    """Log the session's user out: audit ``logout`` with the reason, forget the user (and OIDC cookie)."""
    user = current_user()
    if user is not None:
        try:
            audit.record(ws, "logout", actor=user.username, role=user.role, target=user.username,
                         details={"reason": reason})
        except Exception:  # noqa: BLE001 - a busy store must not keep a user logged in
            log.exception("could not audit the logout of %s", user.username)
    for key in (USER_KEY, LAST_SEEN_KEY):
        st.session_state.pop(key, None)
    st.session_state[NOTICE_KEY] = reason
    if _oidc_active(ws) and st.user.is_logged_in:
        st.logout()  # also the identity provider's session cookie


def _logout_clicked(ws: Workspace) -> None:
    end_session(ws, "logout")


# --- the gate ---------------------------------------------------------------------------------------

def gate(ws: Workspace) -> SessionUser:
    """The logged-in user; otherwise draw the login form and stop the script.

    Ends the session (audited ``logout``) when it has been idle longer than
    ``session_timeout_minutes`` or when the user has been disabled or removed
    meanwhile; a role changed by an administrator applies at once.
    """
    now = time.time()
    user = current_user()
    if user is not None:
        last = float(st.session_state.get(LAST_SEEN_KEY, now))
        stored = auth.get_user(ws, user.username)
        if auth.session_expired(last, now, ws):
            end_session(ws, "timeout")
        elif stored is None or stored.disabled:
            end_session(ws, "disabled")
        else:
            st.session_state[LAST_SEEN_KEY] = now
            if stored.role != user.role or stored.display_name != user.display_name:
                start_session(stored)
            return current_user()  # type: ignore[return-value]
    _login_navigation(ws)
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


def confirm(ws: Workspace) -> None:
    """The checks of :func:`gate` for a fragment's own rerun (``app.py`` and its gate do not run then).

    A fragment (a part of a page rerun alone, e.g. when its toggle is used) calls this first: when the
    session has timed out, or the user was disabled, removed or given another role meanwhile, the whole
    app reruns — the gate then ends the session or applies the new role — instead of the fragment
    drawing data for a session that is no longer valid.  Otherwise it counts as an interaction.
    """
    now = time.time()
    user = current_user()
    stored = auth.get_user(ws, user.username) if user is not None else None
    last = float(st.session_state.get(LAST_SEEN_KEY, now))
    if (user is None or stored is None or stored.disabled or stored.role != user.role
            or auth.session_expired(last, now, ws)):
        st.rerun(scope="app")
    st.session_state[LAST_SEEN_KEY] = now


def _login_navigation(ws: Workspace) -> None:
    """Replace the page list by the login form alone (hidden menu).

    Without a navigation of its own, a logged-out run would leave the
    browser showing the previous user's page list.  Every page's URL leads to
    the login form, so a bookmarked ``/hotspots`` opens that page right after
    the login (when the role has it; otherwise the role's first page).
    """
    c = cat()

    def draw() -> None:
        if _oidc_active(ws):
            _oidc_login(ws)
        else:
            _login_form(ws)

    pages = [st.Page(draw, title=c.t("login.title"), icon=":material/login:", url_path="login", default=True)]
    pages += [st.Page(draw, title=c.t("login.title"), url_path=key, visibility="hidden") for key in PAGE_FILES]
    st.navigation(pages, position="hidden").run()


def _notice() -> None:
    reason = st.session_state.pop(NOTICE_KEY, None)
    if reason:
        st.info(cat().t(f"login.notice.{reason}"), icon=":material/info:")


def _login_form(ws: Workspace) -> None:
    c = cat()
    st.title(c.t("login.title"))
    st.caption(c.t("login.intro", name=ws.settings.name))
    _notice()
    if ws.settings.access.mode == "oidc":
        st.warning(c.t("login.oidc_not_configured"))
    if not auth.has_users(ws):
        st.warning(c.t("login.no_users", command=BOOTSTRAP_COMMAND), icon=":material/person_add:")
        return
    with st.form("login", clear_on_submit=True, enter_to_submit=True):
        username = st.text_input(c.t("login.username"), key="login_username", autocomplete="username",
                                 max_chars=64)
        password = st.text_input(c.t("login.password"), type="password", key="login_password",
                                 autocomplete="current-password", max_chars=auth.MAX_PASSWORD_LENGTH)
        submitted = st.form_submit_button(c.t("login.submit"), type="primary", key="login_submit",
                                          icon=":material/login:")
    if not submitted:
        return
    if not username.strip() or not password:
        st.error(c.t("login.error.empty"))
        return
    try:
        user = auth.authenticate(ws, username.strip(), password, source=client_address())
    except auth.AuthError as exc:
        st.error(login_error(exc, ws), icon=":material/lock:")
        return
    except StoreError:  # the store stayed busy: nothing was changed, nobody logged in
        log.warning("login refused: the store stayed busy beyond [store] busy_wait_seconds")
        st.error(c.t("login.error.busy"), icon=":material/hourglass_top:")
        return
    start_session(user)
    st.rerun()


def client_address() -> str:
    """The browser's IP address as the server sees it (``""`` when unknown), for per-source lock-outs."""
    import ipaddress

    try:
        value = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (bare mode)
        return ""
    try:
        return str(ipaddress.ip_address(str(value))) if isinstance(value, str) else ""
    except ValueError:  # not an address (a test harness's stand-in)
        return ""


def login_error(exc: auth.AuthError, ws: Workspace) -> str:
    """The login form's message for a refused login (never says whether the user exists)."""
    c = cat()
    key = f"login.error.{exc.code}"
    if not c.has(key):
        key = "login.error.bad_credentials"
    return c.t(key, minutes=f"{ws.settings.access.lockout_minutes:g}", command=BOOTSTRAP_COMMAND)


# --- OpenID Connect (Streamlit's st.login) -------------------------------------------------------------

def _oidc_configured() -> bool:
    """Whether ``[auth]`` is set in ``.streamlit/secrets.toml`` (st.login needs it)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _oidc_active(ws: Workspace) -> bool:
    return ws.settings.access.mode == "oidc" and _oidc_configured()


def _oidc_login(ws: Workspace) -> None:
    """Log in through the identity provider; its e-mail picks the local user (and role)."""
    c = cat()
    st.title(c.t("login.title"))
    _notice()
    if not st.user.is_logged_in:
        st.button(c.t("login.oidc"), type="primary", key="login_oidc", on_click=st.login,
                  icon=":material/login:")
        return
    email = str(st.user.get("email") or "")
    user = auth.user_for_email(ws, email)
    if user is None:
        audit.record(ws, "login_failed", actor=email or "?", target=email or "?",
                     details={"method": "oidc", "reason": "no_local_user"})
        st.error(c.t("login.oidc_unknown", email=email or "—"))
        st.button(c.t("session.logout"), key="login_oidc_out", on_click=st.logout)
        return
    audit.record(ws, "login", actor=user.username, role=user.role, target=user.username,
                 details={"method": "oidc", "email": email})
    start_session(user)
    st.rerun()


# --- navigation and permissions -----------------------------------------------------------------------------

def pages(role: str) -> list[Any]:
    """The ``st.Page`` list of a role, in menu order; the first is the default page (served at ``/``)."""
    c = cat()
    out = []
    for i, key in enumerate(auth.pages_for(role)):
        script, icon = PAGE_FILES[key]
        if i == 0:  # Streamlit ignores a url_path on the default page
            out.append(st.Page(script, title=c.t(f"page.{key}"), icon=icon, default=True))
        else:
            out.append(st.Page(script, title=c.t(f"page.{key}"), icon=icon, url_path=key))
    return out


def idle_check_seconds(ws: Workspace) -> float:
    """How often the browser asks the server whether the session has timed out (a quarter of the timeout, 5–60 s)."""
    return float(min(60.0, max(5.0, ws.settings.access.session_timeout_minutes * 60.0 / 4)))


def idle_watch(ws: Workspace) -> None:
    """End an idle session without waiting for a click.

    A fragment that the browser reruns every :func:`idle_check_seconds`
    (Streamlit's ``run_every``: the timer runs in the page, so an untouched
    tab still asks).  Its reruns are not interactions: they leave the
    last-seen time alone.  Once the session has been idle longer than
    ``session_timeout_minutes`` it is ended (audited ``logout``, reason
    ``timeout``) and the whole page reruns, which replaces the data on screen
    by the login form.
    """

    @st.fragment(run_every=idle_check_seconds(ws))
    def _watch() -> None:
        user = current_user()
        if user is None:
            return
        last = float(st.session_state.get(LAST_SEEN_KEY, time.time()))
        if auth.session_expired(last, time.time(), ws):
            end_session(ws, "timeout")
            st.rerun(scope="app")

    _watch()


def sidebar(ws: Workspace, user: SessionUser) -> None:
    """Who is logged in (name and role), the logout button and the idle watch."""
    c = cat()
    box = st.sidebar.container(border=True)
    box.markdown(c.t("session.user", name=user.label, role=c.t(f"role.{user.role}")))
    box.caption(c.t("session.timeout", minutes=f"{ws.settings.access.session_timeout_minutes:g}"))
    box.button(c.t("session.logout"), key="gw_logout", on_click=_logout_clicked, args=(ws,),
               icon=":material/logout:", width="stretch")
    idle_watch(ws)


def can(permission: str) -> bool:
    """Whether the logged-in user holds ``permission``."""
    user = current_user()
    return user is not None and auth.can(user.role, permission)


def require(page: str) -> SessionUser:
    """The logged-in user if their role may open ``page`` (a key of :data:`geo.access.auth.PAGES`); else stop."""
    user = current_user()
    if user is None or not auth.can(user.role, auth.PAGES[page]):
        c = cat()
        st.error(c.t("session.forbidden", page=c.t(f"page.{page}")), icon=":material/block:")
        st.stop()
    return user  # type: ignore[return-value]


# --- audited downloads ----------------------------------------------------------------------------------------

def record_download(what: str, file_name: str, details: Mapping[str, Any] | None = None) -> None:
    """Audit one download by the session's user (``download``; target = the file name)."""
    from geo.app import data

    user = current_user()
    info = {"what": what, **(dict(details) if details else {})}
    audit.record(data.workspace(), "download", actor=user.username if user else "?",
                 role=user.role if user else "", target=file_name, details=info)


def download_button(label: str, data: bytes | Callable[[], bytes], *, file_name: str, mime: str, key: str,
                    what: str, details: Mapping[str, Any] | None = None, box: Any = None) -> None:
    """``st.download_button`` whose click is audited (``what``: which table; ``details``: filters, rows …)."""
    (box or st).download_button(label, data=data, file_name=file_name, mime=mime, key=key,
                                on_click=record_download, args=(what, file_name, dict(details or {})),
                                icon=":material/download:")
