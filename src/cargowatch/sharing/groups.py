"""Sharing groups: named sets of organisations, each with a steward organisation that admits
and removes members. Every change is audited."""

from __future__ import annotations

import re

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.exceptions import InvalidInput, NotFound, PermissionDenied
from cargowatch.orgs.models import Organisation
from cargowatch.orgs.service import get_org
from cargowatch.sharing.models import GroupMember, SharingGroup

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create(session: Session, *, principal: Principal, slug: str, name: str) -> SharingGroup:
    """A new group stewarded by the caller's organisation, which is its first member; creating
    the same slug again as its steward returns it (a retry is safe)."""
    principal.require("shares:manage")
    if not SLUG.match(slug):
        raise InvalidInput(f"group {slug!r}: lower-case letters, digits and '-', 2 to 63")
    if not name.strip():
        raise InvalidInput("a group needs a name")
    found = session.scalar(select(SharingGroup).where(SharingGroup.slug == slug))
    if found is not None:
        if found.steward_org_id != principal.org_id:
            raise InvalidInput(f"group {slug!r} exists already")
        return found
    group = SharingGroup(slug=slug, name=name.strip()[:200], steward_org_id=principal.org_id,
                         created_by=principal.label)  # fmt: skip
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, org_id=principal.org_id,
                            admitted_by=principal.label))  # fmt: skip
    audit.record(session, actor=principal, action="group.create", entity_type="sharing-group",
                 entity_id=group.id, after={"slug": slug, "name": group.name})  # fmt: skip
    return group


def _stewarded(session: Session, principal: Principal, slug: str) -> SharingGroup:
    principal.require("shares:manage")
    group = session.scalar(select(SharingGroup).where(SharingGroup.slug == slug))
    if group is None or not is_member(session, principal.org_id, group.id):
        raise NotFound(f"no sharing group {slug!r}")
    if group.steward_org_id != principal.org_id:
        raise PermissionDenied(f"only the steward of {slug!r} admits and removes members")
    return group


def admit(session: Session, *, principal: Principal, slug: str, org_slug: str) -> GroupMember:
    """The steward admits an organisation (idempotent)."""
    group = _stewarded(session, principal, slug)
    org = get_org(session, slug=org_slug)
    found = session.scalar(select(GroupMember).where(
        GroupMember.group_id == group.id, GroupMember.org_id == org.id))  # fmt: skip
    if found is not None:
        return found
    member = GroupMember(group_id=group.id, org_id=org.id, admitted_by=principal.label)
    session.add(member)
    session.flush()
    audit.record(session, actor=principal, action="group.admit", entity_type="sharing-group",
                 entity_id=group.id, after={"org": org_slug})  # fmt: skip
    return member


def remove(session: Session, *, principal: Principal, slug: str, org_slug: str) -> None:
    """The steward removes a member (not itself): it reads nothing more sent to the group."""
    group = _stewarded(session, principal, slug)
    org = get_org(session, slug=org_slug)
    if org.id == group.steward_org_id:
        raise InvalidInput("the steward stays in its group")
    member = session.scalar(select(GroupMember).where(
        GroupMember.group_id == group.id, GroupMember.org_id == org.id))  # fmt: skip
    if member is None:
        raise NotFound(f"{org_slug!r} is not in {slug!r}")
    session.delete(member)
    audit.record(session, actor=principal, action="group.remove", entity_type="sharing-group",
                 entity_id=group.id, before={"org": org_slug})  # fmt: skip


def is_member(session: Session, org_id: int, group_id: int) -> bool:
    """Whether the organisation belongs to the group."""
    return session.scalar(select(GroupMember.id).where(
        GroupMember.group_id == group_id, GroupMember.org_id == org_id)) is not None  # fmt: skip


def groups_of(org_id: int) -> Select[int]:
    """The ids of the groups an organisation belongs to (a subquery)."""
    return select(GroupMember.group_id).where(GroupMember.org_id == org_id)


def community_of(org_id: int) -> Select[int]:
    """The organisations that share at least one group with org_id (itself included)."""
    return select(GroupMember.org_id).where(GroupMember.group_id.in_(groups_of(org_id)))


def listed(session: Session, *, principal: Principal) -> list[dict[str, object]]:
    """The groups of the caller's organisation, each with its steward and members."""
    out: list[dict[str, object]] = []
    groups = session.scalars(
        select(SharingGroup).where(SharingGroup.id.in_(groups_of(principal.org_id)))
        .order_by(SharingGroup.slug)
    )  # fmt: skip
    for g in groups:
        members = session.scalars(select(Organisation.slug).join(
            GroupMember, GroupMember.org_id == Organisation.id
        ).where(GroupMember.group_id == g.id).order_by(Organisation.slug)).all()  # fmt: skip
        steward = session.get(Organisation, g.steward_org_id)
        out.append({"slug": g.slug, "name": g.name, "steward": steward.slug if steward else None,
                    "members": list(members)})  # fmt: skip
    return out
