"""Sessions and sign-in under attack: a forged cookie, a copied cookie after sign-out, parallel
guessing, a stranger trying to lock an officer out, unknown names, disabled users."""

from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.auth import sessions
from cargowatch.auth.service import create_user
from cargowatch.auth.sessions import Limits, set_password, sign_in
from cargowatch.cli import app as cli
from cargowatch.config import Settings
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import NotAuthenticated, TooManyAttempts
from tests.builders import org_with_user, token_for

PASSWORD = "a-long-test-password"


def _officer(engine: Engine) -> None:
    org_with_user(engine, "customs")
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug="customs", username="officer", role="analyst",
                    password=PASSWORD)  # fmt: skip


def _client(engine: Engine, address: str = "10.0.0.1") -> TestClient:
    return TestClient(create_app(engine=engine), follow_redirects=False, client=(address, 5000))


def _csrf(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def _login(client: TestClient, password: str = PASSWORD, user: str = "officer") -> int:
    data = {"username": user, "password": password, "csrf": _csrf(client)}
    return client.post("/login", data=data).status_code


def test_the_embedded_session_key_is_random_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "store", database_url="sqlite://")
    key = settings.session_key()
    assert len(key) >= 32 and key == settings.session_key()  # made once, then read back
    path = tmp_path / "store" / "session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    other = Settings(data_dir=tmp_path / "elsewhere", database_url="sqlite://").session_key()
    assert other != key
    with pytest.raises(ValueError, match="CARGOWATCH_SECRET_KEY"):
        Settings(env="prod", data_dir=tmp_path, database_url="sqlite://")


def test_a_cookie_signed_with_a_guessed_key_is_refused(engine: Engine) -> None:
    import base64
    import json

    from itsdangerous import TimestampSigner

    _officer(engine)
    forged = TestClient(create_app(engine=engine), follow_redirects=False)
    for key in ("dev-only-not-secret", "secret", ""):
        payload = base64.b64encode(json.dumps({"user": "officer", "sid": "x"}).encode())
        cookie = TimestampSigner(key or "k").sign(payload).decode()
        forged.cookies.set("cargowatch_session", cookie)
        page = forged.get("/queue")
        assert page.status_code == 303 and "/login" in page.headers["location"]


def test_serving_beyond_loopback_without_a_key_is_refused(engine: Engine) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "CARGOWATCH_SECRET_KEY" in result.output


def test_sign_out_ends_the_session_even_for_a_copied_cookie(engine: Engine) -> None:
    _officer(engine)
    client = _client(engine)
    assert _login(client) == 303
    copied = dict(client.cookies)
    assert client.get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf": _csrf(client, "/queue")}).status_code == 303
    thief = _client(engine)
    for name, value in copied.items():
        thief.cookies.set(name, value)
    page = thief.get("/queue")
    assert page.status_code == 303 and "/login" in page.headers["location"]


def test_password_change_and_disabling_end_sessions_and_tokens(engine: Engine) -> None:
    _officer(engine)
    client = _client(engine)
    assert _login(client) == 303
    with unit_of_work(engine) as s:
        assert set_password(s, actor="test", username="officer", password="another-password-1") == 1
    assert client.get("/queue").status_code == 303  # the old session is gone
    assert _login(client, "another-password-1") == 303
    token = token_for(engine, "officer")
    api = _client(engine)
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    runner = CliRunner()
    assert runner.invoke(cli, ["users", "disable", "officer"]).exit_code == 0
    assert client.get("/queue").status_code == 303
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _login(_client(engine), "another-password-1") == 401
    assert runner.invoke(cli, ["users", "enable", "officer"]).exit_code == 0
    assert _login(_client(engine), "another-password-1") == 303
    # the token stays revoked after enabling: a new one must be issued
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    listed = runner.invoke(cli, ["users", "sessions", "officer"])
    assert listed.exit_code == 0 and "password" in listed.output and "disabled" in listed.output
    result = runner.invoke(cli, ["users", "set-password", "officer", "--password-stdin"],
                           input="third-password-ok\n")  # fmt: skip
    assert result.exit_code == 0 and "session(s) ended" in result.output
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"user.disable", "user.enable", "user.set_password"} <= actions


def test_parallel_guesses_are_counted_before_the_password_is_checked(engine: Engine) -> None:
    _officer(engine)
    results: list[str] = []

    def guess(i: int) -> None:
        with unit_of_work(engine) as s:
            try:
                sign_in(engine, s, username="officer", password=f"guess-{i}", client="10.9.9.9")
            except TooManyAttempts:
                results.append("refused")
            except NotAuthenticated:
                results.append("checked")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert results.count("checked") <= Limits().pair_limit
    assert results.count("refused") >= 20 - Limits().pair_limit


def test_a_stranger_cannot_lock_an_officer_out_from_elsewhere(engine: Engine) -> None:
    _officer(engine)
    stranger = _client(engine, "203.0.113.7")
    codes = [_login(stranger, f"guess-{i}") for i in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert _login(stranger) == 429  # the stranger's address waits, even with the password
    assert _login(_client(engine, "10.0.0.2")) == 303  # the officer's own desk signs in


def test_unknown_names_are_checked_against_a_hash_like_real_ones(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _officer(engine)
    checked: list[str] = []
    real = sessions.verify_password

    def counting(stored: str, password: str) -> bool:
        checked.append(stored[:9])
        return real(stored, password)

    monkeypatch.setattr(sessions, "verify_password", counting)
    for name in ("officer", "nobody-here"):
        with unit_of_work(engine) as s, pytest.raises(NotAuthenticated) as info:
            sign_in(engine, s, username=name, password="wrong-password", client="10.1.1.1")
        assert info.value.message == "unknown user or wrong password"
    assert checked == ["$argon2id", "$argon2id"]  # the same work for both


def test_the_store_is_private_to_its_owner(tmp_path: Path) -> None:
    from cargowatch.db.engine import make_engine

    path = tmp_path / "fresh" / "store.db"
    eng = make_engine(f"sqlite:///{path}")
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    eng.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not os.access(path, os.R_OK) or os.getuid() == path.stat().st_uid


def test_sign_in_failures_are_audited_with_the_address(engine: Engine) -> None:
    _officer(engine)
    _login(_client(engine, "198.51.100.4"), "nope-nope-nope")
    with unit_of_work(engine) as s:
        row = s.scalar(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))
        assert row is not None and row.after is not None and "198.51.100.4" in row.after
        assert s.scalar(select(func.count()).select_from(AuditEntry)) >= 3
