"""HTTP routes of the targeting queue, trip scores and inspection outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cargowatch.api import EngineDep, IdPath, IdQuery, PrincipalDep, SessionDep
from cargowatch.risk import flows, service

router = APIRouter(prefix="/api/v1", tags=["risk"])


class Worth(BaseModel):
    """What a finding was worth here: inspected trips that carried it (at the trip's port
    when any there), and how many of them were seized."""

    inspected: int | None = None
    seized: int | None = None
    port: str | None = None


class Reason(BaseModel):
    """One reason of a score: the finding, the points it added (0..1 of the probability), its
    log-odds weight, a sentence with what it was worth here, and the proof."""

    rule: str
    score: float
    weight: float | None = None
    reason: str
    evidence: dict[str, Any]
    worth: Worth | None = None
    redacted: bool = Field(
        default=False, description="Personal details (badge, zone, hours, vetting) withheld."
    )


class TargetRead(BaseModel):
    """A trip in the targeting queue."""

    trip_id: int
    container: str
    booking_ref: str | None
    score: float
    origin: str | None
    destination: str | None
    started_at: datetime | None
    ended_at: datetime | None
    inspected: bool
    reasons: list[Reason]
    picked: Literal["score", "explore-random", "explore-uncertain"] = "score"
    propensity: float = 1.0


@router.get("/targets", response_model=list[TargetRead])
def targets(
    session: SessionDep,
    principal: PrincipalDep,
    budget: Annotated[float | None, Query(gt=0, le=1, description="Share to inspect.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    port: str | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    finding: Annotated[
        str | None, Query(max_length=64, description="Only trips carrying this finding.")
    ] = None,
    include_inspected: bool = False,
    explore: Annotated[
        float | None,
        Query(ge=0, lt=1, description="Share picked to explore; default the organisation's."),
    ] = None,
) -> list[TargetRead]:
    """The caller's targeting queue, best first (100 trips unless a budget or limit is given);
    a share of it is picked to explore, marked in picked, with the chance it had."""
    rows = service.targets(
        session,
        principal=principal,
        budget=budget,
        limit=limit if limit is not None or budget is not None else 100,
        port=port,
        min_score=min_score,
        include_inspected=include_inspected,
        explore=explore,
        finding=finding,
    )
    return [TargetRead.model_validate(t.__dict__) for t in rows]


class Finding(BaseModel):
    """A finding on a trip: its step in the score's waterfall (score: the points it added,
    0..1), its log-odds weight, what it was worth here, and its proof."""

    rule: str
    family: str
    rule_version: int
    score: float
    weight: float | None = None
    reason: str
    evidence: dict[str, Any]
    worth: Worth | None = None
    redacted: bool = Field(
        default=False, description="Personal details (badge, zone, hours, vetting) withheld."
    )


class AssessmentRead(BaseModel):
    """A trip's score, what it is fused from, and every finding."""

    trip_id: int
    score: float
    base_rate: float | None = None
    rules: float
    anomaly: float
    learned: float | None
    uncertainty: float | None = None
    model_version: int | None
    scored_at: datetime
    findings: list[Finding]


@router.get("/trips/{trip_id}/risk", response_model=AssessmentRead)
def trip_risk(trip_id: IdPath, session: SessionDep, principal: PrincipalDep) -> AssessmentRead:
    """Why a trip scores what it does."""
    return AssessmentRead.model_validate(
        service.assessment(session, principal=principal, trip_id=trip_id)
    )


class ScoreChangeRead(BaseModel):
    """A change of a trip's score: from what to what, when and why."""

    at: datetime
    before: float
    after: float
    model_before: int | None
    model_after: int | None
    added: list[str] = Field(description="Findings the trip carries now and did not before.")
    removed: list[str] = Field(description="Findings the trip no longer carries.")
    cause: str = Field(description="What started the rescoring (new events, an outcome...).")
    why: str


@router.get("/trips/{trip_id}/risk/history", response_model=list[ScoreChangeRead])
def trip_risk_history(
    trip_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> list[ScoreChangeRead]:
    """How a trip's score changed, newest first (a score that moved by half a point or more,
    or whose findings changed)."""
    return [
        ScoreChangeRead.model_validate(c)
        for c in service.score_history(session, principal=principal, trip_id=trip_id)
    ]


class ViewCreate(BaseModel):
    """A queue view to keep: a name and the queue's filters as a query string."""

    name: str = Field(min_length=1, max_length=80)
    query: str = Field(default="", max_length=1000, examples=["port=BEANR&min_score=30"])


class ViewRead(BaseModel):
    """A saved queue view."""

    id: int
    name: str
    query: str
    created_at: datetime


@router.get("/queue/views", response_model=list[ViewRead])
def list_views(session: SessionDep, principal: PrincipalDep) -> list[ViewRead]:
    """The caller's saved queue views."""
    return [
        ViewRead.model_validate(v, from_attributes=True)
        for v in service.saved_filters(session, principal=principal)
    ]


@router.post("/queue/views", response_model=ViewRead, status_code=201)
def save_view(body: ViewCreate, session: SessionDep, principal: PrincipalDep) -> ViewRead:
    """Keep a queue view under a name (the same name replaces it)."""
    from cargowatch.audit import service as audit

    row = service.save_filter(session, principal=principal, name=body.name, query=body.query)
    audit.record(session, actor=principal, action="queue.view-save", entity_type="saved_filter",
                 entity_id=row.id, after={"name": row.name, "query": row.query})  # fmt: skip
    return ViewRead.model_validate(row, from_attributes=True)


@router.delete("/queue/views/{view_id}", status_code=204)
def delete_view(view_id: IdPath, session: SessionDep, principal: PrincipalDep) -> None:
    """Forget one of the caller's saved views."""
    from cargowatch.audit import service as audit

    name = service.delete_filter(session, principal=principal, filter_id=view_id)
    audit.record(session, actor=principal, action="queue.view-delete",
                 entity_type="saved_filter", entity_id=view_id, before={"name": name})  # fmt: skip


class OutcomeCreate(BaseModel):
    """What an inspection of a trip's container found."""

    result: Literal["NO_FINDING", "SEIZURE", "IRREGULARITY"]
    method: Literal["SCAN", "PHYSICAL", "DOG", "SEAL_CHECK"] = "PHYSICAL"
    at: datetime | None = None
    locode: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")
    substance: str | None = None
    quantity_kg: float | None = Field(default=None, ge=0)
    concealment: (
        Literal["RIP_ON_RIP_OFF", "STRUCTURAL", "REEFER_UNIT", "IN_CARGO", "OTHER"] | None
    ) = None
    insider_suspected: Literal["YES", "NO", "UNKNOWN"] | None = None
    reference: str | None = None


class OutcomeRead(BaseModel):
    """A stored inspection outcome; new is false when a retry met the stored one."""

    trip_id: int
    container: str
    booking_ref: str | None
    ts: datetime
    result: str
    method: str
    reference: str
    new: bool


@router.post("/trips/{trip_id}/outcomes", response_model=OutcomeRead, status_code=201)
def record_outcome(
    trip_id: IdPath, body: OutcomeCreate, engine: EngineDep, principal: PrincipalDep
) -> OutcomeRead:
    """Record an inspection outcome; the container's trips are rebuilt and rescored at once."""
    row = flows.record_outcome(
        principal=principal, trip_id=trip_id, engine=engine, **body.model_dump()
    )
    return OutcomeRead.model_validate(row)


@router.get("/outcomes/metrics")
def outcome_metrics(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Hit rates of the inspections recorded so far, by score band."""
    return service.performance(session, principal=principal)


@router.get("/risk/findings")
def risk_findings(
    session: SessionDep, principal: PrincipalDep, version: IdQuery = None
) -> dict[str, Any]:
    """What each finding is worth here (newest model unless a version is given): how often
    it fires, inspected and seized trips that carried it, hit rate, prior and weight."""
    v, rows = service.model_findings(session, principal=principal, version=version)
    return {"version": v, "findings": rows}


class SiteConfirm(BaseModel):
    """A candidate site to add to the organisation's sites register."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    radius_m: float = Field(default=600, ge=50, le=20_000)
    kind: Literal["FARM", "PACKHOUSE", "DEPOT", "TERMINAL", "CFS", "WAREHOUSE"] = "WAREHOUSE"
    uses: str = Field(default="STRIPPING;STUFFING", pattern=r"^[A-Z;]+$")
    site_id: str | None = Field(default=None, max_length=100)


@router.get("/sites/candidates")
def site_candidates(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Places where several unrelated consignees' laden boxes were opened off every site."""
    from cargowatch.custody.places import candidates

    return candidates(session, principal=principal)


@router.post("/sites/candidates/confirm", status_code=201)
def confirm_site(body: SiteConfirm, engine: EngineDep, principal: PrincipalDep) -> dict[str, Any]:
    """Confirm a candidate site; the trips with openings there are rebuilt and rescored."""
    return flows.confirm_site(principal=principal, engine=engine, **body.model_dump())
