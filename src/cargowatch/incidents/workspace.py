"""The post-incident analysis as partners work it together: the organisation that recorded the
seizure invites others; every section (the built windows, access and siblings, and what people
write: summary, findings, root causes, notes) carries a TLP 2.0 marking and an audience (the
owner only, every participant, or named organisations), and each organisation reads only the
sections meant for it; persons in the access section only with the personal-data grant of
the owner. Actions with owners and due dates show on each owner's dashboard until done. Every
change is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.exceptions import InvalidInput, NotFound, PermissionDenied
from cargowatch.incidents.models import (
    AUDIENCES,
    BUILT,
    SECTION_KINDS,
    TLP,
    Action,
    Incident,
    Participant,
    Section,
)
from cargowatch.orgs.models import Organisation

DEFAULTS = (  # kind, title, marking, audience
    ("summary", "Summary", "AMBER", "participants"),
    ("windows", "Contamination windows", "AMBER", "participants"),
    ("access", "Who had access", "RED", "owner"),
    ("siblings", "Containers to check now", "AMBER", "participants"),
    ("findings", "Findings", "AMBER", "participants"),
    ("root-causes", "Root causes", "AMBER", "owner"),
)


def incident_for(session: Session, principal: Principal, incident_id: int) -> tuple[Incident, bool]:
    """The incident and whether the caller's organisation owns it (else it takes part);
    anyone else is told there is no such incident."""
    principal.require("events:read")
    row = session.get(Incident, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if row.org_id == principal.org_id:
        return row, True
    taking_part = session.scalar(select(Participant.id).where(
        Participant.incident_id == row.id, Participant.org_id == principal.org_id))  # fmt: skip
    if taking_part is None:
        raise NotFound(f"no incident {incident_id}")
    return row, False


def _owner(session: Session, principal: Principal, incident_id: int) -> Incident:
    principal.require("events:write")
    row, owner = incident_for(session, principal, incident_id)
    if not owner:
        raise PermissionDenied(
            f"{principal.label}: only the organisation that recorded it does this"
        )
    return row


def sections(session: Session, incident: Incident) -> list[Section]:
    """The incident's sections, made with their default markings the first time."""
    query = select(Section).where(Section.incident_id == incident.id)
    rows = list(session.scalars(query.order_by(Section.position, Section.id)))
    if rows:
        return rows
    for n, (kind, title, tlp, audience) in enumerate(DEFAULTS):
        session.add(Section(incident_id=incident.id, kind=kind, title=title, tlp=tlp,
                            audience=audience, position=n * 10,
                            updated_by="cargowatch (analysis)"))  # fmt: skip
    session.flush()
    return sections(session, incident)


def visible(section: Section, org_id: int, owner: bool) -> bool:
    """Whether an organisation reads a section."""
    if owner:
        return True
    if section.audience == "participants":
        return section.tlp != "RED"
    if section.audience == "named":
        return str(org_id) in section.named.split(",")
    return False


def invite(session: Session, *, principal: Principal, incident_id: int, org: str) -> Participant:
    """Invite an organisation (by slug) to the analysis (the owner's organisation)."""
    row = _owner(session, principal, incident_id)
    target = session.scalar(select(Organisation).where(Organisation.slug == org.strip()))
    if target is None:
        raise InvalidInput(f"org: no organisation {org[:40]!r}")
    if target.id == row.org_id:
        raise InvalidInput("org: the owner takes part already")
    found = session.scalar(select(Participant).where(
        Participant.incident_id == row.id, Participant.org_id == target.id))  # fmt: skip
    if found is not None:
        return found
    part = Participant(incident_id=row.id, org_id=target.id, invited_by=principal.label)
    session.add(part)
    session.flush()
    audit.record(session, actor=principal, action="incident.invite", entity_type="incident",
                 entity_id=row.id, after={"org": target.slug})  # fmt: skip
    return part


def _check_marking(tlp: str, audience: str, named: list[int] | None) -> None:
    if tlp not in TLP:
        raise InvalidInput(f"tlp: expected one of {', '.join(TLP)}")
    if audience not in AUDIENCES:
        raise InvalidInput(f"audience: expected one of {', '.join(AUDIENCES)}")
    if audience == "named" and not named:
        raise InvalidInput("named: name the organisations that read it")
    if tlp == "RED" and audience == "participants":
        raise InvalidInput("audience: TLP:RED goes to named organisations only")


def write_section(
    session: Session,
    *,
    principal: Principal,
    incident_id: int,
    section_id: int | None = None,
    kind: str = "note",
    title: str | None = None,
    body: str | None = None,
    tlp: str | None = None,
    audience: str | None = None,
    named: list[int] | None = None,
) -> Section:
    """Add a section (a participant adds notes its own organisation and the owner read) or
    change one (the owner: any section's words, marking and audience); audited."""
    principal.require("events:write")
    row, owner = incident_for(session, principal, incident_id)
    sections(session, row)
    if section_id is None:
        if kind not in SECTION_KINDS or kind in BUILT:
            raise InvalidInput("kind: summary, findings, root-causes or note")
        audience = audience or ("participants" if owner else "named")
        if not owner:
            named = sorted({*(named or []), principal.org_id})
        tlp = tlp or "AMBER"
        _check_marking(tlp, audience, named)
        section = Section(incident_id=row.id, kind=kind, title=(title or kind.title())[:200],
                          body=(body or "")[:20000], tlp=tlp, audience=audience,
                          named=",".join(str(n) for n in named or []), position=1000,
                          updated_by=principal.label)  # fmt: skip
        session.add(section)
        session.flush()
        before: dict[str, Any] | None = None
    else:
        if not owner:
            raise PermissionDenied(f"{principal.label}: the owner's organisation edits sections")
        found = session.get(Section, section_id)
        if found is None or found.incident_id != row.id:
            raise NotFound(f"no section {section_id} in incident {incident_id}")
        section = found
        before = {"tlp": section.tlp, "audience": section.audience, "named": section.named,
                  "title": section.title}  # fmt: skip
        new_tlp, new_audience = tlp or section.tlp, audience or section.audience
        names = named if named is not None else [int(x) for x in section.named.split(",") if x]
        _check_marking(new_tlp, new_audience, names)
        if body is not None and section.kind in BUILT:
            raise InvalidInput("body: this section is built from the store")
        section.tlp, section.audience = new_tlp, new_audience
        section.named = ",".join(str(n) for n in names)
        section.title = (title or section.title)[:200]
        if body is not None:
            section.body = body[:20000]
        section.updated_by, section.updated_at = principal.label, utcnow()
    audit.record(session, actor=principal, action="incident.section", entity_type="incident",
                 entity_id=row.id, before=before,
                 after={"section": section.id, "tlp": section.tlp, "audience": section.audience,
                        "named": section.named})  # fmt: skip
    return section


def add_action(
    session: Session,
    *,
    principal: Principal,
    incident_id: int | None,
    text: str,
    owner_org_id: int | None = None,
    owner_user: str | None = None,
    due_on: date | None = None,
    tlp: str = "AMBER",
) -> Action:
    """An action with its owner (an organisation taking part, optionally one of its users)
    and due date; audited."""
    principal.require("events:write")
    owner_org = owner_org_id or principal.org_id
    if incident_id is not None:
        row, _ = incident_for(session, principal, incident_id)
        allowed = {row.org_id, *session.scalars(
            select(Participant.org_id).where(Participant.incident_id == row.id))}  # fmt: skip
        if owner_org not in allowed:
            raise InvalidInput("owner_org_id: an organisation taking part in the analysis")
    return new_action(
        session,
        principal=principal,
        incident_id=incident_id,
        text=text,
        owner_org_id=owner_org,
        owner_user=owner_user,
        due_on=due_on,
        tlp=tlp,
    )


def new_action(
    session: Session,
    *,
    principal: Principal,
    text: str,
    owner_org_id: int,
    owner_user: str | None,
    due_on: date | None,
    tlp: str,
    incident_id: int | None = None,
    meeting_id: int | None = None,
) -> Action:
    """Store an action of an incident or a meeting whose owner the caller has checked takes
    part; audited."""
    if tlp not in TLP:
        raise InvalidInput(f"tlp: expected one of {', '.join(TLP)}")
    if not text.strip():
        raise InvalidInput("text: say what is to be done")
    action = Action(incident_id=incident_id, meeting_id=meeting_id, text=text.strip()[:4000],
                    owner_org_id=owner_org_id, owner_user=owner_user, due_on=due_on, tlp=tlp,
                    created_by=principal.label)  # fmt: skip
    session.add(action)
    session.flush()
    after = {"incident": incident_id, "meeting": meeting_id, "owner_org": owner_org_id,
             "owner_user": owner_user, "due_on": str(due_on) if due_on else None}  # fmt: skip
    audit.record(session, actor=principal, action="action.create", entity_type="action",
                 entity_id=action.id, after=after)  # fmt: skip
    return action


def close_action(session: Session, *, principal: Principal, action_id: int) -> Action:
    """Mark an action done (its owner's organisation, or the incident's); audited."""
    principal.require("events:write")
    action = session.get(Action, action_id)
    incident = session.get(Incident, action.incident_id) if action and action.incident_id else None
    mine = action is not None and (
        action.owner_org_id == principal.org_id
        or (incident is not None and incident.org_id == principal.org_id)
    )
    if action is None or not mine:
        raise NotFound(f"no action {action_id}")
    if action.status != "done":
        action.status, action.done_by, action.done_at = "done", principal.label, utcnow()
        audit.record(session, actor=principal, action="action.done", entity_type="action",
                     entity_id=action.id, before={"status": "open"},
                     after={"status": "done"})  # fmt: skip
    return action


def my_actions(session: Session, *, principal: Principal, open_only: bool = True) -> list[Action]:
    """Actions owned by the caller's organisation (for the caller, or for anyone there),
    soonest due first."""
    principal.require("events:read")
    query = select(Action).where(
        Action.owner_org_id == principal.org_id,
        (Action.owner_user.is_(None)) | (Action.owner_user == principal.username),
    )
    if open_only:
        query = query.where(Action.status == "open")
    return list(session.scalars(query.order_by(Action.due_on, Action.id)))


def action_view(a: Action) -> dict[str, Any]:
    """An action as the API shows it."""
    return {"id": a.id, "incident_id": a.incident_id, "meeting_id": a.meeting_id, "text": a.text,
            "owner_org_id": a.owner_org_id, "owner_user": a.owner_user, "due_on": a.due_on,
            "tlp": a.tlp, "status": a.status, "created_by": a.created_by,
            "done_by": a.done_by, "done_at": a.done_at}  # fmt: skip


def view(session: Session, *, principal: Principal, incident_id: int) -> dict[str, Any]:
    """The workspace as the caller's organisation may read it: the incident, who takes part,
    the sections meant for it (built ones filled from the store, persons only with the
    owner's personal-data grant), and the actions it may see."""
    from cargowatch.incidents.analysis import (
        local_context,
        persons_seen,
        siblings,
        windows,
        with_status,
    )
    from cargowatch.incidents.service import view as incident_view

    row, owner = incident_for(session, principal, incident_id)
    shown = [s for s in sections(session, row) if visible(s, principal.org_id, owner)]
    built: dict[str, Any] = {}
    if row.trip_id and any(s.kind in BUILT for s in shown):
        ctx = local_context(session, row.org_id, row.trip_id, row.found_at)
        spans = windows(ctx, row.trip_id, row.found_at)
        built["windows"] = spans
        if any(s.kind == "access" for s in shown):
            built["access"], _ = persons_seen(session, principal, row, ctx, spans, 25)
        found = siblings(ctx, row.trip_id, spans)
        # where each stands now is the owner's working knowledge: its case and risk score
        built["siblings"] = with_status(session, principal, found) if owner else found
    orgs = {o.id: o.name for o in session.scalars(select(Organisation))}
    people = list(session.scalars(select(Participant).where(Participant.incident_id == row.id)))
    actions = list(session.scalars(select(Action).where(Action.incident_id == row.id)
                                   .order_by(Action.due_on, Action.id)))  # fmt: skip
    return {
        "incident": incident_view(row) if owner else _shared(incident_view(row)),
        "owner": orgs.get(row.org_id, str(row.org_id)),
        "you_own_it": owner,
        "participants": [{"org_id": p.org_id, "name": orgs.get(p.org_id, "?")} for p in people],
        "sections": [
            {"id": s.id, "kind": s.kind, "title": s.title, "tlp": s.tlp,
             "audience": s.audience, "named": [int(x) for x in s.named.split(",") if x],
             "body": s.body, "content": built.get(s.kind), "updated_by": s.updated_by,
             "updated_at": s.updated_at}
            for s in shown
        ],
        "actions": [action_view(a) for a in actions
                    if owner or a.owner_org_id == principal.org_id],
    }  # fmt: skip


def _shared(incident: dict[str, Any]) -> dict[str, Any]:
    """What a participant reads of the incident record itself: no internal references."""
    return {k: v for k, v in incident.items() if k not in ("source_ref", "notes", "trip_id")}
