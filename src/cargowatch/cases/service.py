"""Working a subject as a case: assign, move its status, write notes, record outcomes; each a
line of its history and an audit entry. A case is the caller's organisation's own, on a subject
the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.models import User
from cargowatch.auth.principal import Principal
from cargowatch.cases.models import STATUSES, Case, CaseEntry
from cargowatch.custody.models import Trip
from cargowatch.custody.service import get_trip
from cargowatch.db.base import utcnow
from cargowatch.exceptions import InvalidInput, NotFound

OPEN = tuple(s for s in STATUSES if s != "closed")
MAX_NOTE = 4000


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as pages and the API show it."""

    case: Case
    assignee: str | None
    history: list[CaseEntry]


def _trip_case(
    session: Session, principal: Principal, trip_id: int, *, create: bool
) -> Case | None:
    get_trip(session, principal=principal, trip_id=trip_id)  # NotFound unless visible
    case = session.scalar(
        select(Case).where(
            Case.org_id == principal.org_id, Case.subject_type == "trip", Case.subject_id == trip_id
        )
    )
    if case is None and create:
        principal.require("events:write")
        case = Case(org_id=principal.org_id, subject_type="trip", subject_id=trip_id)
        session.add(case)
        session.flush()
        _entry(session, principal, case, "created", "")
    return case


def subject_case(
    session: Session, *, principal: Principal, subject_type: str, subject_id: int
) -> Case:
    """The caller's organisation's case on any subject (a referral, an incident), made when
    first worked on; the caller's service has checked that it may see the subject."""
    case = session.scalar(
        select(Case).where(
            Case.org_id == principal.org_id,
            Case.subject_type == subject_type,
            Case.subject_id == subject_id,
        )
    )
    if case is None:
        case = Case(org_id=principal.org_id, subject_type=subject_type, subject_id=subject_id)
        session.add(case)
        session.flush()
        _entry(session, principal, case, "created", "")
    return case


def record_on(
    session: Session,
    *,
    principal: Principal | str,
    case: Case,
    kind: str,
    text: str,
    status: str | None = None,
) -> None:
    """A line of a case's history (and its audit entry); with status, the case moves to it."""
    if status is not None:
        case.status = status
    _entry(session, principal, case, kind, text)


def history(session: Session, case_id: int) -> list[CaseEntry]:
    """A case's history, oldest first."""
    return list(
        session.scalars(
            select(CaseEntry).where(CaseEntry.case_id == case_id).order_by(CaseEntry.id)
        )
    )


def _entry(session: Session, principal: Principal | str, case: Case, kind: str, text: str) -> None:
    actor = principal.label if isinstance(principal, Principal) else principal
    session.add(CaseEntry(case_id=case.id, actor=actor, kind=kind, text=text))
    case.updated_at = utcnow()
    session.flush()
    audit.record(session, actor=principal, action=f"case.{kind}", entity_type="case",
                 entity_id=case.id, after={"subject": f"{case.subject_type} {case.subject_id}",
                                           "text": text[:500]})  # fmt: skip


def view(session: Session, *, principal: Principal, trip_id: int) -> CaseView | None:
    """The caller's organisation's case on a trip, with its history (None: none yet)."""
    principal.require("events:read")
    case = _trip_case(session, principal, trip_id, create=False)
    if case is None:
        return None
    name = session.scalar(select(User.username).where(User.id == case.assignee_id))
    history = list(
        session.scalars(
            select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.id)
        )
    )
    return CaseView(case, name, history)


def assign(session: Session, *, principal: Principal, trip_id: int, username: str | None) -> Case:
    """Give the case to a user of the caller's organisation (None: nobody)."""
    case = _trip_case(session, principal, trip_id, create=True)
    assert case is not None
    user = None
    if username:
        user = session.scalar(select(User).where(User.username == username,
                                                 User.org_id == principal.org_id))  # fmt: skip
        if user is None or not user.active:
            raise NotFound(f"no active user {username!r} in your organisation")
    case.assignee_id = user.id if user else None
    if case.status == "new" and user is not None:
        case.status = "assigned"
    _entry(session, principal, case, "assigned", user.username if user else "nobody")
    return case


def set_status(
    session: Session, *, principal: Principal, trip_id: int, status: str, confirm: bool = False
) -> Case:
    """Move the case to status; closing needs confirm."""
    if status not in STATUSES:
        raise InvalidInput(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
    if status == "closed" and not confirm:
        raise InvalidInput("closing a case needs confirmation: tick 'I confirm' and send again")
    case = _trip_case(session, principal, trip_id, create=True)
    assert case is not None
    if case.status == status:
        return case
    before, case.status = case.status, status
    _entry(session, principal, case, "status", f"{before} → {status}")
    return case


def add_note(session: Session, *, principal: Principal, trip_id: int, text: str) -> Case:
    """A note on the case (kept as written, never changed)."""
    note = text.strip()
    if not note or len(note) > MAX_NOTE:
        raise InvalidInput(f"note: expected 1 to {MAX_NOTE} characters")
    case = _trip_case(session, principal, trip_id, create=True)
    assert case is not None
    _entry(session, principal, case, "note", note)
    return case


def outcome_recorded(session: Session, *, principal: Principal, trip_id: int, text: str) -> None:
    """An inspection's outcome joins the case's history; the case is then 'inspected'."""
    case = _trip_case(session, principal, trip_id, create=True)
    assert case is not None
    _entry(session, principal, case, "outcome", text)
    if case.status != "closed":
        case.status = "inspected"


def statuses_of(
    session: Session, *, principal: Principal, trip_ids: list[int]
) -> dict[int, tuple[str, str | None]]:
    """(status, assignee) of the caller's organisation's cases on these trips."""
    if not trip_ids:
        return {}
    rows = session.execute(
        select(Case.subject_id, Case.status, User.username)
        .outerjoin(User, User.id == Case.assignee_id)
        .where(
            Case.org_id == principal.org_id,
            Case.subject_type == "trip",
            Case.subject_id.in_(trip_ids),
        )
    ).all()
    return {sid: (status, name) for sid, status, name in rows}


def my_work(
    session: Session, *, principal: Principal, include_closed: bool = False
) -> list[tuple[Case, Trip]]:
    """The cases assigned to the caller, newest change first."""
    principal.require("events:read")
    query = (
        select(Case, Trip)
        .join(Trip, Trip.id == Case.subject_id)
        .where(
            Case.org_id == principal.org_id,
            Case.subject_type == "trip",
            Case.assignee_id == principal.user_id,
        )
        .order_by(Case.updated_at.desc())
        .limit(500)
    )
    if not include_closed:
        query = query.where(Case.status.in_(OPEN))
    return [(c, t) for c, t in session.execute(query)]
