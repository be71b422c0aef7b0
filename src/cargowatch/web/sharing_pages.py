"""Pages of sharing: bulletins (reader and composer, forwarding, watching), the watchlist
with the trips it hits, and sharing groups. The same services as the API: every read goes
through the caller's organisation."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cargowatch.api import IdPath, SessionDep
from cargowatch.bulletins import service
from cargowatch.bulletins.models import DISTRIBUTIONS, INDICATOR_KINDS, KINDS, TLP
from cargowatch.custody.models import Trip
from cargowatch.exceptions import InvalidInput
from cargowatch.risk.models import Assessment
from cargowatch.sharing import groups
from cargowatch.web.router import render
from cargowatch.web.session import WebPrincipal, check_csrf

router = APIRouter(include_in_schema=False)


def indicators_from(text: str) -> list[dict[str, str]]:
    """Indicators written one a line: 'kind value [last value of a range] [# note]'."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        body, _, note = line.partition("#")
        parts = body.split()
        if not parts:
            continue
        if parts[0] not in INDICATOR_KINDS or len(parts) < 2:
            raise InvalidInput(f"Indicators, line {n}: 'kind value', the kind one of "
                               f"{', '.join(INDICATOR_KINDS)}")  # fmt: skip
        last = parts[2] if len(parts) > 2 else ""
        out.append({"kind": parts[0], "value": parts[1], "value_to": last, "note": note.strip()})
    return out


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """The bulletins your organisation may read, and the composer."""
    rows = [service.view(session, b, user)
            for b in service.listed(session, principal=user, limit=300)]  # fmt: skip
    mine = groups.listed(session, principal=user)
    choices: dict[str, Any] = {"tlps": TLP, "kinds": KINDS, "distributions": DISTRIBUTIONS,
                               "indicator_kinds": INDICATOR_KINDS}  # fmt: skip
    return render(request, "bulletins.html", user=user, rows=rows, groups=mine, **choices)


@router.post("/bulletins", dependencies=[Depends(check_csrf)])
def bulletin_send(
    request: Request, session: SessionDep, user: WebPrincipal,
    title: Annotated[str, Form(max_length=300)],
    body: Annotated[str, Form(max_length=20_000)] = "",
    kind: Annotated[str, Form(max_length=32)] = "other",
    tlp: Annotated[str, Form(max_length=16)] = "AMBER",
    distribution: Annotated[str, Form(max_length=16)] = "group",
    group: Annotated[str, Form(max_length=64)] = "",
    recipients: Annotated[str, Form(max_length=4000)] = "",
    indicators: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:  # fmt: skip
    """Write and send a bulletin."""
    b = service.create(
        session, principal=user, title=title, body=body, kind=kind, tlp=tlp,
        distribution=distribution, group=group or None,
        recipients=[r for r in recipients.replace(",", " ").split() if r],
        indicators=indicators_from(indicators),
    )  # fmt: skip
    request.session["flash"] = f"Bulletin sent under TLP:{b.tlp}."
    return RedirectResponse(f"/bulletins/{b.id}", status_code=303)


@router.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_page(
    request: Request, bulletin_id: IdPath, session: SessionDep, user: WebPrincipal
) -> HTMLResponse:
    """One bulletin: its marking, body and indicators; forward and watch as allowed."""
    b = service.get(session, principal=user, bulletin_id=bulletin_id)
    view = service.view(session, b, user)
    watched = any(w["id"] == b.id for w in service.watchlist(session, principal=user))
    return render(request, "bulletin.html", user=user, b=view, watched=watched,
                  why_not=service.may_forward(b, user))  # fmt: skip


@router.post("/bulletins/{bulletin_id}/forward", dependencies=[Depends(check_csrf)])
def bulletin_forward(
    request: Request, bulletin_id: IdPath, session: SessionDep, user: WebPrincipal,
    to: Annotated[str, Form(max_length=4000)],
) -> Response:  # fmt: skip
    """Pass a bulletin on, as its marking allows."""
    added = service.forward(session, principal=user, bulletin_id=bulletin_id,
                            to=[t for t in to.replace(",", " ").split() if t])  # fmt: skip
    request.session["flash"] = f"Forwarded to {', '.join(added) or 'nobody new'}."
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)


@router.post("/bulletins/{bulletin_id}/watch", dependencies=[Depends(check_csrf)])
def bulletin_watch(
    request: Request, bulletin_id: IdPath, session: SessionDep, user: WebPrincipal,
    stop: Annotated[str, Form(max_length=3)] = "",
) -> Response:  # fmt: skip
    """Put a bulletin on the watchlist, or take it off (stop=yes)."""
    if stop == "yes":
        service.unwatch(session, principal=user, bulletin_id=bulletin_id)
        request.session["flash"] = "No longer watched; your trips are rescored."
    else:
        service.watch(session, principal=user, bulletin_id=bulletin_id)
        request.session["flash"] = "Watched; your trips are rescored."
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)


@router.get("/watchlist", response_class=HTMLResponse)
def watchlist_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """The watched bulletins and the trips they hit now, highest score first."""
    watched = service.watchlist(session, principal=user)
    hits: list[dict[str, Any]] = []
    rows = session.execute(
        select(Trip.id, Trip.container, Trip.origin, Trip.destination, Assessment.score,
               Assessment.findings)
        .join(Assessment, Assessment.trip_id == Trip.id)
        .where(Assessment.org_id == user.org_id, Trip.org_id == user.org_id,
               Assessment.findings.contains('"watchlist-hit"'))
        .order_by(Assessment.score.desc()).limit(200)
    ).all()  # fmt: skip
    for trip_id, box, origin, destination, score, findings in rows:
        found = next((f for f in json.loads(findings) if f.get("rule") == "watchlist-hit"), None)
        if found:
            hits.append({"trip_id": trip_id, "container": box, "lane": f"{origin}-{destination}",
                         "score": score, "reason": found["reason"],
                         "bulletins": found.get("evidence", {}).get("bulletins", [])})  # fmt: skip
    return render(request, "watchlist.html", user=user, watched=watched, hits=hits)


@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """Your organisation's sharing groups; stewards admit and remove members."""
    return render(request, "groups.html", user=user, rows=groups.listed(session, principal=user))


@router.post("/groups", dependencies=[Depends(check_csrf)])
def group_create(
    request: Request, session: SessionDep, user: WebPrincipal,
    slug: Annotated[str, Form(max_length=64)], name: Annotated[str, Form(max_length=200)],
) -> Response:  # fmt: skip
    """Create a sharing group that your organisation stewards."""
    groups.create(session, principal=user, slug=slug.strip(), name=name)
    request.session["flash"] = f"Group {slug.strip()} created."
    return RedirectResponse("/groups", status_code=303)


@router.post("/groups/members", dependencies=[Depends(check_csrf)])
def group_members(
    request: Request, session: SessionDep, user: WebPrincipal,
    group: Annotated[str, Form(max_length=64)], org: Annotated[str, Form(max_length=64)],
    remove: Annotated[str, Form(max_length=3)] = "",
) -> Response:  # fmt: skip
    """Admit an organisation to a group you steward, or remove it (remove=yes)."""
    slug = group.strip()
    if remove == "yes":
        groups.remove(session, principal=user, slug=slug, org_slug=org.strip())
        request.session["flash"] = f"{org.strip()} removed from {slug}."
    else:
        groups.admit(session, principal=user, slug=slug, org_slug=org.strip())
        request.session["flash"] = f"{org.strip()} admitted to {slug}."
    return RedirectResponse("/groups", status_code=303)


@router.get("/agreements", response_class=HTMLResponse)
def agreements_page(request: Request, session: SessionDep, user: WebPrincipal) -> HTMLResponse:
    """Agreements your organisation made and received; owners make, extend and revoke them."""
    from cargowatch.sharing import service as sharing
    from cargowatch.sharing.models import DATA_CLASSES

    rows = [sharing.describe(session, a)
            for a in sharing.list_agreements(session, principal=user)]  # fmt: skip
    return render(request, "agreements.html", user=user, rows=rows, classes=DATA_CLASSES,
                  groups=groups.listed(session, principal=user))  # fmt: skip


@router.post("/agreements", dependencies=[Depends(check_csrf)])
def agreement_create(
    request: Request, session: SessionDep, user: WebPrincipal,
    purpose: Annotated[str, Form(max_length=500)],
    legal_basis: Annotated[str, Form(max_length=500)],
    classes: Annotated[list[str], Form(max_length=10)],
    grantee: Annotated[str, Form(max_length=64)] = "",
    group: Annotated[str, Form(max_length=64)] = "",
    scopes: Annotated[str, Form(max_length=200_000)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    roles: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    """Make an agreement from the form: scope one item a line, end as a date (UTC midnight)."""
    from datetime import UTC, datetime

    from cargowatch.sharing import service as sharing

    end = None
    if until.strip():
        try:
            end = datetime.fromisoformat(until.strip()).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput(f"until {until!r}: expected a date, as 2027-06-30") from None
    terms = sharing.Terms(
        classes=classes, purpose=purpose, legal_basis=legal_basis,
        scopes=[sharing.parse_scope(x) for x in scopes.splitlines() if x.strip()],
        valid_until=end, personal_roles=[r for r in roles.replace(",", " ").split() if r],
    )  # fmt: skip
    made = sharing.create_agreement(session, principal=user, terms=terms,
                                    grantee_slug=grantee.strip() or None,
                                    group_slug=group.strip() or None)  # fmt: skip
    request.session["flash"] = f"Agreement {made.id} made."
    return RedirectResponse("/agreements", status_code=303)


@router.post("/agreements/{agreement_id}/revoke", dependencies=[Depends(check_csrf)])
def agreement_revoke(
    request: Request, agreement_id: IdPath, session: SessionDep, user: WebPrincipal
) -> Response:
    """End an agreement your organisation made."""
    from cargowatch.sharing import service as sharing

    sharing.revoke_agreement(session, principal=user, agreement_id=agreement_id)
    request.session["flash"] = f"Agreement {agreement_id} revoked."
    return RedirectResponse("/agreements", status_code=303)
