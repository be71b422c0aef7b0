"""Users and tokens, and turning credentials into a Principal."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.models import ApiToken, User
from cargowatch.auth.principal import ROLES, Principal
from cargowatch.auth.security import hash_password, new_token, token_digest
from cargowatch.db.base import utcnow
from cargowatch.exceptions import Conflict, InvalidInput, NotAuthenticated, NotFound
from cargowatch.orgs.models import Organisation
from cargowatch.orgs.service import get_org

_USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")


MIN_PASSWORD = 10


def check_password(password: str) -> None:
    """InvalidInput unless password is long enough for the web interface."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: expected at least {MIN_PASSWORD} characters")


def principal_of(user: User, org: Organisation) -> Principal:
    """The principal of a user acting for its organisation."""
    return Principal(
        user_id=user.id, username=user.username, org_id=org.id, org_slug=org.slug, role=user.role
    )


def create_user(
    session: Session,
    *,
    actor: Principal | str,
    org_slug: str,
    username: str,
    role: str,
    password: str | None = None,
    display_name: str = "",
) -> User:
    """A new user of org_slug; an actor that is a Principal must be an admin of that org."""
    org = get_org(session, slug=org_slug)
    if isinstance(actor, Principal):
        actor.require("users:manage")
        if actor.org_id != org.id:
            raise NotFound(f"no organisation {org_slug!r}")
    if not _USERNAME.match(username):
        raise InvalidInput(f"username {username!r}: expected 2-64 letters, digits, '.', '_', '-'")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if password is not None:
        check_password(password)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists already")
    user = User(
        org_id=org.id,
        username=username,
        role=role,
        display_name=display_name,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, action="user.create", entity_type="user", entity_id=user.id,
        after={"username": username, "org": org_slug, "role": role},
    )  # fmt: skip
    return user


def create_token(
    session: Session,
    *,
    actor: Principal | str,
    username: str,
    name: str,
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for username; the plain token is returned once and never stored."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if isinstance(actor, Principal):
        actor.require("users:manage")
        if actor.org_id != user.org_id:
            raise NotFound(f"no user {username!r}")
    plain = new_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[:10],
        token_hash=token_digest(plain),
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session, actor=actor, action="token.create", entity_type="api_token", entity_id=token.id,
        after={"user": username, "name": name, "prefix": token.prefix,
               "expires_at": token.expires_at.isoformat() if token.expires_at else None},
    )  # fmt: skip
    return token, plain


def revoke_token(session: Session, *, actor: Principal | str, prefix: str) -> ApiToken:
    """Revoke the token whose shown prefix is prefix."""
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None:
        raise NotFound(f"no token {prefix!r}")
    if isinstance(actor, Principal):
        actor.require("users:manage")
        owner = session.get(User, token.user_id)
        if owner is None or owner.org_id != actor.org_id:
            raise NotFound(f"no token {prefix!r}")
    token.revoked_at = utcnow()
    audit.record(
        session, actor=actor, action="token.revoke", entity_type="api_token", entity_id=token.id,
        after={"prefix": prefix},
    )  # fmt: skip
    return token


def principal_for_token(session: Session, token: str) -> Principal:
    """The caller a bearer token stands for; NotAuthenticated when unknown, revoked or expired."""
    row = session.execute(
        select(ApiToken, User, Organisation)
        .join(User, User.id == ApiToken.user_id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(ApiToken.token_hash == token_digest(token))
    ).first()
    if row is None:
        raise NotAuthenticated("unknown API token")
    tok, user, org = row
    now = utcnow()
    if tok.revoked_at is not None or (tok.expires_at is not None and tok.expires_at <= now):
        raise NotAuthenticated("API token revoked or expired")
    if not user.active:
        raise NotAuthenticated("user is deactivated")
    return principal_of(user, org)


def principal_for_user_id(session: Session, user_id: int) -> Principal:
    """The principal of an active user by id (a job acting for whoever queued it)."""
    row = session.execute(
        select(User, Organisation)
        .join(Organisation, Organisation.id == User.org_id)
        .where(User.id == user_id)
    ).first()
    if row is None or not row[0].active:
        raise NotAuthenticated(f"no active user with id {user_id}")
    return principal_of(*row)


def principal_for_username(session: Session, username: str) -> Principal:
    """The local principal the CLI acts as (CARGOWATCH_USER or --as)."""
    if not username:
        raise NotAuthenticated(
            "no user to act as: set CARGOWATCH_USER or pass --as USER "
            "(create one with 'cargowatch users create')"
        )
    row = session.execute(
        select(User, Organisation)
        .join(Organisation, Organisation.id == User.org_id)
        .where(User.username == username)
    ).first()
    if row is None or not row[0].active:
        raise NotAuthenticated(f"no active user {username!r}")
    return principal_of(*row)


def list_users(session: Session, *, org_slug: str | None = None) -> list[tuple[User, str]]:
    """Users with their organisation's slug (local administration)."""
    query = select(User, Organisation.slug).join(Organisation, Organisation.id == User.org_id)
    if org_slug:
        query = query.where(Organisation.slug == org_slug)
    return [(u, s) for u, s in session.execute(query.order_by(User.username))]
