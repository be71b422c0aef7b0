"""Pages of incidents: the seizures your organisation recorded or takes part in, an incident's
post-incident analysis (sections with their TLP marking, who takes part, actions), and its
report as a printable page or a PDF. Same services as the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from cargowatch.api import IdPath, SessionDep
from cargowatch.exceptions import InvalidInput
from cargowatch.incidents import workspace as ws
from cargowatch.incidents.models import TLP, Incident, Participant
from cargowatch.web import charts, pdf
from cargowatch.web.router import render, templates
from cargowatch.web.session import WebPrincipal, check_csrf

router = APIRouter(include_in_schema=False)


def _owner_and_due(owner_org_id: str, due_on: str) -> tuple[int | None, date | None]:
    """An action form's owner organisation (the caller's when empty) and due date."""
    try:
        due = date.fromisoformat(due_on) if due_on.strip() else None
    except ValueError:
        raise InvalidInput("Due: expected a date") from None
    return (int(owner_org_id) if owner_org_id.strip().isdigit() else None), due


def _timeline(view: dict[str, Any]) -> Any:
    spans = next((s["content"] for s in view["sections"] if s["kind"] == "windows"), None)
    if not spans:
        return None
    rows = [(f"{w['kind']}{' ' + w['facility'] if w['facility'] else ''}", w["from"], w["until"],
             [(a["at"], a["type"]) for a in w["alerts"]]) for w in spans]  # fmt: skip
    return charts.spans(rows, "Contamination windows by custodian, custody alerts as ticks")


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """Seizures your organisation recorded, and analyses it was invited to."""
    user.require("events:read")
    taking_part = select(Participant.incident_id).where(Participant.org_id == user.org_id)
    rows = list(session.scalars(
        select(Incident).where(or_(Incident.org_id == user.org_id, Incident.id.in_(taking_part)))
        .order_by(Incident.found_at.desc()).limit(300)))  # fmt: skip
    return render(request, "incidents.html", user=user, rows=rows)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, incident_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """An incident's analysis as your organisation may read it."""
    view = ws.view(session, principal=user, incident_id=incident_id)
    return render(request, "incident.html", user=user, v=view, timeline=_timeline(view),
                  tlps=TLP, today=date.today())  # fmt: skip


def _report(session: Any, user: Any, incident_id: int) -> str:
    view = ws.view(session, principal=user, incident_id=incident_id)
    return templates.env.get_template("print_incident.html").render(
        v=view, timeline=_timeline(view), user=user, now=datetime.now(UTC)
    )


@router.get("/incidents/{incident_id}/report", response_class=HTMLResponse)
def incident_report(incident_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """The report of the sections your organisation reads, to print."""
    return HTMLResponse(_report(session, user, incident_id))


@router.get("/incidents/{incident_id}/report.pdf")
def incident_report_pdf(incident_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """The same report as a PDF."""
    return Response(
        pdf.render(_report(session, user, incident_id)), media_type="application/pdf",
        headers={"Content-Disposition":
                 f'attachment; filename="cargowatch-incident-{incident_id}.pdf"'},
    )  # fmt: skip


@router.post("/incidents/{incident_id}/invite", dependencies=[Depends(check_csrf)])
def incident_invite(
    request: Request, incident_id: IdPath, session: SessionDep, user: WebPrincipal,
    org: Annotated[str, Form(max_length=64)],
) -> Response:  # fmt: skip
    """Invite an organisation to the analysis."""
    ws.invite(session, principal=user, incident_id=incident_id, org=org)
    request.session["flash"] = f"{org} invited."
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/sections", dependencies=[Depends(check_csrf)])
def incident_section(
    request: Request, incident_id: IdPath, session: SessionDep, user: WebPrincipal,
    title: Annotated[str, Form(max_length=200)], body: Annotated[str, Form(max_length=20000)],
    kind: Annotated[str, Form(max_length=16)] = "note",
    tlp: Annotated[str, Form(max_length=16)] = "AMBER",
) -> Response:  # fmt: skip
    """Add a section."""
    ws.write_section(session, principal=user, incident_id=incident_id, kind=kind, title=title,
                     body=body, tlp=tlp)  # fmt: skip
    request.session["flash"] = "Section added."
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/sections/{section_id}", dependencies=[Depends(check_csrf)])
def incident_marking(
    request: Request, incident_id: IdPath, section_id: IdPath, session: SessionDep,
    user: WebPrincipal, tlp: Annotated[str, Form(max_length=16)],
    audience: Annotated[str, Form(max_length=16)],
    named: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    """Change a section's marking and audience."""
    ids = [int(x) for x in named.replace(",", " ").split() if x.isdigit() and len(x) < 10]
    ws.write_section(session, principal=user, incident_id=incident_id, section_id=section_id,
                     tlp=tlp, audience=audience, named=ids or None)  # fmt: skip
    request.session["flash"] = "Marking saved."
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/actions", dependencies=[Depends(check_csrf)])
def incident_action(
    request: Request, incident_id: IdPath, session: SessionDep, user: WebPrincipal,
    text: Annotated[str, Form(max_length=4000)],
    owner_org_id: Annotated[str, Form(max_length=10)] = "",
    owner_user: Annotated[str, Form(max_length=64)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:  # fmt: skip
    """Decide an action."""
    owner, due = _owner_and_due(owner_org_id, due_on)
    who = owner_user.strip() or None
    ws.add_action(session, principal=user, incident_id=incident_id, text=text,
                  owner_org_id=owner, owner_user=who, due_on=due)  # fmt: skip
    request.session["flash"] = "Action added."
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/actions/{action_id}/done", dependencies=[Depends(check_csrf)])
def action_done(
    request: Request, action_id: IdPath, session: SessionDep, user: WebPrincipal,
    back: Annotated[str, Form(max_length=200)] = "/",
) -> Response:  # fmt: skip
    """Mark an action done."""
    ws.close_action(session, principal=user, action_id=action_id)
    request.session["flash"] = "Action done."
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    return RedirectResponse(target, status_code=303)


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """The coordination meetings your organisation takes part in, and a form to convene one."""
    from cargowatch.incidents import meetings

    rows = meetings.listed(session, principal=user)
    return render(request, "meetings.html", user=user, rows=rows, tlps=TLP)


@router.post("/meetings", dependencies=[Depends(check_csrf)])
def meetings_convene(
    request: Request, session: SessionDep, user: WebPrincipal,
    title: Annotated[str, Form(max_length=200)], held_at: Annotated[str, Form(max_length=20)],
    members: Annotated[str, Form(max_length=2000)] = "",
    tlp: Annotated[str, Form(max_length=16)] = "AMBER",
) -> Response:  # fmt: skip
    """Convene a meeting."""
    from cargowatch.incidents import meetings

    try:
        when = datetime.fromisoformat(held_at.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("When: expected a date and time") from None
    slugs = [m for m in members.replace(",", " ").split() if m]
    m = meetings.convene(session, principal=user, title=title, held_at=when, members=slugs,
                         tlp=tlp)  # fmt: skip
    request.session["flash"] = "Meeting convened."
    return RedirectResponse(f"/meetings/{m.id}", status_code=303)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(
    request: Request, meeting_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """A meeting: members, agenda, minutes, decisions, actions."""
    from cargowatch.incidents import meetings

    view = meetings.view(session, principal=user, meeting_id=meeting_id)
    return render(request, "meeting.html", user=user, m=view, tlps=TLP)


@router.post("/meetings/{meeting_id}/items", dependencies=[Depends(check_csrf)])
def meeting_item(
    request: Request, meeting_id: IdPath, session: SessionDep, user: WebPrincipal,
    kind: Annotated[str, Form(max_length=10)], text: Annotated[str, Form(max_length=20000)],
    tlp: Annotated[str, Form(max_length=16)] = "AMBER",
) -> Response:  # fmt: skip
    """Add an agenda item, minutes or a decision."""
    from cargowatch.incidents import meetings

    meetings.add_item(session, principal=user, meeting_id=meeting_id, kind=kind, text=text,
                      tlp=tlp)  # fmt: skip
    request.session["flash"] = f"{kind.title()} added."
    return RedirectResponse(f"/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/actions", dependencies=[Depends(check_csrf)])
def meeting_action(
    request: Request, meeting_id: IdPath, session: SessionDep, user: WebPrincipal,
    text: Annotated[str, Form(max_length=4000)],
    owner_org_id: Annotated[str, Form(max_length=10)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:  # fmt: skip
    """An action decided in the meeting."""
    from cargowatch.incidents import meetings

    owner, due = _owner_and_due(owner_org_id, due_on)
    meetings.add_action(session, principal=user, meeting_id=meeting_id, text=text,
                        owner_org_id=owner, due_on=due)  # fmt: skip
    request.session["flash"] = "Action added."
    return RedirectResponse(f"/meetings/{meeting_id}", status_code=303)


@router.post("/incidents/{incident_id}/siblings/{trip_id}/flag",
             dependencies=[Depends(check_csrf)])  # fmt: skip
def flag_sibling(
    request: Request, incident_id: IdPath, trip_id: IdPath, session: SessionDep,
    user: WebPrincipal,
) -> Response:  # fmt: skip
    """Flag a sibling trip for targeting: a note on its case, assigned to the caller (it shows
    in "My work"); the trip must be one the caller sees."""
    from cargowatch.cases import service as cases

    row, _owner = ws.incident_for(session, user, incident_id)
    note = f"Sibling of incident {row.id} ({row.container}): check it now."
    cases.add_note(session, principal=user, trip_id=trip_id, text=note)
    cases.assign(session, principal=user, trip_id=trip_id, username=user.username)
    request.session["flash"] = f"Trip {trip_id} flagged for targeting and in your work."
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
