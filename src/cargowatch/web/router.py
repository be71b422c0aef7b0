"""The web pages: sign in, dashboard, targeting queue, trip, event, ingest. Every page calls the
same services as the API and the command line, with the signed-in user as the caller."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from cargowatch.api import IdPath, SessionDep, get_engine_dep
from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.auth.sessions import end_session, sign_in, start_session
from cargowatch.cases import service as cases
from cargowatch.cases.models import STATUSES as CASE_STATUSES
from cargowatch.config import get_settings
from cargowatch.custody import service as custody
from cargowatch.custody.models import Alert, Trip
from cargowatch.dashboard.service import TARGET_SCORE, overview
from cargowatch.db.limits import MAX_OFFSET
from cargowatch.exceptions import (
    CargowatchError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
)
from cargowatch.exports import write_csv
from cargowatch.ingest import service as ingest_service
from cargowatch.ingest.flows import queue_upload, replay_quarantine, spool
from cargowatch.ingest.models import QuarantineStatus
from cargowatch.registers.specs import TABLES
from cargowatch.risk import flows as risk_flows
from cargowatch.risk import service as risk
from cargowatch.sharing import service as sharing
from cargowatch.sharing.service import any_owners
from cargowatch.tripfile import service as tripfile
from cargowatch.web import charts, pdf
from cargowatch.web.session import (
    WebPrincipal,
    check_csrf,
    csrf_token,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def plural(count: int, word: str) -> str:
    """word as it goes with count: 1 trip, 2 trips, 1 seizure, 3 seizures."""
    return word if count == 1 else word + "s"


templates.env.filters["plural"] = plural
router = APIRouter(include_in_schema=False)
PAGE = 25
MAX_UPLOAD = 256 * 1024 * 1024  # per file, as over the API
SINGULAR = {
    "events": "event",
    "alerts": "alert",
    "releases": "release",
    "access": "badge swipe",
    "inspections": "inspection",
    "parties": "party",
    "trips": "trip",
    "models": "model",
    "telemetry": "reading",
    "manifest": "manifest line",
    "seals": "seal",
    "declared": "declared seal",
    "previous": "previous seal",
    "other_trip": "trip",
}
RESULTS = ("NO_FINDING", "SEIZURE", "IRREGULARITY")
TRUE, FALSE = {"1", "true", "on", "yes"}, {"", "0", "false", "off", "no"}
METHODS = ("PHYSICAL", "SCAN", "DOG", "SEAL_CHECK")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page with what every page needs (the user, the CSRF token, a flash message)."""
    flash = request.session.pop("flash", None)
    user = context.get("user")
    if isinstance(user, Principal) and "unread" not in context:
        from cargowatch.referrals.notify import unread

        with Session(get_engine_dep(request)) as session:  # the header's count
            context["unread"] = unread(session, principal=user)
    return templates.TemplateResponse(
        request,
        name,
        {"csrf": csrf_token(request), "flash": flash, **context},
        status_code=status_code,
    )


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", next=_safe_next(next), user=None)


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    session: SessionDep,
    engine: Annotated[Engine, Depends(get_engine_dep)],
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (counted per name and address before it is checked; see
    auth.sessions.Limits); on success a new server-side session, its token in the cookie."""
    client = request.client.host if request.client else "unknown"
    try:
        principal = sign_in(engine, session, username=username, password=password, client=client)
    except (NotAuthenticated, TooManyAttempts) as exc:
        too_many = isinstance(exc, TooManyAttempts)
        return render(
            request,
            "login.html",
            status_code=429 if too_many else 401,
            next=_safe_next(next),
            user=None,
            error=exc.message[0].upper() + exc.message[1:] + "."
            if too_many
            else "Unknown user or wrong password.",
        )
    token = start_session(
        session, principal, client=client, user_agent=request.headers.get("user-agent", "")
    )
    request.session.clear()  # a fresh cookie (and CSRF token) for the signed-in user
    request.session["sid"] = token
    request.session["user"] = principal.username  # shown on error pages; not an authority
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, session: SessionDep) -> Response:
    """End the server-side session: its cookie is worthless from now on, even if copied."""
    token = request.session.get("sid")
    who = str(request.session.get("user") or "")
    if token and end_session(session, str(token)):
        audit.record(
            session, actor=f"web:{who}", action="auth.logout", entity_type="user", entity_id=who
        )
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: WebPrincipal) -> Response:
    """What is tracked, alerted, targeted, inspected and ingested, with charts over time."""
    if not user.can("events:read"):  # an ingester's page is the ingest page
        return RedirectResponse("/ingest", status_code=303)
    o = overview(session, principal=user)
    weeks = [datetime.fromisoformat(str(w["week"])) for w in o.weekly]

    def week_queue(start: datetime) -> str:  # a point of the chart opens that week's trips
        end = start + timedelta(days=7)
        return "/queue?" + urlencode(
            {"since": f"{start:%Y-%m-%d}", "until": f"{end:%Y-%m-%d}", "include_inspected": "1"}
        )

    by_week = charts.lines(
        [
            charts.Line(
                "trips started",
                [(w, float(r["trips"])) for w, r in zip(weeks, o.weekly, strict=True)],
            ),
            charts.Line(
                "high alerts",
                [(w, float(r["alerts"])) for w, r in zip(weeks, o.weekly, strict=True)],
            ),
            charts.Line(
                "seizures",
                [(w, float(r["seizures"])) for w, r in zip(weeks, o.weekly, strict=True)],
            ),
        ],
        "Trips, high-severity alerts and seizures per week (a point opens that week's trips)",
        links=week_queue,
    )
    alerts = charts.bars(
        o.alerts_by_type,
        "Custody alerts by type (a bar opens the trips with that alert)",
        links=[
            "/queue?" + urlencode({"alert_type": name, "include_inspected": "1"})
            for name, _ in o.alerts_by_type
        ],
    )
    from cargowatch.incidents.workspace import my_actions

    return render(
        request,
        "dashboard.html",
        user=user,
        o=o,
        by_week=by_week,
        alerts=alerts,
        threshold=TARGET_SCORE,
        actions=my_actions(session, principal=user),
        today=date.today(),
    )


def _filters(
    port: str = "",
    lane: str = "",
    carrier: str = "",
    alert_type: str = "",
    finding: Annotated[str, Query(max_length=64)] = "",
    size: Annotated[str, Query(max_length=4)] = "",
    min_score: str = "",
    order: Annotated[str, Query(max_length=16)] = "score",
    include_inspected: Annotated[str, Query(max_length=5)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
) -> dict[str, str]:
    flag = include_inspected.strip().lower()
    if flag not in TRUE | FALSE:
        raise InvalidInput(f"include_inspected: expected 1 or 0, got {include_inspected!r}")
    return {
        "since": _day(since, "Started from"),
        "until": _day(until, "Started before"),
        "port": port.strip(),
        "lane": lane.strip(),
        "carrier": carrier.strip(),
        "alert_type": alert_type.strip(),
        "finding": finding.strip(),
        "size": _size(size),
        "min_score": min_score.strip(),
        "order": order,
        "include_inspected": "1" if flag in TRUE else "",
    }


SIZES = ("25", "50", "100")


def _day(value: str, field: str) -> str:
    """A day as YYYY-MM-DD ('' for none); anything else is refused with the field named."""
    value = value.strip()
    if not value:
        return ""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput(f"{field}: expected a day as YYYY-MM-DD, got {value[:12]!r}") from None


def _size(value: str) -> str:
    """A page size the queue offers ('' for the default)."""
    value = value.strip()
    if value and value not in SIZES:
        raise InvalidInput(f"page size: expected one of {', '.join(SIZES)}, got {value[:10]!r}")
    return "" if value == str(PAGE) else value


def _queue_args(filters: dict[str, str]) -> dict[str, Any]:
    """The queue's filters as risk.queue's arguments; a score that is no number from 0 to 100
    is refused with the field named."""
    try:
        min_score = float(filters["min_score"]) if filters["min_score"] else None
    except ValueError:
        raise InvalidInput(
            f"Score at least: expected a number from 0 to 100, got {filters['min_score'][:20]!r}"
        ) from None
    if min_score is not None and not 0 <= min_score <= 100:
        raise InvalidInput(f"Score at least: expected a number from 0 to 100, got {min_score:g}")
    return {
        "port": filters["port"] or None,
        "lane": filters["lane"] or None,
        "carrier": filters["carrier"] or None,
        "alert_type": filters["alert_type"] or None,
        "finding": filters["finding"] or None,
        "min_score": min_score,
        "include_inspected": bool(filters["include_inspected"]),
        "order": filters["order"] if filters["order"] in risk.ORDERS else "score",
        "since": date.fromisoformat(filters["since"]) if filters["since"] else None,
        "until": date.fromisoformat(filters["until"]) if filters["until"] else None,
    }


def _queue_context(
    session: Session, user: Any, filters: dict[str, str], page: int
) -> dict[str, Any]:
    args = _queue_args(filters)
    size = int(filters["size"] or PAGE)

    def fetch(at: int) -> tuple[list[Any], int]:
        return risk.queue(session, principal=user, limit=size, offset=(at - 1) * size, **args)

    rows, total = fetch(page)
    pages = max(1, -(-total // size))
    if page > pages:  # past the end (an old link, a hand-typed number): the last page
        page = pages
        rows, total = fetch(page)
    sharers = any_owners(user.org_id, "alerts")
    kinds = session.scalars(  # the kinds of alert of the organisations whose trips it may see
        select(Alert.type)
        .where(or_(Alert.org_id == user.org_id, Alert.org_id.in_(sharers.scalar_subquery())))
        .distinct()
    ).all()
    query = {k: v for k, v in filters.items() if v}
    return {
        "sorts": _sort_links(filters),
        "page_numbers": _page_numbers(page, pages),
        "views": risk.saved_filters(session, principal=user),
        "cases": cases.statuses_of(session, principal=user, trip_ids=[t.trip_id for t in rows]),
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "filters": filters,
        "query": urlencode(query),
        "orders": risk.ORDERS,
        "alert_types": sorted(kinds),
        "finding_names": risk.finding_names(),
        "sizes": SIZES,
        "results": RESULTS,
        "methods": METHODS,
    }


SORTABLE = {  # column -> its orders, the first on the first click
    "score": ("score", "score-asc"),
    "trip": ("container",),
    "route": ("route",),
    "started": ("newest", "oldest"),
}


def _sort_links(filters: dict[str, str]) -> dict[str, tuple[str, str]]:
    """For each sortable column: the queue's address sorted by it (the other way when it is
    sorted by it already, back to the first page) and how it is sorted now ('' if not)."""
    out = {}
    for column, orders in SORTABLE.items():
        current = filters["order"] if filters["order"] in orders else ""
        following = orders[(orders.index(current) + 1) % len(orders)] if current else orders[0]
        query = {k: v for k, v in filters.items() if v and k != "order"} | {"order": following}
        sorted_now = "" if not current else ("descending" if current in ("score", "newest")
                                              else "ascending")  # fmt: skip
        out[column] = ("/queue?" + urlencode(query), sorted_now)
    return out


def _page_numbers(page: int, pages: int) -> list[int | None]:
    """The page numbers the pager shows: the first, the last and two either side of this one,
    None where some are left out."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in wanted:
        if out and out[-1] is not None and n - int(out[-1]) > 1:
            out.append(None)
        out.append(n)
    return out


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    user: WebPrincipal,
    filters: Annotated[dict[str, str], Depends(_filters)],
    page: Annotated[int, Query(ge=1, le=MAX_OFFSET // PAGE)] = 1,
) -> HTMLResponse:
    """The ranked trips with their top reasons; filters, sorting, paging; record an outcome."""
    context = _queue_context(session, user, filters, page)
    fragment = bool(request.headers.get("hx-request"))
    response = render(request, "_queue.html" if fragment else "queue.html", user=user, **context)
    # one URL, two answers (the list alone for HTMX, the whole page otherwise): caches and the
    # back button must keep them apart, and never replay a stale list under a fresh form
    response.headers["Vary"] = "HX-Request, Cookie"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/queue/export.csv")
def queue_export(
    session: SessionDep,
    user: WebPrincipal,
    filters: Annotated[dict[str, str], Depends(_filters)],
) -> Response:
    """The queue as filtered, as a CSV file (up to 10,000 trips, cells safe for spreadsheets)."""
    rows, _total = risk.queue(
        session, principal=user, limit=10_000, explore=0, **_queue_args(filters)
    )
    out = io.StringIO()
    write_csv(
        out,
        ["trip_id", "container", "booking_ref", "score", "origin", "destination", "started_at",
         "inspected", "reasons"],
        ([t.trip_id, t.container, t.booking_ref, t.score, t.origin, t.destination,
          t.started_at.isoformat() if t.started_at else None, t.inspected,
          " | ".join(r["reason"] for r in t.reasons)] for t in rows),
    )  # fmt: skip
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cargowatch-queue.csv"'},
    )  # fmt: skip


@router.get("/queue/export.pdf")
def queue_export_pdf(
    request: Request,
    session: SessionDep,
    user: WebPrincipal,
    filters: Annotated[dict[str, str], Depends(_filters)],
) -> Response:
    """The queue as filtered, as a PDF to print or file (the first 500 trips)."""
    rows, total = risk.queue(session, principal=user, limit=500, explore=0, **_queue_args(filters))
    html = templates.env.get_template("print_queue.html").render(
        rows=rows, total=total, filters={k: v for k, v in filters.items() if v},
        user=user, now=datetime.now(UTC),
    )  # fmt: skip
    return Response(
        pdf.render(html), media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="cargowatch-queue.pdf"'},
    )  # fmt: skip


@router.post("/queue/views", dependencies=[Depends(check_csrf)])
def save_view(
    session: SessionDep,
    user: WebPrincipal,
    name: Annotated[str, Form(max_length=80)],
    query: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Keep the queue's current filters under a name."""
    row = risk.save_filter(session, principal=user, name=name, query=query)
    audit.record(
        session, actor=user, action="queue.view-save", entity_type="saved_filter",
        entity_id=row.id, after={"name": row.name, "query": row.query},
    )  # fmt: skip
    return RedirectResponse(f"/queue?{row.query}", status_code=303)


@router.post("/queue/views/{view_id}/delete", dependencies=[Depends(check_csrf)])
def delete_view(view_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """Forget a saved queue view."""
    name = risk.delete_filter(session, principal=user, filter_id=view_id)
    audit.record(
        session, actor=user, action="queue.view-delete", entity_type="saved_filter",
        entity_id=view_id, before={"name": name},
    )  # fmt: skip
    return RedirectResponse("/queue", status_code=303)


def _telemetry_charts(tf: tripfile.TripFile, height: int) -> list[tuple[str, Any]]:
    """Each reading's chart on the trip's time line, openings, alerts and hand-overs marked."""
    marks = [charts.Mark(m.at, m.label, m.kind) for m in tf.moments]
    return [
        (name, charts.lines([charts.Line(name, pts, step=name == "door open")],
                            f"{name} over the trip, with openings, alerts and hand-overs marked",
                            height=height, span=tf.span, marks=marks))
        for name, pts in tf.series.items()
    ]  # fmt: skip


@router.get("/trips/{trip_id}/file.csv")
def trip_file_csv(trip_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """A trip's file as one CSV table: section, time, item, detail (cells safe for
    spreadsheets, personal details withheld as on the page)."""
    tf = tripfile.build(session, principal=user, trip_id=trip_id)
    out = io.StringIO()
    write_csv(out, ["section", "time_utc", "item", "detail"], tripfile.rows(tf))
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="cargowatch-trip-{trip_id}.csv"'},
    )  # fmt: skip


@router.get("/trips/{trip_id}/file.pdf")
def trip_file_pdf(trip_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """A trip's file as a PDF: the page's sections with the charts and a map of the track."""
    tf = tripfile.build(session, principal=user, trip_id=trip_id)
    telemetry = _telemetry_charts(tf, height=150)
    places = [charts.Place(**p) for p in tripfile.map_places(tf)]
    maps = [
        charts.map_svg(region, f"Track, sites and openings near {name}")
        for name, region in charts.regions(places)
    ]
    html = templates.env.get_template("print_trip.html").render(
        tf=tf, telemetry=telemetry, maps=maps, user=user, now=datetime.now(UTC),
    )  # fmt: skip
    return Response(
        pdf.render(html), media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="cargowatch-trip-{trip_id}.pdf"'},
    )  # fmt: skip


@router.post("/trips/{trip_id}/outcome", dependencies=[Depends(check_csrf)])
def record_outcome(
    request: Request,
    trip_id: IdPath,
    user: WebPrincipal,
    engine: Annotated[Engine, Depends(get_engine_dep)],
    result: Annotated[str, Form()],
    method: Annotated[str, Form()] = "PHYSICAL",
    back: Annotated[str, Form()] = "/queue",
) -> Response:
    """Record what an inspection found; back to where the officer was."""
    row = risk_flows.record_outcome(
        principal=user, trip_id=trip_id, engine=engine, result=result, method=method
    )
    request.session["flash"] = (
        f"Recorded {row['result'].replace('_', ' ').lower()} on {row['container']}; "
        "the trip has left the queue."
    )
    return RedirectResponse(_safe_next(back), status_code=303)


SEARCHED = {"parties", "seals", "declared", "previous"}


def _evidence_links(evidence: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(text, link) for each cited id: events, trips and alerts open their page; parties,
    seals and manifest lines open a search for them (their trips, their register rows)."""
    out: list[tuple[str, str | None]] = []
    for kind, ids in evidence.items():
        for value in ids if isinstance(ids, list) else [ids]:
            link = None
            if kind == "events":
                link = f"/events/{value}"
            elif kind in ("trips", "other_trip") and isinstance(value, int):
                link = f"/trips/{value}"
            elif kind == "alerts" and isinstance(value, int):
                link = f"/alerts/{value}"
            elif kind == "manifest" and isinstance(value, int):
                link = f"/manifest/{value}"
            elif kind in SEARCHED and isinstance(value, str | int) and str(value).strip():
                link = "/search?" + urlencode({"q": str(value)})
            out.append((f"{SINGULAR.get(kind, kind)} {value}", link))
    return out


@router.get("/trips/{trip_id}", response_class=HTMLResponse)
def trip_page(
    request: Request, trip_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """The story of a container's trip: case, profile, score, custody, seals, alerts, map and
    telemetry on one time line."""
    tf = tripfile.build(session, principal=user, trip_id=trip_id)
    under = sharing.governing(session, user, tf.trip.org_id)
    shared = sharing.describe(session, under) if under is not None else None
    telemetry = _telemetry_charts(tf, height=170)
    findings = []
    if tf.assessment is not None:
        findings = [(f, _evidence_links(f["evidence"])) for f in tf.assessment["findings"]]
    return render(
        request,
        "trip.html",
        user=user,
        tf=tf,
        trip=tf.trip,
        timeline=tf.timeline,
        alerts=[(a, _evidence_links(json.loads(a.evidence))) for a in tf.alerts],
        assessment=tf.assessment,
        findings=findings,
        ledger=tf.ledger,
        telemetry=telemetry,
        map_data=tripfile.map_json(tf),
        readings=tf.readings,
        results=RESULTS,
        methods=METHODS,
        case=tf.case,
        profile=tf.profile,
        statuses=CASE_STATUSES,
        shared=shared,
    )


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """An alert is shown on its trip's page: go there, to the alert."""
    trip_id = session.scalar(select(Alert.trip_id).where(Alert.id == alert_id))
    if trip_id is None:
        raise NotFound(f"no alert {alert_id}")
    custody.get_trip(session, principal=user, trip_id=trip_id)  # the caller may see it
    return RedirectResponse(f"/trips/{trip_id}#alert-{alert_id}", status_code=303)


@router.get("/manifest/{line_id}")
def manifest_line(line_id: IdPath, session: SessionDep, user: WebPrincipal) -> Response:
    """A manifest line of the caller's organisation opens the trip it describes (its risk
    profile); without a trip, a search for its container."""
    m = TABLES["manifest"]
    row = session.execute(
        select(m.c.container, m.c.booking_ref).where(m.c.id == line_id, m.c.org_id == user.org_id)
    ).first()
    if row is None:
        raise NotFound(f"no manifest line {line_id}")
    trip_id = session.scalar(
        select(Trip.id).where(
            Trip.org_id == user.org_id,
            Trip.container == row.container,
            Trip.booking_ref == row.booking_ref,
        )
    )
    if trip_id is None:
        return RedirectResponse("/search?" + urlencode({"q": row.container}), status_code=303)
    return RedirectResponse(f"/trips/{trip_id}#profile-h", status_code=303)


@router.post("/trips/{trip_id}/case", dependencies=[Depends(check_csrf)])
def case_action(
    request: Request,
    trip_id: IdPath,
    session: SessionDep,
    user: WebPrincipal,
    action: Annotated[Literal["assign-me", "unassign", "status", "note"], Form()],
    status: Annotated[str, Form(max_length=32)] = "",
    confirm: Annotated[str, Form(max_length=5)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Work the trip as a case: assign it to yourself, move its status, add a note."""
    if action == "assign-me":
        cases.assign(session, principal=user, trip_id=trip_id, username=user.username)
        said = "assigned to you"
    elif action == "unassign":
        cases.assign(session, principal=user, trip_id=trip_id, username=None)
        said = "unassigned"
    elif action == "status":
        cases.set_status(session, principal=user, trip_id=trip_id, status=status,
                         confirm=confirm == "1")  # fmt: skip
        said = f"status {status.replace('-', ' ')}"
    else:
        cases.add_note(session, principal=user, trip_id=trip_id, text=text)
        said = "note added"
    request.session["flash"] = f"Case {said}."
    return RedirectResponse(f"/trips/{trip_id}#case-h", status_code=303)


@router.get("/work", response_class=HTMLResponse)
def my_work(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """The trips assigned to the signed-in user that are not closed."""
    rows = cases.my_work(session, principal=user)
    return render(request, "work.html", user=user, rows=rows)


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(
    request: Request, event_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """One event as it was received."""
    from cargowatch.events.service import get_event

    view, source, raw = get_event(session, principal=user, event_id=event_id)
    try:
        pretty = json.dumps(json.loads(raw), indent=2) if raw else ""
    except ValueError:
        pretty = raw or ""  # EDIFACT and CSV records are shown as they came
    ev = view.event
    extra = json.loads(ev.extra) if ev.extra else {}
    where = " ".join(
        str(x)
        for x in (
            ev.facility_code,
            ev.unlocode,
            extra.get("location_name"),
            f"{ev.latitude:.4f}, {ev.longitude:.4f}"
            if ev.latitude is not None and ev.longitude is not None
            else None,
        )
        if x
    )
    references = [
        f"{name} {value}"
        for name, value in (("booking", ev.booking_ref), ("B/L", ev.bl_number),
                            (extra.get("document_type") or "document", extra.get("document_id")))
        if value
    ]  # fmt: skip
    # the file's name, not where it lay on the server that read it
    shown = Path(source).name if source and not source.startswith(("api:", "upload ")) else source
    trip = _trip_of_event(session, user, ev)
    return render(
        request, "event.html", user=user, e=ev, call=view.call, source=shown, raw=pretty,
        where=where, references=references, trip=trip,
    )  # fmt: skip


def _trip_of_event(session: Session, user: Any, ev: Any) -> Trip | None:
    """The trip an event belongs to, among those the user may see: the container's trip of the
    event's booking, else the one whose time span holds the event."""
    if not ev.container:
        return None
    trips = custody.trips_of_container(session, principal=user, container=ev.container)
    same = [t for t in trips if ev.booking_ref and t.booking_ref == ev.booking_ref]
    if same:
        return same[0]
    at = ev.event_time
    for t in trips:
        if at is not None and t.started_at and t.ended_at and t.started_at <= at <= t.ended_at:
            return t
    return None


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: SessionDep,
    user: WebPrincipal,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """One box for container, booking, B/L, seal, party, truck plate, vessel or place."""
    from cargowatch.search.service import search

    found = search(session, principal=user, q=q) if len(q.strip()) >= 2 else None
    return render(request, "search.html", user=user, q=q, found=found)


@router.get("/ingest", response_class=HTMLResponse)
def ingest_page(
    request: Request,
    session: SessionDep,
    user: WebPrincipal,
    status: QuarantineStatus = "open",
) -> HTMLResponse:
    """Upload files, see runs and their counts, browse the quarantine, replay."""
    runs = ingest_service.list_runs(session, principal=user, limit=20)
    held, total = ingest_service.list_quarantine(session, principal=user, status=status, limit=100)
    return render(
        request, "ingest.html", user=user, runs=runs, quarantine=held, total=total, status=status
    )


@router.post("/ingest", dependencies=[Depends(check_csrf)])
async def upload(
    request: Request,
    user: WebPrincipal,
    engine: Annotated[Engine, Depends(get_engine_dep)],
    files: list[UploadFile],
) -> Response:
    """Queue uploaded files, each as its own run; the job worker ingests them and the page
    shows each run's status."""
    said = []
    folder = get_settings().data_dir / "spool"
    for f in files:
        if not f.filename:
            continue
        try:
            path = await spool(_chunks(f), limit=MAX_UPLOAD, folder=folder)
            run = queue_upload(
                principal=user, path=path, source=f"upload {f.filename}", fmt=None, engine=engine
            )
            said.append(f"{f.filename}: queued as run {run.id}")
        except CargowatchError as exc:
            said.append(f"{f.filename}: {exc.message}")
    request.session["flash"] = "; ".join(said) or "no file chosen"
    return RedirectResponse("/ingest", status_code=303)


async def _chunks(upload: UploadFile, size: int = 1 << 20) -> AsyncIterator[bytes]:
    while chunk := await upload.read(size):
        yield chunk


@router.post("/quarantine/replay", dependencies=[Depends(check_csrf)])
async def replay(
    request: Request,
    user: WebPrincipal,
    engine: Annotated[Engine, Depends(get_engine_dep)],
) -> Response:
    """Replay the chosen quarantined records (all open ones when none is chosen)."""
    form = await request.form()
    ids = [int(str(v)) for v in form.getlist("id") if str(v).isdigit()] or None
    run, counts = replay_quarantine(principal=user, ids=ids, engine=engine)
    request.session["flash"] = (
        f"Replayed as run {run.id}: {counts.stored:,} stored, {counts.quarantined:,} still "
        "quarantined."
    )
    return RedirectResponse("/ingest", status_code=303)


@router.get("/quarantine/{record_id}", response_class=HTMLResponse)
def quarantined_page(
    request: Request, record_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """One quarantined record as received, with the field and reason, to correct (audited)."""
    record = ingest_service.get_quarantined(session, principal=user, record_id=record_id)
    return render(request, "quarantined.html", user=user, q=record)


@router.post("/quarantine/{record_id}/fix", dependencies=[Depends(check_csrf)])
def fix_and_replay(
    request: Request,
    record_id: IdPath,
    user: WebPrincipal,
    engine: Annotated[Engine, Depends(get_engine_dep)],
    raw: Annotated[str, Form()],
) -> Response:
    """Replace a quarantined record with its correction (audited) and replay it."""
    from cargowatch.db.engine import unit_of_work

    with unit_of_work(engine) as session:
        ingest_service.fix_quarantined(
            session, principal=user, record_id=record_id, raw=raw.replace("\r\n", "\n").encode()
        )
    run, counts = replay_quarantine(principal=user, ids=[record_id], engine=engine)
    request.session["flash"] = (
        f"Record {record_id} corrected and replayed as run {run.id}: {counts.stored:,} stored, "
        f"{counts.quarantined:,} still quarantined."
    )
    return RedirectResponse("/ingest", status_code=303)
