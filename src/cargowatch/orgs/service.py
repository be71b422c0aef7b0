"""Organisation services (local administration: the CLI operator creates organisations)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.exceptions import Conflict, InvalidInput, NotFound
from cargowatch.orgs.models import ORG_KINDS, Organisation

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create_org(
    session: Session, *, actor: Principal | str, slug: str, name: str, kind: str
) -> Organisation:
    """A new organisation; slug is its short lowercase name."""
    if not _SLUG.match(slug):
        raise InvalidInput(f"slug {slug!r}: expected 2-63 lowercase letters, digits or '-'")
    kind = kind.upper()
    if kind not in ORG_KINDS:
        raise InvalidInput(f"kind {kind!r}: expected one of {', '.join(ORG_KINDS)}")
    if session.scalar(select(Organisation).where(Organisation.slug == slug)) is not None:
        raise Conflict(f"organisation {slug!r} exists already")
    org = Organisation(slug=slug, name=name, kind=kind)
    session.add(org)
    session.flush()
    audit.record(
        session, actor=actor, action="org.create", entity_type="organisation", entity_id=org.id,
        after={"slug": slug, "name": name, "kind": kind},
    )  # fmt: skip
    return org


def get_org(session: Session, *, slug: str) -> Organisation:
    """The organisation called slug."""
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound(f"no organisation {slug!r}")
    return org


def list_orgs(session: Session) -> list[Organisation]:
    """Every organisation, by slug (local administration)."""
    return list(session.scalars(select(Organisation).order_by(Organisation.slug)))


def set_explore_share(
    session: Session, *, actor: Principal | str, slug: str, share: float | None
) -> Organisation:
    """Set the share of the organisation's daily targeting queue picked to explore (None:
    back to the default of the risk settings)."""
    if share is not None and not 0 <= share < 1:
        raise InvalidInput(f"explore share must be from 0 to below 1, got {share}")
    org = get_org(session, slug=slug)
    before = org.explore_share
    org.explore_share = share
    session.flush()
    audit.record(
        session, actor=actor, action="org.explore_share", entity_type="organisation",
        entity_id=org.id, before={"explore_share": before}, after={"explore_share": share},
    )  # fmt: skip
    return org
