"""API of referrals: the directory of Customs points of contact, intake from industry, the
Customs inbox and the workflow of a referral."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, UploadFile
from pydantic import BaseModel, Field

from cargowatch.api import EngineDep, IdPath, PrincipalDep, SessionDep
from cargowatch.db.limits import MAX_OFFSET
from cargowatch.referrals import service
from cargowatch.referrals.models import (
    CATEGORIES,
    FEEDBACK_LEVELS,
    FEEDBACK_OUTCOMES,
    STATES,
    TLP,
    URGENCIES,
)

router = APIRouter(prefix="/api/v1", tags=["referrals"])

Category = Literal[CATEGORIES]  # type: ignore[valid-type]
State = Literal[STATES]  # type: ignore[valid-type]


class SpocWrite(BaseModel):
    """A point of contact a Customs organisation declares (the same name changes it)."""

    name: str = Field(min_length=1, max_length=120)
    jurisdiction: list[str] = Field(
        min_length=1, max_length=500, description="UN/LOCODEs, or two-letter countries."
    )
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Brussels"])
    opens: str = Field(default="08:00", pattern=r"^\d\d:\d\d$")
    closes: str = Field(default="18:00", pattern=r"^\d\d:\d\d$")
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5], min_length=1, max_length=7)
    holidays: list[str] = Field(default=[], max_length=400, description="YYYY-MM-DD")
    urgent_minutes: int = Field(default=120, ge=1, le=14400)
    routine_minutes: int = Field(default=600, ge=1, le=14400)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    backup_email: str | None = Field(default=None, max_length=200)
    webhook_url: str | None = Field(default=None, max_length=500)
    feedback_review: bool = Field(
        default=False, description="Feedback is released only after a second officer's review."
    )


@router.get("/spocs")
def list_spocs(
    session: SessionDep,
    principal: PrincipalDep,
    place: Annotated[str | None, Query(max_length=5)] = None,
) -> list[dict[str, Any]]:
    """Customs points of contact, or those covering a place: whom a referral would reach."""
    return service.directory(session, principal=principal, place=place)


@router.post("/spocs", status_code=201)
def declare_spoc(body: SpocWrite, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Declare or change a point of contact of the caller's Customs organisation (admins)."""
    row = service.declare_spoc(session, principal=principal, **body.model_dump())
    return next(s for s in service.directory(session, principal=principal) if s["id"] == row.id)


@router.get("/spocs/{spoc_id}/webhook-key")
def webhook_key(spoc_id: IdPath, session: SessionDep, principal: PrincipalDep) -> dict[str, str]:
    """The key that signs this point of contact's webhooks (its organisation's admins)."""
    from cargowatch.exceptions import NotFound
    from cargowatch.referrals.models import Spoc
    from cargowatch.referrals.notify import webhook_key as key_of

    principal.require("users:manage")
    spoc = session.get(Spoc, spoc_id)
    if spoc is None or spoc.org_id != principal.org_id:
        raise NotFound(f"no point of contact {spoc_id}")
    return {"algorithm": "HMAC-SHA256 over 'timestamp.body'", "key": key_of(spoc.id)}


class ReferralWrite(BaseModel):
    """What an industry partner observed, about which cargo."""

    client_ref: str = Field(min_length=1, max_length=100, description="Your own reference.")
    category: Category
    urgency: Literal[URGENCIES] = "routine"  # type: ignore[valid-type]
    tlp: Literal[TLP] = "AMBER"  # type: ignore[valid-type]
    observed_at: datetime | None = None
    place: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")
    containers: list[str] = Field(default=[], max_length=50)
    bookings: list[str] = Field(default=[], max_length=50)
    bl_numbers: list[str] = Field(default=[], max_length=50)
    seals: list[str] = Field(default=[], max_length=50)
    text: str = Field(default="", max_length=8000)
    contact: str = Field(default="", max_length=200)


@router.post("/referrals", status_code=201)
def submit(
    body: ReferralWrite, principal: PrincipalDep, response: Response, engine: EngineDep
) -> dict[str, Any]:
    """Send a referral: stored, routed to the Customs points of contact where the cargo is or
    is going, each with its acknowledgement due. The same client_ref again answers 200 with
    what was stored."""
    from cargowatch.referrals import flows

    view, new = flows.send(principal=principal, engine=engine, **body.model_dump())
    if not new:
        response.status_code = 200
    return view


@router.get("/referrals")
def my_referrals(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The referrals the caller's organisation sent, with the state of each copy."""
    return service.sent_views(session, principal=principal)


@router.get("/referrals/metrics")
def referral_metrics(
    session: SessionDep,
    principal: PrincipalDep,
    format: Literal["json", "csv"] = "json",
    by: Literal["spoc", "customs", "referrer"] | None = None,
) -> Any:
    """Per point of contact or per referring organisation (Customs), or per Customs
    organisation reached (industry): time to acknowledge and to feedback, share acknowledged
    in time, share with feedback, inspections and seizures that followed."""
    rows = service.metrics(session, principal=principal, by=by)
    if format == "json":
        return rows
    return Response(
        service.metrics_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="referrals.csv"'},
    )


@router.get("/referrals/inbox")
def inbox(
    session: SessionDep,
    principal: PrincipalDep,
    state: State | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[dict[str, Any]]:
    """The referrals routed to the caller's Customs organisation, soonest due first."""
    rows = service.inbox(
        session,
        principal=principal,
        state=state,
        limit=limit,
        offset=offset,
        overdue_at=service.now_utc() if overdue else None,
    )
    said = service.feedback_of(session, [c.id for c, _ in rows], released_only=False)
    return [service.public_view(r, [c], customs=True, feedback=said) for c, r in rows]


@router.get("/referrals/{referral_id}")
def one(referral_id: IdPath, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """A referral: its referrer sees every copy's state; a Customs organisation its own copy."""
    return _view(session, principal, referral_id)


def _view(session: Any, principal: Any, referral_id: int) -> dict[str, Any]:
    from cargowatch.referrals import views

    return views.full(session, principal=principal, referral_id=referral_id)


class Move(BaseModel):
    """A step of a referral's workflow."""

    state: State
    note: str = Field(default="", max_length=2000)
    merged_into: int | None = Field(default=None, ge=1, le=2**31 - 1)
    outcome: str | None = Field(default=None, max_length=200)


@router.post("/referrals/{referral_id}/state")
def move(
    referral_id: IdPath, body: Move, principal: PrincipalDep, engine: EngineDep
) -> dict[str, Any]:
    """Acknowledge, assess, action, close, decline or merge the caller's Customs copy; or
    withdraw a referral the caller's organisation sent."""
    from cargowatch.referrals import flows

    return flows.move(
        principal=principal, referral_id=referral_id, engine=engine, **body.model_dump()
    )


class FeedbackWrite(BaseModel):
    """Feedback to the referrer, at one documented level."""

    level: Literal[FEEDBACK_LEVELS]  # type: ignore[valid-type]
    outcome: Literal[FEEDBACK_OUTCOMES] | None = None  # type: ignore[valid-type]
    text: str = Field(default="", max_length=2000)
    hold_until: datetime | None = None
    redact: list[str] = Field(default=[], max_length=50)


@router.post("/referrals/{referral_id}/feedback", status_code=201)
def give_feedback(
    referral_id: IdPath, body: FeedbackWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Feedback to the referrer, released when its hold date has passed (and reviewed, where
    the point of contact asks for a review)."""
    row = service.give_feedback(
        session, principal=principal, referral_id=referral_id, **body.model_dump()
    )
    return {"id": row.id, "needs_review": row.needs_review, "hold_until": row.hold_until}


@router.post("/feedback/{feedback_id}/review")
def review_feedback(
    feedback_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """A second officer approves feedback for release."""
    row = service.review_feedback(session, principal=principal, feedback_id=feedback_id)
    return {"id": row.id, "reviewed_by": row.reviewed_by}


def read_upload(upload: UploadFile) -> tuple[str, bytes]:
    """An uploaded file's name and content, read no further than one byte past the cap."""
    from cargowatch.referrals.attachments import read_capped

    return read_capped(upload.file, upload.filename or "file")


@router.post("/referrals/{referral_id}/attachments", status_code=201)
def attach(
    referral_id: IdPath,
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> dict[str, Any]:
    """Attach a photo (JPEG, PNG, WebP) or a PDF to a referral the caller's organisation
    sent; its type is told by its content. The same file again answers 200."""
    from cargowatch.referrals import attachments

    name, data = read_upload(file)
    row, new = attachments.attach(
        session, principal=principal, referral_id=referral_id, name=name, data=data
    )
    if not new:
        response.status_code = 200
    return attachments.view(row)


@router.get("/referrals/{referral_id}/attachments")
def list_attachments(
    referral_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The files of a referral (the referrer and the Customs organisations it reached)."""
    from cargowatch.referrals import attachments

    return attachments.listed(session, principal=principal, referral_id=referral_id)


@router.get("/referrals/{referral_id}/attachments/{attachment_id}")
def download(
    referral_id: IdPath, attachment_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> Response:
    """A file, always as a download, of the type found in its content."""
    from cargowatch.referrals import attachments

    item = attachments.read(
        session, principal=principal, referral_id=referral_id, attachment_id=attachment_id
    )
    return Response(
        item.data, media_type=item.media_type, headers=attachments.download_headers(item)
    )


class MessageWrite(BaseModel):
    """A question from Customs, or the referrer's answer."""

    text: str = Field(min_length=1, max_length=4000)
    customs_org_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The referrer answering: which Customs organisation's thread (when the "
        "referral reached more than one).",
    )


@router.post("/referrals/{referral_id}/messages", status_code=201)
def post_message(
    referral_id: IdPath, body: MessageWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Ask the referrer a question (Customs) or answer one (the referrer); the other side is
    told in-app and by mail."""
    from cargowatch.referrals import thread

    m = thread.post(session, principal=principal, referral_id=referral_id, **body.model_dump())
    return {"id": m.id, "kind": m.kind, "author": m.author, "text": m.text,
            "created_at": m.created_at}  # fmt: skip


@router.get("/notifications")
def notifications(
    session: SessionDep, principal: PrincipalDep, unread: bool = False
) -> list[dict[str, Any]]:
    """The caller's in-app notifications, newest first."""
    from cargowatch.referrals import notify

    rows = notify.for_user(session, principal=principal, unread_only=unread)
    return [notify.view(r) for r in rows]


class ReadMark(BaseModel):
    """Which notifications were read (all when not given)."""

    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=500
    )


@router.post("/notifications/read")
def notifications_read(
    body: ReadMark, session: SessionDep, principal: PrincipalDep
) -> dict[str, int]:
    """Mark the caller's notifications read."""
    from cargowatch.referrals import notify

    return {"marked": notify.mark_read(session, principal=principal, ids=body.ids)}
