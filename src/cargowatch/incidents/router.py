"""API of incidents: the seizure database, an incident's analysis, statistics, and the
insider ranking (personal-data grant)."""

from __future__ import annotations

from datetime import datetime
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
