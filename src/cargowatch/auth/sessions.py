"""Signing in and staying signed in: attempt counters that a stranger cannot use to lock a
user out, server-side web sessions that end for good, and what an admin does to a user
(disable, enable, set a password), each ending the user's sessions where it should."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.models import ApiToken, SignInAttempt, User, WebSession
from cargowatch.auth.principal import Principal
from cargowatch.auth.security import hash_password, token_digest, verify_password
from cargowatch.auth.service import check_password, principal_of
from cargowatch.db.base import utcnow
from cargowatch.exceptions import (
    InvalidInput,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
)
from cargowatch.orgs.models import Organisation

SESSION_HOURS = 8
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often per session


@dataclass(frozen=True, slots=True)
class Limits:
    """How failed sign-ins are counted. One address gets pair_limit tries per user name and
    client_limit tries in all; then it waits window seconds, doubled for every further try
    (up to max_wait). A user name's own count across addresses never blocks a correct
    password from elsewhere: past user_alert it is audited for the admins to see."""

    pair_limit: int = 5
    client_limit: int = 30
    user_alert: int = 20
    window: float = 15 * 60.0
    max_wait: float = 24 * 3600.0


LIMITS = Limits()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check unknown names against, so they take as long as real ones."""
    return hash_password(secrets.token_urlsafe(24))


def _wait(failures: int, limit: int, limits: Limits) -> float:
    """How long a key's count stays after its last failure (backoff past the limit)."""
    return min(limits.window * 2.0 ** max(0, failures - limit), limits.max_wait)


def _count(engine: Engine, key: str, limit: int, now: float, limits: Limits) -> int:
    """Add one attempt to key atomically (compare-and-set, retried on a clash) and return the
    count; a count whose wait has passed starts again at one."""
    for _ in range(50):
        try:
            with engine.begin() as conn:
                row = conn.execute(
                    select(SignInAttempt.failures, SignInAttempt.last_at).where(
                        SignInAttempt.key == key
                    )
                ).first()
                if row is None:
                    conn.execute(
                        insert(SignInAttempt).values(key=key, failures=1, first_at=now, last_at=now)
                    )
                    return 1
                stale = now - row.last_at > _wait(row.failures, limit, limits)
                failures = 1 if stale else row.failures + 1
                done = conn.execute(
                    update(SignInAttempt)
                    .where(
                        SignInAttempt.key == key,
                        SignInAttempt.failures == row.failures,
                        SignInAttempt.last_at == row.last_at,
                    )
                    .values(failures=failures, last_at=now, **({"first_at": now} if stale else {}))
                ).rowcount
                if done == 1:
                    return failures
        except (OperationalError, IntegrityError):  # another writer got there first
            pass
        time.sleep(0.005)
    raise TooManyAttempts("sign-in is busy: try again in a moment")


def _forget(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(SignInAttempt).where(SignInAttempt.key == key))


def sign_in(
    engine: Engine,
    session: Session,
    *,
    username: str,
    password: str,
    client: str,
    limits: Limits = LIMITS,
) -> Principal:
    """The principal a name and password stand for, counted per (name, address) and per
    address before the password is checked, so parallel tries cannot pass the limit; unknown
    names are checked against a dummy hash and answer like real ones. Failures are audited."""
    name = username.strip()[:64]
    now = time.time()
    pair = _count(engine, f"pair:{name.lower()}|{client}", limits.pair_limit, now, limits)
    per_client = _count(engine, f"client:{client}", limits.client_limit, now, limits)
    if pair > limits.pair_limit or per_client > limits.client_limit:
        audit.record(
            session, actor=f"web:{name}", action="auth.login_refused", entity_type="user",
            entity_id=name, after={"client": client, "tries": pair, "client_tries": per_client},
        )  # fmt: skip
        minutes = int(_wait(max(pair, 1), limits.pair_limit, limits) // 60)
        raise TooManyAttempts(
            f"too many failed sign-ins from this address: try again in {minutes} minutes"
        )
    row = session.execute(
        select(User, Organisation)
        .join(Organisation, Organisation.id == User.org_id)
        .where(User.username == name)
    ).first()
    user, org = (row[0], row[1]) if row is not None else (None, None)
    stored = user.password_hash if user is not None and user.password_hash else None
    good = verify_password(stored or _dummy_hash(), password) and stored is not None
    if user is None or org is None or not good or not user.active:
        tries = _count(engine, f"user:{name.lower()}", limits.user_alert, now, limits)
        audit.record(
            session, actor=f"web:{name}", action="auth.login_failed", entity_type="user",
            entity_id=name, after={"client": client},
        )  # fmt: skip
        if tries == limits.user_alert + 1:
            audit.record(
                session, actor=f"web:{name}", action="auth.user_targeted", entity_type="user",
                entity_id=name, after={"failures": tries},
            )  # fmt: skip
        raise NotAuthenticated("unknown user or wrong password")
    _forget(engine, f"pair:{name.lower()}|{client}")
    return principal_of(user, org)


# ---------------------------------------------------------------- web sessions


def start_session(session: Session, principal: Principal, *, client: str, user_agent: str) -> str:
    """A new server-side session; the token goes in the signed cookie, its digest here."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        user_id=principal.user_id, token_hash=token_digest(token), client=client[:64],
        user_agent=user_agent[:200], created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(
        session, actor=principal, action="auth.login", entity_type="user",
        entity_id=principal.username, after={"via": "web", "session": row.id, "client": client},
    )  # fmt: skip
    return token


def principal_for_session(session: Session, token: str) -> Principal:
    """The user a session token stands for, while the session is live and the user active."""
    row = session.execute(
        select(WebSession, User, Organisation)
        .join(User, User.id == WebSession.user_id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(WebSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        raise NotAuthenticated("unknown session")
    ws, user, org = row
    now = utcnow()
    if ws.revoked_at is not None or ws.expires_at <= now or not user.active:
        raise NotAuthenticated("session ended")
    if now - ws.last_seen_at > TOUCH_EVERY:
        ws.last_seen_at = now
    return principal_of(user, org)


def end_session(session: Session, token: str, *, why: str = "sign-out") -> bool:
    """End the session of token; False when there was none live."""
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if ws is None or ws.revoked_at is not None:
        return False
    ws.revoked_at, ws.revoked_why = utcnow(), why
    return True


def _revoke_all(session: Session, user_id: int, why: str) -> int:
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_why=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _user(session: Session, actor: Principal | str, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if isinstance(actor, Principal):
        actor.require("users:manage")
        if actor.org_id != user.org_id:
            raise NotFound(f"no user {username!r}")
    return user


def list_sessions(session: Session, *, actor: Principal | str, username: str) -> list[WebSession]:
    """A user's sessions, newest first (live and ended)."""
    user = _user(session, actor, username)
    return list(
        session.scalars(
            select(WebSession)
            .where(WebSession.user_id == user.id)
            .order_by(WebSession.id.desc())
            .limit(200)
        )
    )


def revoke_sessions(session: Session, *, actor: Principal | str, username: str) -> int:
    """End every live session of a user (a lost laptop); audited."""
    user = _user(session, actor, username)
    n = _revoke_all(session, user.id, "revoked")
    audit.record(
        session, actor=actor, action="user.sessions_revoke", entity_type="user",
        entity_id=username, after={"sessions": n},
    )  # fmt: skip
    return n


def set_active(session: Session, *, actor: Principal | str, username: str, active: bool) -> User:
    """Disable a user (its sessions end and its API tokens are revoked) or enable it again
    (tokens stay revoked: issue new ones)."""
    user = _user(session, actor, username)
    if isinstance(actor, Principal) and actor.user_id == user.id and not active:
        raise InvalidInput("an admin cannot disable itself")
    before = user.active
    user.active = active
    sessions = tokens = 0
    if not active:
        sessions = _revoke_all(session, user.id, "user disabled")
        tokens = int(
            session.execute(  # type: ignore[attr-defined]
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount
            or 0
        )
    audit.record(
        session, actor=actor, action="user.enable" if active else "user.disable",
        entity_type="user", entity_id=username, before={"active": before},
        after={"active": active, "sessions_ended": sessions, "tokens_revoked": tokens},
    )  # fmt: skip
    return user


def set_password(session: Session, *, actor: Principal | str, username: str, password: str) -> int:
    """Give a user a new password; every session of the user ends. Returns how many."""
    check_password(password)
    user = _user(session, actor, username)
    user.password_hash = hash_password(password)
    n = _revoke_all(session, user.id, "password changed")
    audit.record(
        session, actor=actor, action="user.set_password", entity_type="user",
        entity_id=username, after={"sessions_ended": n},
    )  # fmt: skip
    return n
