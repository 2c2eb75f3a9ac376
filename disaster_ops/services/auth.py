"""Authentication: users in the database, argon2id password hashes, lock-out, audit.

:func:`authenticate` is the only way a person becomes a :class:`Principal` (the
dashboard's login page and the CLI's ``--as USER`` call it). Every attempt is audited:
``auth.login`` on success, ``auth.login_failed`` with the reason otherwise, and
``auth.locked`` when repeated wrong passwords lock an account.

What a caller learns is deliberately little: an unknown user name and a wrong password
raise the same :class:`InvalidCredentials` with the same message, after the same argon2
work (a dummy hash is verified for unknown names), so neither the message nor the time
tells whether a name exists. "Locked" and "disabled" are only said to someone who gave
the right password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.config import get_settings
from disaster_ops.errors import (
    AccountDisabled,
    AccountLocked,
    AuthenticationError,
    InputError,
    InvalidCredentials,
)
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, Role, require
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import AuditEvent, User, utcnow

USER_ROLES = (Role.ADMIN, Role.MANAGER, Role.PILOT, Role.RESPONDER)  # never "system"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; a cap keeps a login form from being a CPU sink
WRONG_CREDENTIALS = "wrong user name or password"


@dataclass(frozen=True)
class UserInfo:
    """A user as listed to administrators (never the hash)."""

    id: int
    name: str
    role: str
    agency: str | None
    disabled: bool
    locked: bool
    failed_logins: int
    last_login_utc: str | None
    created_utc: str


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of nothing anyone types, verified for unknown names so they cost the same time."""
    return _hasher().hash("\x00disaster-ops-no-such-user\x00")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _ts(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else None


def _info(u: User, now: datetime) -> UserInfo:
    return UserInfo(u.id, u.name, u.role, u.agency, bool(u.disabled),
                    bool(u.locked_until and u.locked_until > now), u.failed_logins,
                    _ts(u.last_login_at), _ts(u.created_at))


def principal_of(user: User) -> Principal:
    return Principal(name=user.name, role=Role(user.role), agency=user.agency, user_id=user.id)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError("user name: 1-100 characters, letters, digits and . _ @ + - (starting with a "
                         "letter or digit)")
    return name


def check_password(password: str, *, name: str) -> str:
    min_len = get_settings().auth.min_password_length
    if not isinstance(password, str) or len(password) < min_len:
        raise InputError(f"password: at least {min_len} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InputError(f"password: at most {MAX_PASSWORD_CHARS} characters")
    if password.strip().lower() == name.lower():
        raise InputError("password: must not be the user name")
    return password


def check_role(role: Role | str) -> Role:
    try:
        r = Role(role)
    except ValueError:
        r = None
    if r not in USER_ROLES:
        raise InputError(f"role: one of {', '.join(x.value for x in USER_ROLES)} (got {role!r})")
    return r


def _record_attempt(s: Session, *, name: str, action: str, user: User | None, details: dict) -> None:
    """An audit event for a login attempt (the actor may not be a principal yet)."""
    import json

    s.add(AuditEvent(actor=name[:100] or "?", role=user.role if user else None, action=action,
                     object_type="user", object_id=str(user.id) if user else None,
                     details_json=json.dumps(details, ensure_ascii=False)))


def authenticate(name: str, password: str, *, via: str = "password",
                 engine: Engine | None = None) -> Principal:
    """The principal of ``name`` if ``password`` is right and the account is usable.

    Raises :class:`InvalidCredentials`, :class:`AccountLocked` or :class:`AccountDisabled`
    (all :class:`AuthenticationError`); every outcome is audited. ``via`` names the channel
    (``dashboard``, ``cli``) in the audit trail.
    """
    cfg = get_settings().auth
    name = name if isinstance(name, str) else ""
    password = password if isinstance(password, str) else ""
    error: AuthenticationError | None = None
    principal: Principal | None = None
    with session_scope(engine or get_engine()) as s:
        user = s.exec(select(User).where(User.name == name)).first() if NAME_RE.match(name) else None
        if user is None or len(password) > MAX_PASSWORD_CHARS:
            _verify(_dummy_hash(), password[:MAX_PASSWORD_CHARS])  # same work as a real check
            _record_attempt(s, name=name, action="auth.login_failed", user=user,
                            details={"reason": "unknown_user" if user is None else "too_long", "via": via})
            error = InvalidCredentials(WRONG_CREDENTIALS)
        else:
            ok = _verify(user.password_hash, password)
            now = utcnow()
            if user.disabled:
                error = AccountDisabled("account disabled; ask an administrator") if ok \
                    else InvalidCredentials(WRONG_CREDENTIALS)
                _record_attempt(s, name=name, action="auth.login_failed", user=user,
                                details={"reason": "disabled", "password_ok": ok, "via": via})
            elif user.locked_until and user.locked_until > now:
                minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
                error = AccountLocked(f"account locked after {cfg.max_failed_logins} wrong passwords; "
                                      f"try again in {minutes} min or ask an administrator") if ok \
                    else InvalidCredentials(WRONG_CREDENTIALS)
                _record_attempt(s, name=name, action="auth.login_failed", user=user,
                                details={"reason": "locked", "password_ok": ok, "via": via})
            elif not ok:
                user.failed_logins += 1
                _record_attempt(s, name=name, action="auth.login_failed", user=user,
                                details={"reason": "wrong_password", "failed_logins": user.failed_logins,
                                         "via": via})
                if user.failed_logins >= cfg.max_failed_logins:
                    user.locked_until = now + timedelta(seconds=cfg.lockout_s)
                    _record_attempt(s, name=name, action="auth.locked", user=user,
                                    details={"failed_logins": user.failed_logins, "until": _ts(user.locked_until)})
                    user.failed_logins = 0
                user.updated_at = now
                s.add(user)
                error = InvalidCredentials(WRONG_CREDENTIALS)
            else:
                user.failed_logins = 0
                user.locked_until = None
                user.last_login_at = now
                if _hasher().check_needs_rehash(user.password_hash):
                    user.password_hash = hash_password(password)
                s.add(user)
                _record_attempt(s, name=name, action="auth.login", user=user, details={"via": via})
                principal = principal_of(user)
    if error is not None:
        raise error
    assert principal is not None
    return principal


def revalidate(principal: Principal, *, engine: Engine | None = None) -> Principal:
    """The principal as the user table says now (role or agency changed), or raise if the
    account was disabled or removed since login. Dashboard sessions call it on every run."""
    with Session(engine or get_engine()) as s:
        user = s.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None or user.name != principal.name:
        raise InvalidCredentials("this account no longer exists; log in again")
    if user.disabled:
        raise AccountDisabled("account disabled; ask an administrator")
    return principal_of(user)


def login_external(name: str, *, provider: str, engine: Engine | None = None) -> Principal:
    """A person an identity provider vouched for (Streamlit ``st.login``/OIDC): the user
    table still decides whether they may enter and with which role. Audited."""
    with session_scope(engine or get_engine()) as s:
        user = s.exec(select(User).where(User.name == name)).first() if NAME_RE.match(name or "") else None
        usable = user is not None and not user.disabled
        _record_attempt(s, name=name or "?", action="auth.login" if usable else "auth.login_failed", user=user,
                        details={"via": f"oidc:{provider}"} if usable else
                        {"via": f"oidc:{provider}", "reason": "disabled" if user else "unknown_user"})
        if usable:
            user.last_login_at = utcnow()
            s.add(user)
            principal = principal_of(user)
    if not usable:
        raise InvalidCredentials(f"{provider} vouched for this person, but they have no enabled account here; "
                                 "ask an administrator")
    return principal


def add_user(name: str, password: str, *, role: Role | str, agency: str | None = None,
             principal: Principal, engine: Engine | None = None) -> UserInfo:
    """Create a user (administrators only). Audited; the password is never stored or logged."""
    require(principal, Action.MANAGE_USERS)
    name = check_name(name)
    r = check_role(role)
    check_password(password, name=name)
    agency = (agency or "").strip() or None
    if agency and len(agency) > 200:
        raise InputError("agency: at most 200 characters")
    with session_scope(engine or get_engine()) as s:
        if s.exec(select(User).where(User.name == name)).first() is not None:
            raise InputError(f"user {name!r} already exists (use `users passwd` to change the password)")
        user = User(name=name, password_hash=hash_password(password), role=r.value, agency=agency)
        s.add(user)
        s.flush()
        audit.record(s, principal=principal, action="user.add", object_type="user", object_id=user.id,
                     details={"name": name, "role": r.value, "agency": agency})
        return _info(user, utcnow())


def _get(s: Session, name: str) -> User:
    user = s.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise InputError(f"no user {name!r}")
    return user


def set_password(name: str, password: str, *, principal: Principal, engine: Engine | None = None) -> None:
    """Change a password: administrators for anyone, every user for themself. Unlocks the account."""
    if principal.user_id is None or principal.name != name:
        require(principal, Action.MANAGE_USERS)
    check_password(password, name=name)
    with session_scope(engine or get_engine()) as s:
        user = _get(s, name)
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.updated_at = utcnow()
        s.add(user)
        audit.record(s, principal=principal, action="user.passwd", object_type="user", object_id=user.id,
                     details={"name": name})


def set_disabled(name: str, disabled: bool, *, principal: Principal, engine: Engine | None = None) -> UserInfo:
    """Disable (or re-enable, which also unlocks) an account. Administrators only."""
    require(principal, Action.MANAGE_USERS)
    with session_scope(engine or get_engine()) as s:
        user = _get(s, name)
        user.disabled = bool(disabled)
        if not disabled:
            user.failed_logins = 0
            user.locked_until = None
        user.updated_at = utcnow()
        s.add(user)
        audit.record(s, principal=principal, action="user.disable" if disabled else "user.enable",
                     object_type="user", object_id=user.id, details={"name": name})
        return _info(user, utcnow())


def list_users(*, engine: Engine | None = None) -> list[UserInfo]:
    now = utcnow()
    with Session(engine or get_engine()) as s:
        return [_info(u, now) for u in s.exec(select(User).order_by(User.name))]


def ensure_user(name: str, password: str, *, role: Role | str, agency: str | None = None,
                principal: Principal, engine: Engine | None = None) -> bool:
    """Create the user unless one of that name exists (demo seeding). True if created."""
    with Session(engine or get_engine()) as s:
        if s.exec(select(User).where(User.name == name)).first() is not None:
            return False
    add_user(name, password, role=role, agency=agency, principal=principal, engine=engine)
    return True
