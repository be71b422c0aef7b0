"""API of incidents: the seizure database, an incident's analysis, statistics, and the
insider ranking (personal-data grant)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from cargowatch.api import IdPath, PrincipalDep, SessionDep
from cargowatch.db.limits import MAX_OFFSET
from cargowatch.incidents import service
from cargowatch.incidents.models import CONCEALMENTS, INSIDER, MOS

router = APIRouter(prefix="/api/v1", tags=["incidents"])


@router.get("/incidents")
def incidents(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[dict[str, Any]]:
    """Your organisation's incidents (seizures), newest first."""
    rows = service.listed(session, principal=principal, limit=limit, offset=offset)
    return [service.view(r) for r in rows]


@router.post("/incidents/sync")
def sync(session: SessionDep, principal: PrincipalDep) -> dict[str, int]:
    """Make an incident of every seizure in your inspections that has none yet."""
    principal.require("events:write")
    return {"recorded": service.sync(session, org_id=principal.org_id, actor=principal)}


class IncidentWrite(BaseModel):
    """A seizure entered by hand (the same reference again answers 200)."""

    container: str = Field(pattern=r"^[A-Z]{4}\d{7}$")
    found_at: datetime
    reference: str = Field(min_length=1, max_length=100)
    booking_ref: str | None = Field(default=None, max_length=100)
    locode: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")
    substance: str | None = Field(default=None, max_length=100)
    quantity_kg: float | None = Field(default=None, ge=0, le=1e7)
    concealment: Literal[CONCEALMENTS] | None = None  # type: ignore[valid-type]
    mo: Literal[MOS] | None = None  # type: ignore[valid-type]
    insider: Literal[INSIDER] = "none"  # type: ignore[valid-type]
    insider_role: str | None = Field(default=None, max_length=100)
    notes: str = Field(default="", max_length=8000)


@router.post("/incidents", status_code=201)
def record(
    body: IncidentWrite, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    """Record a seizure by hand."""
    row, new = service.record(session, principal=principal, **body.model_dump())
    if not new:
        response.status_code = 200
    return service.view(row)


@router.get("/incidents/stats")
def stats(
    session: SessionDep,
    principal: PrincipalDep,
    by: Literal["mo", "concealment", "port", "lane", "carrier", "month", "insider"] = "mo",
) -> list[dict[str, Any]]:
    """Seizures per group, with the share involving an insider and the quantity."""
    return service.stats(session, principal=principal, by=by)


@router.get("/incidents/{incident_id}")
def one(incident_id: IdPath, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """An incident."""
    return service.view(service.get(session, principal=principal, incident_id=incident_id))


class IncidentChange(BaseModel):
    """What people learned of an incident."""

    mo: Literal[MOS] | None = None  # type: ignore[valid-type]
    concealment: Literal[CONCEALMENTS] | None = None  # type: ignore[valid-type]
    insider: Literal[INSIDER] | None = None  # type: ignore[valid-type]
    insider_role: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=8000)


@router.patch("/incidents/{incident_id}")
def change(
    incident_id: IdPath, body: IncidentChange, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Change an incident's MO, concealment, insider involvement or notes (audited)."""
    fields = body.model_dump(exclude_unset=True)
    row = service.update(session, principal=principal, incident_id=incident_id, **fields)
    return service.view(row)


@router.get("/incidents/{incident_id}/analysis")
def analysis(
    incident_id: IdPath,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
) -> dict[str, Any]:
    """The post-incident analysis: contamination windows by custodian, who had access
    (persons only with the personal-data grant), siblings to check, a suggested MO."""
    from cargowatch.incidents.analysis import analyse

    a = analyse(session, principal=principal, incident_id=incident_id, limit=limit)
    return a.__dict__


@router.get("/insiders")
def insiders(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[dict[str, Any]]:
    """Persons ranked by what links them to your seizures, best first, each with reasons
    (rule, score, reason, evidence). Needs the personal-data grant; audited."""
    from cargowatch.incidents.insiders import rank

    return rank(session, principal=principal, limit=limit)


@router.get("/personnel-security")
def personnel_security(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Badges used after employment ended, lapsed vetting in sensitive zones, revocation lag
    per employer (personal-data grant; audited)."""
    from cargowatch.incidents.personnel import report

    return report(session, principal=principal)


@router.get("/incidents/{incident_id}/workspace")
def workspace(incident_id: IdPath, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """The analysis as your organisation may read it: the sections meant for it (built ones
    from the store), who takes part, the actions it may see."""
    from cargowatch.incidents import workspace as ws

    return ws.view(session, principal=principal, incident_id=incident_id)


class Invite(BaseModel):
    """An organisation invited to the analysis, by its slug."""

    org: str = Field(min_length=1, max_length=64)


@router.post("/incidents/{incident_id}/participants", status_code=201)
def invite(
    incident_id: IdPath, body: Invite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Invite an organisation (the organisation that recorded the seizure)."""
    from cargowatch.incidents import workspace as ws

    p = ws.invite(session, principal=principal, incident_id=incident_id, org=body.org)
    return {"org_id": p.org_id, "invited_by": p.invited_by}


class SectionWrite(BaseModel):
    """A section's words and marking: TLP 2.0 and who reads it."""

    kind: Literal["summary", "findings", "root-causes", "note"] = "note"
    title: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=20000)
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] | None = None
    audience: Literal["owner", "participants", "named"] | None = None
    named: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=50
    )


@router.post("/incidents/{incident_id}/sections", status_code=201)
def add_section(
    incident_id: IdPath, body: SectionWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Add a section (a participant's note is read by its organisation and the owner)."""
    from cargowatch.incidents import workspace as ws

    s = ws.write_section(session, principal=principal, incident_id=incident_id,
                         **body.model_dump())  # fmt: skip
    return {"id": s.id, "tlp": s.tlp, "audience": s.audience}


@router.patch("/incidents/{incident_id}/sections/{section_id}")
def change_section(
    incident_id: IdPath,
    section_id: IdPath,
    body: SectionWrite,
    session: SessionDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Change a section's words, marking or audience (the owner's organisation)."""
    from cargowatch.incidents import workspace as ws

    fields = body.model_dump(exclude_unset=True)
    fields.pop("kind", None)
    s = ws.write_section(session, principal=principal, incident_id=incident_id,
                         section_id=section_id, **fields)  # fmt: skip
    return {"id": s.id, "tlp": s.tlp, "audience": s.audience}


class ActionWrite(BaseModel):
    """An action with its owner and due date."""

    text: str = Field(min_length=1, max_length=4000)
    owner_org_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    owner_user: str | None = Field(default=None, max_length=64)
    due_on: date | None = None
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] = "AMBER"


@router.post("/incidents/{incident_id}/actions", status_code=201)
def add_action(
    incident_id: IdPath, body: ActionWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Decide an action: it shows on its owner's dashboard until done."""
    from cargowatch.incidents import workspace as ws

    a = ws.add_action(session, principal=principal, incident_id=incident_id,
                      **body.model_dump())  # fmt: skip
    return ws.action_view(a)


@router.get("/actions")
def actions(
    session: SessionDep, principal: PrincipalDep, open_only: bool = True
) -> list[dict[str, Any]]:
    """Actions your organisation owns (for you or anyone there), soonest due first."""
    from cargowatch.incidents import workspace as ws

    rows = ws.my_actions(session, principal=principal, open_only=open_only)
    return [ws.action_view(a) for a in rows]


@router.post("/actions/{action_id}/done")
def action_done(action_id: IdPath, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Mark an action done."""
    from cargowatch.incidents import workspace as ws

    return ws.action_view(ws.close_action(session, principal=principal, action_id=action_id))


class MeetingWrite(BaseModel):
    """A coordination meeting with the organisations taking part (by slug)."""

    title: str = Field(min_length=1, max_length=200)
    held_at: datetime
    members: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=50)
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] = "AMBER"


@router.post("/meetings", status_code=201)
def convene(body: MeetingWrite, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Convene a coordination meeting."""
    from cargowatch.incidents import meetings

    m = meetings.convene(session, principal=principal, **body.model_dump())
    return meetings.view(session, principal=principal, meeting_id=m.id)


@router.get("/meetings")
def meetings_list(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The meetings your organisation takes part in, newest first."""
    from cargowatch.incidents import meetings

    return [{"id": m.id, "title": m.title, "held_at": m.held_at, "tlp": m.tlp}
            for m in meetings.listed(session, principal=principal)]  # fmt: skip


@router.get("/meetings/{meeting_id}")
def meeting(meeting_id: IdPath, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """A meeting: members, agenda, minutes, decisions, actions."""
    from cargowatch.incidents import meetings

    return meetings.view(session, principal=principal, meeting_id=meeting_id)


class ItemWrite(BaseModel):
    """An agenda item, minutes or a decision, under a marking."""

    kind: Literal["agenda", "minutes", "decision"]
    text: str = Field(min_length=1, max_length=20000)
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] = "AMBER"
    ref_type: Literal["incident", "referral", "pattern"] | None = None
    ref_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.post("/meetings/{meeting_id}/items", status_code=201)
def meeting_item(
    meeting_id: IdPath, body: ItemWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Add an agenda item, minutes or a decision."""
    from cargowatch.incidents import meetings

    item = meetings.add_item(session, principal=principal, meeting_id=meeting_id,
                             **body.model_dump())  # fmt: skip
    return {"id": item.id, "kind": item.kind, "tlp": item.tlp}


@router.post("/meetings/{meeting_id}/actions", status_code=201)
def meeting_action(
    meeting_id: IdPath, body: ActionWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """An action decided in the meeting: on its owner's dashboard until done."""
    from cargowatch.incidents import meetings
    from cargowatch.incidents import workspace as ws

    a = meetings.add_action(session, principal=principal, meeting_id=meeting_id,
                            **body.model_dump())  # fmt: skip
    return ws.action_view(a)
