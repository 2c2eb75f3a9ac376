"""Users, passwords, lock-out and the CLI's named operator, against the real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from disaster_ops.errors import (
    AccountDisabled,
    AccountLocked,
    InputError,
    InvalidCredentials,
    PermissionDenied,
)
from disaster_ops.services import auth
from disaster_ops.services import incidents as inc_svc
from disaster_ops.services.roles import Principal, Role
from disaster_ops.storage.models import AuditEvent, User
from tests.conftest import REPO, run_cli

ADMIN = Principal("local:test", Role.ADMIN)


def _events(engine, action):
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_add_and_authenticate_stores_only_an_argon2_hash(engine):
    info = auth.add_user("kim", "correct horse 1", role="manager", agency="Busan Fire", principal=ADMIN,
                         engine=engine)
    assert (info.role, info.agency, info.disabled) == ("manager", "Busan Fire", False)
    with Session(engine) as s:
        row = s.exec(select(User).where(User.name == "kim")).one()
    assert row.password_hash.startswith("$argon2id$") and "correct horse" not in row.password_hash
    p = auth.authenticate("kim", "correct horse 1", engine=engine)
    assert p == Principal("kim", Role.MANAGER, agency="Busan Fire", user_id=row.id)
    assert auth.list_users(engine=engine)[0].last_login_utc is not None
    assert _events(engine, "auth.login")[-1].actor == "kim"
    assert _events(engine, "user.add")[-1].actor == "local:test"


def test_wrong_password_and_unknown_user_look_the_same_and_are_audited(engine):
    auth.add_user("kim", "correct horse 1", role="pilot", principal=ADMIN, engine=engine)
    with pytest.raises(InvalidCredentials) as wrong:
        auth.authenticate("kim", "not the password", engine=engine)
    with pytest.raises(InvalidCredentials) as unknown:
        auth.authenticate("nobody", "not the password", engine=engine)
    assert str(wrong.value) == str(unknown.value) == "wrong user name or password"
    failed = _events(engine, "auth.login_failed")
    assert [(e.actor, json.loads(e.details_json)["reason"]) for e in failed] == [
        ("kim", "wrong_password"), ("nobody", "unknown_user")]


def test_lockout_after_n_failures_even_for_the_right_password(engine, monkeypatch):
    monkeypatch.setenv("DISASTER_OPS_AUTH__MAX_FAILED_LOGINS", "3")
    from disaster_ops.config import get_settings

    get_settings.cache_clear()
    auth.add_user("lee", "responder-pass-1", role="responder", principal=ADMIN, engine=engine)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            auth.authenticate("lee", "guess-guess-guess", engine=engine)
    assert len(_events(engine, "auth.locked")) == 1
    with pytest.raises(AccountLocked, match="locked"):
        auth.authenticate("lee", "responder-pass-1", engine=engine)
    with pytest.raises(InvalidCredentials):  # a wrong password is not told the account is locked
        auth.authenticate("lee", "guess-guess-guess", engine=engine)
    assert auth.list_users(engine=engine)[0].locked
    # The lock runs out on its own ...
    with Session(engine) as s:
        u = s.exec(select(User).where(User.name == "lee")).one()
        u.locked_until = u.locked_until - timedelta(hours=1)
        s.add(u)
        s.commit()
    assert auth.authenticate("lee", "responder-pass-1", engine=engine).role is Role.RESPONDER


def test_disabled_account_cannot_log_in_and_open_sessions_end(engine):
    auth.add_user("lee", "responder-pass-1", role="responder", principal=ADMIN, engine=engine)
    me = auth.authenticate("lee", "responder-pass-1", engine=engine)
    auth.set_disabled("lee", True, principal=ADMIN, engine=engine)
    with pytest.raises(AccountDisabled):
        auth.authenticate("lee", "responder-pass-1", engine=engine)
    with pytest.raises(AccountDisabled):
        auth.revalidate(me, engine=engine)
    auth.set_disabled("lee", False, principal=ADMIN, engine=engine)
    assert auth.revalidate(me, engine=engine) == me


def test_only_admins_manage_users_and_input_is_checked(engine):
    auth.add_user("kim", "manager-pass-1", role="manager", principal=ADMIN, engine=engine)
    kim = auth.authenticate("kim", "manager-pass-1", engine=engine)
    with pytest.raises(PermissionDenied):
        auth.add_user("eve", "whatever-pass-1", role="admin", principal=kim, engine=engine)
    with pytest.raises(PermissionDenied):
        auth.set_password("other", "whatever-pass-1", principal=kim, engine=engine)
    auth.set_password("kim", "manager-pass-2", principal=kim, engine=engine)  # one's own: fine
    for bad in [dict(name="kim", role="manager"), dict(name="x y", role="manager"),
                dict(name="bob", role="system"), dict(name="bob", role="manager", password="short")]:
        with pytest.raises(InputError):
            auth.add_user(bad["name"], bad.get("password", "long-enough-pass"), role=bad["role"],
                          principal=ADMIN, engine=engine)


def test_direct_service_call_as_responder_is_refused(engine):
    auth.add_user("lee", "responder-pass-1", role="responder", principal=ADMIN, engine=engine)
    lee = auth.authenticate("lee", "responder-pass-1", engine=engine)
    with pytest.raises(PermissionDenied):
        inc_svc.set_status(1, "confirmed", principal=lee, engine=engine)
    with pytest.raises(PermissionDenied):
        inc_svc.set_status(1, "confirmed", principal="manager", engine=engine)  # a bare role string


def test_cli_users_and_named_operator(data_dir, tmp_path):
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    refused = run_cli("users", "add", "root", "--role", "admin", env_extra=env)
    assert refused.returncode == 2 and "--as USER or --local-admin" in refused.stderr
    first = run_cli_input(["users", "add", "root", "--role", "admin", "--local-admin"], "root-password-1\n", env)
    assert first.returncode == 0, first.stderr
    pw = tmp_path / "pw.txt"
    pw.write_text("manager-pass-1\n", encoding="utf-8")
    added = run_cli("users", "add", "kim", "--role", "manager", "--agency", "Busan Fire", "--password-file",
                    str(pw), "--as", "root", env_extra={**env, "DISASTER_OPS_PASSWORD": "root-password-1"})
    assert added.returncode == 0, added.stderr
    # Operator password on the first stdin line, then the target's new password.
    chg = run_cli_input(["users", "passwd", "kim", "--as", "root"], "root-password-1\nmanager-pass-2\n", env)
    assert chg.returncode == 0, chg.stderr
    wrong = run_cli("users", "disable", "kim", "--as", "root",
                    env_extra={**env, "DISASTER_OPS_PASSWORD": "not-it"})
    assert wrong.returncode == 2 and wrong.stderr.strip() == "error: --as root: wrong user name or password"
    listed = run_cli("users", "list", "--json", env_extra=env)
    users = {u["name"]: u for u in json.loads(listed.stdout)}
    assert users["kim"]["agency"] == "Busan Fire" and "password_hash" not in users["kim"]
    assert "root-password-1" not in listed.stdout + listed.stderr + chg.stdout + chg.stderr
    imp = run_cli("cameras", "import", "--as", "kim", "sample_data/cameras_demo.geojson",
                  env_extra={**env, "DISASTER_OPS_PASSWORD": "manager-pass-2"},
                  cwd=REPO)
    assert imp.returncode == 0, imp.stderr


def run_cli_input(args: list[str], stdin: str, env: dict):
    import os
    import subprocess
    import sys

    e = {**os.environ, **env}
    e.pop("DISASTER_OPS_PASSWORD", None)
    return subprocess.run([sys.executable, "-m", "disaster_ops", *args], input=stdin, capture_output=True,
                          text=True, env=e, timeout=120, check=False)
