"""Who is logged in to this browser session (st.session_state, never globals).

The login page hands a name and password to ``services.auth.authenticate``; what comes
back (a :class:`Principal`) is all the pages ever pass to the services, which enforce
the roles. A session ends on logout, after ``auth.session_idle_s`` without a user action
(live-refresh ticks do not count), or as soon as an administrator disables the account.
Optional: Streamlit's own OIDC login (``st.login``) when ``auth.oidc_provider`` names a
provider configured in ``.streamlit/secrets.toml``; the user table still decides the role.
"""

from __future__ import annotations

import time

import streamlit as st

from disaster_ops.config import get_settings
from disaster_ops.errors import AuthenticationError
from disaster_ops.services import auth
from disaster_ops.services.roles import Principal, Role

PRINCIPAL_KEY = "auth_principal"
ACTIVE_KEY = "auth_last_active_s"
NOTICE_KEY = "auth_notice"
ROLE_LABELS = {Role.ADMIN.value: "Administrator", Role.MANAGER.value: "Disaster manager",
               Role.PILOT.value: "Drone pilot", Role.RESPONDER.value: "Field responder"}


def _end(notice: str | None) -> None:
    for k in (PRINCIPAL_KEY, ACTIVE_KEY):
        st.session_state.pop(k, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def _expired() -> bool:
    last = st.session_state.get(ACTIVE_KEY)
    return last is None or time.time() - last > get_settings().auth.session_idle_s


def signed_in() -> Principal | None:
    """The logged-in principal of this session, re-checked against the user table, or None.

    Called once per full page run (a user action): it also renews the idle timer."""
    p = st.session_state.get(PRINCIPAL_KEY)
    if p is None:
        return None
    if _expired():
        _end("Your session expired; log in again.")
        return None
    try:
        p = auth.revalidate(p)
    except AuthenticationError as exc:
        _end(str(exc))
        return None
    st.session_state[PRINCIPAL_KEY] = p
    st.session_state[ACTIVE_KEY] = time.time()
    return p


def still_signed_in() -> bool:
    """For live fragments: True while the session is valid, without renewing it."""
    return st.session_state.get(PRINCIPAL_KEY) is not None and not _expired()


def current_principal() -> Principal:
    """The principal of a page run (app.py only shows pages after login)."""
    p = st.session_state.get(PRINCIPAL_KEY)
    if p is None:
        st.stop()
    return p


def _start(p: Principal) -> None:
    st.session_state[PRINCIPAL_KEY] = p
    st.session_state[ACTIVE_KEY] = time.time()
    st.session_state.pop(NOTICE_KEY, None)


def _oidc_user_name() -> str | None:
    """The name the identity provider vouched for (email, else subject), if logged in via st.login."""
    user = getattr(st, "user", None)
    try:
        if user is None or not user.is_logged_in:
            return None
        return user.get("email") or user.get("preferred_username") or user.get("sub")
    except Exception:  # noqa: BLE001 - st.user raises when no [auth] secrets exist
        return None


def login_page() -> None:
    """The only page before login: name + password (and 'Log in with ...' when OIDC is set up)."""
    st.title("Log in")
    st.caption("Disaster common operating picture · authorised staff only")
    if notice := st.session_state.get(NOTICE_KEY):
        st.info(notice)
    provider = get_settings().auth.oidc_provider
    if provider and (ext := _oidc_user_name()):
        try:
            _start(auth.login_external(ext, provider=provider))
            st.rerun()
        except AuthenticationError as exc:
            st.error(str(exc))
    with st.form("login_form", border=True):
        name = st.text_input("User name", key="login_name", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary", width="stretch")
    if submitted:
        try:
            p = auth.authenticate(name.strip(), password, via="dashboard")
        except AuthenticationError as exc:
            st.error(str(exc))
        else:
            _start(p)
            st.rerun()
    if provider:
        if st.button(f"Log in with {provider}", key="login_oidc", width="stretch"):
            st.login(provider)


def sidebar(me: Principal) -> None:
    with st.sidebar:
        st.markdown(f"**{me.name}** · {ROLE_LABELS.get(me.role.value, me.role.value)}"
                    + (f" · {me.agency}" if me.agency else ""))
        if st.button("Log out", key="logout", icon=":material/logout:"):
            _end("Logged out.")
            if get_settings().auth.oidc_provider and _oidc_user_name():
                st.logout()
            st.rerun()
