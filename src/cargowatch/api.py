"""Shared HTTP plumbing: the per-request session and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.auth.service import principal_for_token
from cargowatch.db.engine import unit_of_work
from cargowatch.db.limits import MAX_ID, MAX_OFFSET
from cargowatch.exceptions import NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="An API token from 'cargowatch tokens create'")


def get_engine_dep(request: Request) -> Engine:
    """The engine the app was created with."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine_dep)]) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error."""
    with unit_of_work(engine) as session:
        yield session


# The unit of work ends (commits) before the response leaves: a client that is told "done"
# (a 303 after sign-in, a 201) finds the change in its next request. FastAPI's default for a
# dependency with yield ends it after the response is sent, which let a browser follow the
# sign-in redirect before the session row was committed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind the bearer token; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("an API token is required: 'Authorization: Bearer <token>'")
    return principal_for_token(session, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
EngineDep = Annotated[Engine, Depends(get_engine_dep)]

# Numbers from outside are bounded at the edge: beyond them a 422 names the field.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id.")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
