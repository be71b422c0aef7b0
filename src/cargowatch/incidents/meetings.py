"""Coordination meetings between partners: the convening organisation names the others; the
agenda (incidents, referrals, emerging patterns), minutes and decisions are items each under a
TLP 2.0 marking, read by every organisation taking part (the marking says how far each may go
from there: AMBER+STRICT stays in the reader's organisation, RED with the people present);
actions decided there carry owners and due dates and show on each owner's dashboard until
done. Every change is audited; an organisation not taking part is told there is no meeting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.incidents.models import (
    ITEM_KINDS,
    REF_TYPES,
    TLP,
    Action,
    Meeting,
    MeetingItem,
    MeetingMember,
)
from cargowatch.orgs.models import Organisation


def _tlp(value: str) -> str:
    if value not in TLP:
        raise InvalidInput(f"tlp: expected one of {', '.join(TLP)}")
    return value


def convene(
    session: Session,
    *,
    principal: Principal,
    title: str,
    held_at: datetime,
    members: list[str],
    tlp: str = "AMBER",
) -> Meeting:
    """A meeting of the caller's organisation with others (by slug); audited."""
    principal.require("events:write")
    if not title.strip():
        raise InvalidInput("title: name the meeting")
    orgs = []
    for slug in members:
        org = session.scalar(select(Organisation).where(Organisation.slug == slug.strip()))
        if org is None:
            raise InvalidInput(f"members: no organisation {slug[:40]!r}")
        orgs.append(org)
    meeting = Meeting(org_id=principal.org_id, title=title.strip()[:200],
                      held_at=held_at.astimezone(UTC), tlp=_tlp(tlp),
                      created_by=principal.label)  # fmt: skip
    session.add(meeting)
    session.flush()
    for org_id in sorted({principal.org_id, *(o.id for o in orgs)}):
        session.add(MeetingMember(meeting_id=meeting.id, org_id=org_id))
    session.flush()
    audit.record(session, actor=principal, action="meeting.convene", entity_type="meeting",
                 entity_id=meeting.id, after={"members": sorted(o.slug for o in orgs)})  # fmt: skip
    return meeting


def meeting_for(session: Session, principal: Principal, meeting_id: int) -> Meeting:
    """A meeting the caller's organisation takes part in."""
    principal.require("events:read")
    meeting = session.get(Meeting, meeting_id)
    member = None
    if meeting is not None:
        member = session.scalar(
            select(MeetingMember.id).where(
                MeetingMember.meeting_id == meeting.id, MeetingMember.org_id == principal.org_id
            )
        )
    if meeting is None or member is None:
        raise NotFound(f"no meeting {meeting_id}")
    return meeting


def add_item(
    session: Session,
    *,
    principal: Principal,
    meeting_id: int,
    kind: str,
    text: str,
    tlp: str = "AMBER",
    ref_type: str | None = None,
    ref_id: int | None = None,
) -> MeetingItem:
    """An agenda item, minutes or a decision (any organisation taking part); audited."""
    principal.require("events:write")
    meeting = meeting_for(session, principal, meeting_id)
    if kind not in ITEM_KINDS:
        raise InvalidInput(f"kind: expected one of {', '.join(ITEM_KINDS)}")
    if (ref_type is None) != (ref_id is None) or (ref_type and ref_type not in REF_TYPES):
        raise InvalidInput(f"ref_type and ref_id: together, ref_type one of {', '.join(REF_TYPES)}")
    if not text.strip():
        raise InvalidInput("text: write the item")
    item = MeetingItem(meeting_id=meeting.id, kind=kind, text=text.strip()[:20000],
                       tlp=_tlp(tlp), ref_type=ref_type, ref_id=ref_id,
                       created_by=principal.label)  # fmt: skip
    session.add(item)
    session.flush()
    audit.record(session, actor=principal, action=f"meeting.{kind}", entity_type="meeting",
                 entity_id=meeting.id, after={"item": item.id, "tlp": item.tlp})  # fmt: skip
    return item


def add_action(
    session: Session,
    *,
    principal: Principal,
    meeting_id: int,
    text: str,
    owner_org_id: int | None = None,
    owner_user: str | None = None,
    due_on: date | None = None,
    tlp: str = "AMBER",
) -> Action:
    """An action decided in the meeting, owned by an organisation taking part."""
    from cargowatch.incidents.workspace import new_action

    principal.require("events:write")
    meeting = meeting_for(session, principal, meeting_id)
    owner = owner_org_id or principal.org_id
    members = set(session.scalars(
        select(MeetingMember.org_id).where(MeetingMember.meeting_id == meeting.id)))  # fmt: skip
    if owner not in members:
        raise InvalidInput("owner_org_id: an organisation taking part in the meeting")
    return new_action(
        session,
        principal=principal,
        meeting_id=meeting.id,
        text=text,
        owner_org_id=owner,
        owner_user=owner_user,
        due_on=due_on,
        tlp=tlp,
    )


def listed(session: Session, *, principal: Principal) -> list[Meeting]:
    """The meetings the caller's organisation takes part in, newest first."""
    principal.require("events:read")
    mine = select(MeetingMember.meeting_id).where(MeetingMember.org_id == principal.org_id)
    return list(session.scalars(
        select(Meeting).where(Meeting.id.in_(mine)).order_by(Meeting.held_at.desc())))  # fmt: skip


def view(session: Session, *, principal: Principal, meeting_id: int) -> dict[str, Any]:
    """A meeting whole: members, items by kind, and its actions."""
    from cargowatch.incidents.workspace import action_view

    m = meeting_for(session, principal, meeting_id)
    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    members = session.scalars(select(MeetingMember.org_id).where(MeetingMember.meeting_id == m.id))
    items = session.scalars(select(MeetingItem).where(MeetingItem.meeting_id == m.id)
                            .order_by(MeetingItem.id))  # fmt: skip
    actions = session.scalars(select(Action).where(Action.meeting_id == m.id)
                              .order_by(Action.due_on, Action.id))  # fmt: skip
    return {
        "id": m.id, "title": m.title, "held_at": m.held_at, "tlp": m.tlp,
        "convened_by": names.get(m.org_id, "?"),
        "members": [{"org_id": o, "name": names.get(o, "?")} for o in members],
        "items": [{"id": i.id, "kind": i.kind, "text": i.text, "tlp": i.tlp,
                   "ref_type": i.ref_type, "ref_id": i.ref_id, "by": i.created_by,
                   "at": i.created_at} for i in items],
        "actions": [action_view(a) for a in actions],
    }  # fmt: skip
