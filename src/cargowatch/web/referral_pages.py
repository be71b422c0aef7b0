"""Pages of referrals: the referral form, "my referrals" for industry, the Customs inbox with
its acknowledgement countdown and bulk acknowledgement, and a referral's page with its
history, linked trips, states and feedback. Same services as the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cargowatch.api import IdPath, SessionDep, get_engine_dep
from cargowatch.cases import service as cases
from cargowatch.cases.models import Case
from cargowatch.config import get_settings
from cargowatch.custody.models import Trip
from cargowatch.custody.service import visible_trips
from cargowatch.orgs.models import Organisation
from cargowatch.referrals import attachments, flows, notify, service, thread, views
from cargowatch.referrals.models import (
    CATEGORIES,
    FEEDBACK_LEVELS,
    FEEDBACK_OUTCOMES,
    STATES,
    TLP,
    URGENCIES,
)
from cargowatch.referrals.router import read_upload
from cargowatch.risk.models import Assessment
from cargowatch.web.router import render
from cargowatch.web.session import WebPrincipal, check_csrf

router = APIRouter(include_in_schema=False)


def _moment(value: str, field: str) -> datetime | None:
    """A datetime-local field as UTC (None when empty); anything else refused, named."""
    from cargowatch.exceptions import InvalidInput

    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{field}: expected a date and time") from None


def _split(text: str) -> list[str]:
    return [x for x in text.replace(",", " ").split() if x]


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(
    request: Request, session: SessionDep, user: WebPrincipal, state: str = "", overdue: str = ""
) -> HTMLResponse:
    """Customs: the inbox, soonest due first; industry: the referrals it sent."""
    now = datetime.now(UTC)
    if service.is_customs(session, user.org_id):
        rows = service.inbox(
            session, principal=user, state=state or None, limit=200,
            overdue_at=now if overdue else None,
        )  # fmt: skip
        return render(request, "referrals_inbox.html", user=user, rows=rows, now=now,
                      states=STATES, state=state, overdue=bool(overdue))  # fmt: skip
    sent = service.sent_views(session, principal=user)
    return render(request, "referrals_mine.html", user=user, sent=sent)


@router.get("/referrals/new", response_class=HTMLResponse)
def new_referral(
    request: Request,
    session: SessionDep,
    user: WebPrincipal,
    containers: Annotated[str, Query(max_length=400)] = "",
) -> HTMLResponse:
    """The referral form (containers filled in when a page links to it), with the points of
    contact a referral can reach."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return render(request, "referral_new.html", user=user, categories=CATEGORIES,
                  urgencies=URGENCIES, tlps=TLP, spocs=service.directory(session, principal=user),
                  client_ref=f"{user.org_slug}-{stamp}", containers=containers,
                  max_mb=get_settings().attachment_max_bytes // (1024 * 1024))  # fmt: skip


@router.post("/referrals/new", dependencies=[Depends(check_csrf)])
def send_referral(
    request: Request,
    user: WebPrincipal,
    engine: Annotated[Any, Depends(get_engine_dep)],
    client_ref: Annotated[str, Form(max_length=100)],
    category: Annotated[str, Form(max_length=32)],
    urgency: Annotated[str, Form(max_length=10)] = "routine",
    tlp: Annotated[str, Form(max_length=16)] = "AMBER",
    place: Annotated[str, Form(max_length=5)] = "",
    containers: Annotated[str, Form(max_length=2000)] = "",
    bookings: Annotated[str, Form(max_length=2000)] = "",
    bl_numbers: Annotated[str, Form(max_length=2000)] = "",
    seals: Annotated[str, Form(max_length=2000)] = "",
    observed_at: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=8000)] = "",
    contact: Annotated[str, Form(max_length=200)] = "",
    files: Annotated[list[UploadFile], Form()] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """Send the form with its files: stored, routed, the points of contact notified."""
    seen = _moment(observed_at, "When")
    sent = [read_upload(f) for f in files[:20] if f.filename]
    view, new = flows.send(
        principal=user, engine=engine, files=sent, client_ref=client_ref, category=category,
        urgency=urgency, tlp=tlp, place=place.strip().upper() or None,
        containers=_split(containers), bookings=_split(bookings),
        bl_numbers=_split(bl_numbers), seals=_split(seals), observed_at=seen, text=text,
        contact=contact,
    )  # fmt: skip
    reached = len(view["copies"])
    request.session["flash"] = (
        f"Referral {view['id']} sent to {reached} Customs "
        f"{'organisation' if reached == 1 else 'organisations'}."
        if new else f"Referral {view['id']} was sent already."
    )  # fmt: skip
    return RedirectResponse(f"/referrals/{view['id']}", status_code=303)


def _metric_rows(session: Any, user: Any, by: str) -> list[dict[str, Any]]:
    from cargowatch.exceptions import InvalidInput

    if by and by not in service.METRIC_GROUPS:
        raise InvalidInput(f"by: expected one of {', '.join(service.METRIC_GROUPS)}")
    return service.metrics(session, principal=user, by=by or None)


@router.get("/referrals/metrics", response_class=HTMLResponse)
def referral_metrics(
    request: Request, session: SessionDep, user: WebPrincipal, by: str = ""
) -> HTMLResponse:
    """How referrals fare: per point of contact or referring organisation (Customs), per
    Customs organisation reached (industry); a fragment for the dashboard, or a page."""
    from cargowatch.web import charts

    rows = _metric_rows(session, user, by)
    customs = service.is_customs(session, user.org_id)
    by = by or ("spoc" if customs else "customs")
    in_time = charts.bars(
        [(str(r["group"]), round(100 * (r["acknowledged_in_time"] or 0))) for r in rows],
        "Share of referrals acknowledged within the due time, per cent",
    )
    to_ack = charts.bars(
        [(str(r["group"]), round(r["ack_median_min"] or 0)) for r in rows],
        "Median working minutes to acknowledge",
    )
    name = (
        "_referral_metrics.html" if request.headers.get("HX-Request") else "referral_metrics.html"
    )
    return render(request, name, user=user, rows=rows, in_time=in_time, to_ack=to_ack, by=by,
                  customs=customs)  # fmt: skip


@router.get("/referrals/metrics.csv")
def referral_metrics_csv(session: SessionDep, user: WebPrincipal, by: str = "") -> Response:
    """The same figures as CSV."""
    return Response(
        service.metrics_csv(_metric_rows(session, user, by)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="referrals.csv"'},
    )


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(
    request: Request, referral_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """A referral: what was reported, each copy's state, the history, linked trips with their
    score (Customs), feedback."""
    row, copies = service.get(session, principal=user, referral_id=referral_id)
    customs = row.org_id != user.org_id
    view = views.full(session, principal=user, referral_id=referral_id)
    history: list[Any] = []
    trips: list[Any] = []
    if customs:
        case = session.scalar(
            select(Case).where(
                Case.org_id == user.org_id,
                Case.subject_type == "referral",
                Case.subject_id == copies[0].id,
            )
        )
        history = cases.history(session, case.id) if case else []
        boxes = view["containers"]
        if boxes:
            trips = list(
                session.execute(
                    select(Trip, Assessment.score)
                    .outerjoin(Assessment, Assessment.trip_id == Trip.id)
                    .where(visible_trips(user), Trip.container.in_(boxes))
                    .order_by(Trip.started_at.desc())
                    .limit(20)
                )
            )
    reached = {c.customs_org_id for c in copies}
    orgs = {o.id: o.name for o in session.scalars(
        select(Organisation).where(Organisation.id.in_(sorted(reached))))}  # fmt: skip
    return render(request, "referral.html", user=user, r=view, customs=customs,
                  history=history, trips=trips, states=STATES, levels=FEEDBACK_LEVELS,
                  outcomes=FEEDBACK_OUTCOMES, now=datetime.now(UTC), orgs=orgs,
                  max_mb=get_settings().attachment_max_bytes // (1024 * 1024))  # fmt: skip


@router.post("/referrals/{referral_id}/state", dependencies=[Depends(check_csrf)])
def referral_move(
    request: Request,
    referral_id: IdPath,
    user: WebPrincipal,
    engine: Annotated[Any, Depends(get_engine_dep)],
    state: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=2000)] = "",
    outcome: Annotated[str, Form(max_length=200)] = "",
    merged_into: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A step of the workflow from the referral's page."""
    from cargowatch.exceptions import InvalidInput

    target = None
    if merged_into.strip():
        if not merged_into.strip().isdigit():
            raise InvalidInput("merged_into: expected a referral number")
        target = int(merged_into)
    flows.move(principal=user, referral_id=referral_id, engine=engine, state=state, note=note,
               outcome=outcome or None, merged_into=target)  # fmt: skip
    request.session["flash"] = f"Referral {referral_id}: {state.replace('-', ' ')}."
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@router.post("/referrals/acknowledge", dependencies=[Depends(check_csrf)])
def bulk_acknowledge(
    request: Request,
    user: WebPrincipal,
    engine: Annotated[Any, Depends(get_engine_dep)],
    ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """Acknowledge every ticked referral of the inbox at once."""
    chosen = [int(v) for v in ids if v.isdigit() and len(v) < 10][:200]
    for rid in chosen:
        flows.move(principal=user, referral_id=rid, engine=engine, state="acknowledged")
    n = len(chosen)
    request.session["flash"] = f"{n} referral{'' if n == 1 else 's'} acknowledged."
    return RedirectResponse("/referrals", status_code=303)


@router.post("/referrals/{referral_id}/feedback", dependencies=[Depends(check_csrf)])
def referral_feedback(
    request: Request,
    referral_id: IdPath,
    session: SessionDep,
    user: WebPrincipal,
    level: Annotated[str, Form(max_length=24)],
    outcome: Annotated[str, Form(max_length=16)] = "",
    text: Annotated[str, Form(max_length=2000)] = "",
    hold_until: Annotated[str, Form(max_length=20)] = "",
    redact: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Compose feedback for the referrer."""
    hold = _moment(hold_until, "Hold until")
    service.give_feedback(session, principal=user, referral_id=referral_id, level=level,
                          outcome=outcome or None, text=text, hold_until=hold,
                          redact=[w for w in redact.split(";") if w.strip()])  # fmt: skip
    request.session["flash"] = "Feedback saved; it goes to the referrer when it is due."
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@router.get("/referrals/{referral_id}/attachments/{attachment_id}")
def referral_file(
    referral_id: IdPath,
    attachment_id: IdPath,
    session: SessionDep,
    user: WebPrincipal,
    inline: int = 0,
) -> Response:
    """A file of a referral: a download, or an image shown in the page (never a PDF)."""
    item = attachments.read(
        session, principal=user, referral_id=referral_id, attachment_id=attachment_id
    )
    headers = attachments.download_headers(item, inline=bool(inline))
    return Response(item.data, media_type=item.media_type, headers=headers)


@router.post("/referrals/{referral_id}/attachments", dependencies=[Depends(check_csrf)])
def referral_attach(
    request: Request,
    referral_id: IdPath,
    session: SessionDep,
    user: WebPrincipal,
    files: Annotated[list[UploadFile], Form()] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """The referrer adds files to a referral it sent."""
    sent = [read_upload(f) for f in files[:20] if f.filename]
    for name, data in sent:
        attachments.check(name, data)  # every file checked before any is stored
    added = sum(
        attachments.attach(session, principal=user, referral_id=referral_id, name=n, data=d)[1]
        for n, d in sent
    )
    request.session["flash"] = f"{added} file{'' if added == 1 else 's'} attached."
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@router.post("/referrals/{referral_id}/messages", dependencies=[Depends(check_csrf)])
def referral_message(
    request: Request,
    referral_id: IdPath,
    session: SessionDep,
    user: WebPrincipal,
    text: Annotated[str, Form(max_length=4000)],
    customs_org_id: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A question to the referrer (Customs), or an answer (the referrer)."""
    to = int(customs_org_id) if customs_org_id.strip().isdigit() else None
    m = thread.post(session, principal=user, referral_id=referral_id, text=text,
                    customs_org_id=to)  # fmt: skip
    request.session["flash"] = "Question sent." if m.kind == "question" else "Answer sent."
    return RedirectResponse(f"/referrals/{referral_id}#thread", status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """The caller's in-app notifications, newest first, unread ones marked."""
    rows = notify.for_user(session, principal=user, limit=200)
    return render(request, "notifications.html", user=user, rows=rows)


@router.post("/notifications/read", dependencies=[Depends(check_csrf)])
def notifications_read(request: Request, session: SessionDep, user: WebPrincipal) -> Response:
    """Mark every notification read."""
    n = notify.mark_read(session, principal=user)
    request.session["flash"] = f"{n} notification{'' if n == 1 else 's'} marked read."
    return RedirectResponse("/notifications", status_code=303)
