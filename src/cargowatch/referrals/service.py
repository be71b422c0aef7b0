"""Referrals from industry to Customs: the directory of points of contact, intake (idempotent
on the referrer's reference), routing by where the container is or is going, acknowledgement
due in the contact's working time, and the workflow of each Customs copy with its history.

A referrer sees its own referrals and the state of each copy, never Customs' notes; a Customs
organisation sees the copies routed to it and nothing routed elsewhere."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.cases import service as cases
from cargowatch.custody.models import Trip
from cargowatch.db.base import utcnow
from cargowatch.exceptions import InvalidInput, NotFound, PermissionDenied
from cargowatch.orgs.models import Organisation
from cargowatch.referrals.models import (
    CATEGORIES,
    ENDED,
    FEEDBACK_LEVELS,
    FEEDBACK_OUTCOMES,
    MOVES,
    STATES,
    TLP,
    URGENCIES,
    Feedback,
    Referral,
    ReferralCopy,
    Spoc,
)
from cargowatch.referrals.sla import Hours, add_working, parse_hours
from cargowatch.registers.specs import TABLES

LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CONTAINER = re.compile(r"^[A-Z]{4}\d{7}$")
LIST_MAX = 50  # identifiers of one kind in a referral
TEXT_MAX = 8000


def is_customs(session: Session, org_id: int) -> bool:
    """Whether an organisation is a Customs service (it has an inbox, not a referral list)."""
    org = session.get(Organisation, org_id)
    return bool(org and org.kind == "CUSTOMS")


def _customs(session: Session, principal: Principal) -> None:
    if not is_customs(session, principal.org_id):
        raise PermissionDenied(f"{principal.label}: only a Customs organisation does this")


def hours_of(spoc: Spoc) -> Hours:
    """The working hours of a point of contact."""
    return parse_hours(
        spoc.timezone,
        spoc.opens,
        spoc.closes,
        [int(d) for d in spoc.weekdays.split(",") if d.strip()],
        spoc.holidays.split(","),
    )


def _codes(values: Any, field: str) -> list[str]:
    out = []
    for raw in values or []:
        code = str(raw).strip().upper()
        if not (LOCODE.match(code) or COUNTRY.match(code)):
            raise InvalidInput(f"{field}: {code[:12]!r} is neither a UN/LOCODE nor a country")
        out.append(code)
    if not out:
        raise InvalidInput(f"{field}: name at least one UN/LOCODE or country")
    return sorted(set(out))


def declare_spoc(
    session: Session,
    *,
    principal: Principal,
    name: str,
    jurisdiction: list[str],
    timezone: str = "UTC",
    opens: str = "08:00",
    closes: str = "18:00",
    weekdays: list[int] | None = None,
    holidays: list[str] | None = None,
    urgent_minutes: int = 120,
    routine_minutes: int = 600,
    email: str | None = None,
    phone: str | None = None,
    backup_email: str | None = None,
    webhook_url: str | None = None,
    feedback_review: bool = False,
) -> Spoc:
    """Declare (or change, by name) one of the caller's Customs organisation's points of
    contact; audited with before and after."""
    principal.require("users:manage")
    _customs(session, principal)
    name = " ".join(name.split())[:120]
    if not name:
        raise InvalidInput("name: give the point of contact a name")
    codes = _codes(jurisdiction, "jurisdiction")
    days = weekdays or [1, 2, 3, 4, 5]
    off = holidays or []
    parse_hours(timezone, opens, closes, days, off)  # every field checked before storing
    for minutes, field in (
        (urgent_minutes, "urgent_minutes"),
        (routine_minutes, "routine_minutes"),
    ):
        if not 1 <= minutes <= 60 * 24 * 10:
            raise InvalidInput(f"{field}: expected 1 to 14400 working minutes")
    if webhook_url and not re.match(r"^https?://[^\s/]+", webhook_url):
        raise InvalidInput("webhook_url: expected an http or https address")
    row = session.scalar(select(Spoc).where(Spoc.org_id == principal.org_id, Spoc.name == name))
    before = _spoc_dict(row) if row else None
    if row is None:
        row = Spoc(org_id=principal.org_id, name=name)
        session.add(row)
    row.jurisdiction = ",".join(codes)
    row.timezone, row.opens, row.closes = timezone, opens, closes
    row.weekdays = ",".join(str(d) for d in sorted(set(days)))
    row.holidays = ",".join(sorted({h.strip() for h in off if h.strip()}))
    row.urgent_minutes, row.routine_minutes = urgent_minutes, routine_minutes
    row.email, row.phone, row.backup_email = email, phone, backup_email
    row.webhook_url, row.feedback_review = webhook_url or None, feedback_review
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="spoc.declare",
        entity_type="spoc",
        entity_id=row.id,
        before=before,
        after=_spoc_dict(row),
    )
    return row


def _spoc_dict(row: Spoc) -> dict[str, Any]:
    return {
        "id": row.id,
        "org_id": row.org_id,
        "name": row.name,
        "jurisdiction": row.jurisdiction.split(","),
        "timezone": row.timezone,
        "opens": row.opens,
        "closes": row.closes,
        "weekdays": [int(d) for d in row.weekdays.split(",") if d],
        "holidays": [h for h in row.holidays.split(",") if h],
        "urgent_minutes": row.urgent_minutes,
        "routine_minutes": row.routine_minutes,
        "email": row.email,
        "phone": row.phone,
        "backup_email": row.backup_email,
    }


def directory(
    session: Session, *, principal: Principal, place: str | None = None
) -> list[dict[str, Any]]:
    """Every point of contact (any signed-in partner may know whom it would reach), or those
    that cover a place (its UN/LOCODE, else its country)."""
    principal.require("events:read")
    rows = session.execute(
        select(Spoc, Organisation.name).join(Organisation, Organisation.id == Spoc.org_id)
    ).all()
    out = []
    for spoc, org_name in rows:
        entry = {**_spoc_dict(spoc), "organisation": org_name}
        if place is None or _covers(spoc, place.strip().upper()):
            out.append(entry)
    return out


def _covers(spoc: Spoc, place: str) -> int:
    """2 when the point of contact names the place, 1 when it covers its country, else 0."""
    codes = set(spoc.jurisdiction.split(","))
    if place in codes:
        return 2
    return 1 if place[:2] in codes else 0


@dataclass
class Routed:
    """Where a referral goes: one point of contact per Customs organisation, and why."""

    spoc: Spoc
    place: str
    why: str


def route(
    session: Session, places: list[tuple[str, str]], spocs: list[Spoc] | None = None
) -> list[Routed]:
    """For (place, what it is) pairs, the best point of contact of each Customs organisation
    covering one of them: one naming the place beats a national one, an earlier place (where
    the container is going next) beats a later one."""
    if spocs is None:
        spocs = list(session.scalars(select(Spoc).order_by(Spoc.id)))
    best: dict[int, tuple[tuple[int, int], Routed]] = {}
    for rank, (place, what) in enumerate(places):
        for spoc in spocs:
            level = _covers(spoc, place)
            if not level:
                continue
            key = (-level, rank)
            why = f"{what} {place}" + ("" if level == 2 else f" (national: {place[:2]})")
            if spoc.org_id not in best or key < best[spoc.org_id][0]:
                best[spoc.org_id] = (key, Routed(spoc, place, why))
    return [r for _, r in sorted(best.values(), key=lambda kv: kv[0])]


@dataclass
class Records:
    """What the referrer's own records say of where some containers and bookings go."""

    legs: dict[str, list[tuple[str, str]]]  # container or booking -> (place, what), in order
    trips: dict[str, list[tuple[str, str]]]  # container -> (place, what), newest trip first


def _records(session: Session, org_id: int, boxes: set[str], booked: set[str]) -> Records:
    """The manifest's transshipment ports, port of discharge and place of delivery, and the
    trips' destinations and origins, for many referrals in a few reads."""
    m = TABLES["manifest"]
    legs: dict[str, list[tuple[str, str]]] = {}
    trips: dict[str, list[tuple[str, str]]] = {}
    box_list, booking_list = sorted(boxes), sorted(booked)
    for start in range(0, max(len(box_list), len(booking_list)), 500):
        some_boxes = box_list[start : start + 500]
        some_bookings = booking_list[start : start + 500]
        rows = session.execute(
            select(m.c.container, m.c.booking_ref, m.c.transshipment_ports, m.c.pod,
                   m.c.place_of_delivery)
            .where(m.c.org_id == org_id,
                   or_(m.c.container.in_(some_boxes), m.c.booking_ref.in_(some_bookings)))
            .order_by(m.c.id)
        ).all()  # fmt: skip
        for box, booking, via, pod, delivery in rows:
            found = [(p.strip(), "transshipment at") for p in str(via or "").split(";")
                     if p.strip()]  # fmt: skip
            if pod:
                found.append((pod, "port of discharge"))
            if delivery:
                found.append((delivery, "place of delivery"))
            for key in {box if box in boxes else None, booking if booking in booked else None}:
                if key:
                    legs.setdefault(key, []).extend(found)
        if some_boxes:
            for box, destination, origin in session.execute(
                select(Trip.container, Trip.destination, Trip.origin)
                .where(Trip.org_id == org_id, Trip.container.in_(some_boxes))
                .order_by(Trip.started_at.desc())
            ):
                seen = trips.setdefault(box, [])
                if len(seen) < 40:
                    if destination:
                        seen.append((destination, "trip bound for"))
                    if origin:
                        seen.append((origin, "trip from"))
    return Records(legs, trips)


def _places(
    records: Records, containers: list[str], bookings: list[str], place: str | None
) -> list[tuple[str, str]]:
    """Where the containers are or are going, from the referrer's own records: the place it
    named, then the manifest's transshipment ports and port of discharge and place of
    delivery, then the trips' destinations and origins."""
    out: list[tuple[str, str]] = []
    if place:
        out.append((place, "place of the observation"))
    for key in [*containers, *bookings]:
        out += records.legs.get(key, [])
    for box in containers:
        out += records.trips.get(box, [])
    seen: set[str] = set()
    unique = []
    for code, what in out:
        code = code.strip().upper()
        if LOCODE.match(code) and code not in seen:
            seen.add(code)
            unique.append((code, what))
    return unique


def _listed(values: Any, field: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    out = []
    for raw in values or []:
        value = str(raw).strip().upper()
        if not value:
            continue
        if len(value) > 40 or (pattern is not None and not pattern.match(value)):
            raise InvalidInput(f"{field}: {value[:40]!r} is not a valid identifier")
        out.append(value)
    if len(out) > LIST_MAX:
        raise InvalidInput(f"{field}: at most {LIST_MAX}")
    return sorted(set(out))


def checked(
    *,
    client_ref: str,
    category: str,
    text: str = "",
    urgency: str = "routine",
    tlp: str = "AMBER",
    observed_at: datetime | None = None,
    place: str | None = None,
    containers: list[str] | None = None,
    bookings: list[str] | None = None,
    bl_numbers: list[str] | None = None,
    seals: list[str] | None = None,
    contact: str = "",
) -> tuple[str, dict[str, Any]]:
    """A referral's reference and its fields as stored, every one checked (a bad one named)."""
    ref = client_ref.strip()
    if not 1 <= len(ref) <= 100:
        raise InvalidInput("client_ref: expected 1 to 100 characters (your own reference)")
    if category not in CATEGORIES:
        raise InvalidInput(f"category: expected one of {', '.join(CATEGORIES)}")
    if urgency not in URGENCIES:
        raise InvalidInput(f"urgency: expected one of {', '.join(URGENCIES)}")
    if tlp not in TLP:
        raise InvalidInput(f"tlp: expected one of {', '.join(TLP)}")
    code = place.strip().upper() if place else None
    if code and not LOCODE.match(code):
        raise InvalidInput(f"place: expected a UN/LOCODE, got {code[:12]!r}")
    if len(text) > TEXT_MAX or len(contact) > 200:
        raise InvalidInput(f"text: at most {TEXT_MAX} characters; contact: at most 200")
    if observed_at is not None and not isinstance(observed_at, datetime):
        raise InvalidInput("observed_at: expected a date and time")
    fields = {
        "category": category,
        "urgency": urgency,
        "tlp": tlp,
        "place": code,
        "containers": ",".join(_listed(containers, "containers", CONTAINER)),
        "bookings": ",".join(_listed(bookings, "bookings")),
        "bl_numbers": ",".join(_listed(bl_numbers, "bl_numbers")),
        "seals": ",".join(_listed(seals, "seals")),
        "text": text.strip(),
        "contact": contact.strip(),
        "observed_at": observed_at.astimezone(UTC) if observed_at else None,
    }
    if not (fields["containers"] or fields["bookings"] or fields["bl_numbers"]
            or fields["seals"] or code):  # fmt: skip
        raise InvalidInput("name a container, booking, B/L, seal or place the referral is about")
    return ref, fields


@dataclass
class Sent:
    """What became of one referral of a batch: stored (new or as sent before), or refused."""

    referral: Referral | None
    copies: list[ReferralCopy]
    new: bool
    error: str | None = None


def submit_many(
    session: Session,
    *,
    principal: Principal,
    bodies: list[dict[str, Any]],
    now: datetime | None = None,
) -> list[Sent]:
    """Store and route many referrals in a few reads and writes: each checked on its own (a
    refused one says why and the others go on), the same client_ref again gives what was
    stored (with different content it is refused), new ones routed with their copies'
    acknowledgement due, each audited. One result per body, in order."""
    principal.require("events:write")
    out: list[Sent | None] = [None] * len(bodies)
    wanted: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, body in enumerate(bodies):
        try:
            ref, fields = checked(**body)
        except InvalidInput as exc:
            out[i] = Sent(None, [], False, str(exc))
            continue
        except TypeError as exc:
            out[i] = Sent(None, [], False, f"unexpected field: {exc}")
            continue
        if ref in wanted:  # twice in one batch: a repeat of the first, or a reused reference
            seen = wanted[ref][1]
            same = all(seen[k] == v for k, v in fields.items() if k != "observed_at")
            out[i] = Sent(None, [], False, f"again:{wanted[ref][0]}" if same else
                          f"client_ref: {ref!r} was used for a different referral")  # fmt: skip
        else:
            wanted[ref] = (i, fields)
    refs = sorted(wanted)
    stored: dict[str, Referral] = {}
    for start in range(0, len(refs), 500):
        for row in session.scalars(select(Referral).where(
            Referral.org_id == principal.org_id, Referral.client_ref.in_(refs[start : start + 500])
        )):  # fmt: skip
            stored[row.client_ref] = row
    at = now or utcnow()
    fresh: list[tuple[int, Referral, dict[str, Any]]] = []
    for ref, (i, fields) in wanted.items():
        before = stored.get(ref)
        if before is not None:
            if any(getattr(before, k) != v for k, v in fields.items() if k != "observed_at"):
                out[i] = Sent(None, [], False, f"client_ref: {ref!r} was used for a different "
                              "referral")  # fmt: skip
            else:
                out[i] = Sent(before, copies_of(session, before.id), False)
            continue
        row = Referral(org_id=principal.org_id, client_ref=ref, created_by=principal.label,
                       created_at=at, **fields)  # fmt: skip
        fresh.append((i, row, fields))
    session.add_all([row for _, row, _ in fresh])
    session.flush()
    boxes = {b for _, r, _ in fresh for b in r.containers.split(",") if b}
    booked = {b for _, r, _ in fresh for b in r.bookings.split(",") if b}
    records = _records(session, principal.org_id, boxes, booked)
    spocs = list(session.scalars(select(Spoc).order_by(Spoc.id)))
    hours = {spoc.id: hours_of(spoc) for spoc in spocs}
    made: list[tuple[int, Referral, list[ReferralCopy]]] = []
    for i, row, _fields in fresh:
        places = _places(records, [b for b in row.containers.split(",") if b],
                         [b for b in row.bookings.split(",") if b], row.place)  # fmt: skip
        copies = []
        for routed in route(session, places, spocs):
            spoc = routed.spoc
            minutes = spoc.urgent_minutes if row.urgency == "urgent" else spoc.routine_minutes
            due = add_working(row.created_at, minutes, hours[spoc.id])
            copies.append(ReferralCopy(
                referral_id=row.id, customs_org_id=spoc.org_id, spoc_id=spoc.id,
                routed_by=routed.why, state="submitted", due_at=due, sla_due_at=due,
                updated_at=row.created_at,
            ))  # fmt: skip
        made.append((i, row, copies))
    session.add_all([c for _, _, copies in made for c in copies])
    session.flush()
    audit.record_many(session, actor=principal, entries=[
        {"action": "referral.submit", "entity_type": "referral", "entity_id": row.id,
         "after": {"client_ref": row.client_ref, "category": row.category,
                   "urgency": row.urgency, "tlp": row.tlp,
                   "routed_to": [c.customs_org_id for c in copies]}}
        for _, row, copies in made
    ])  # fmt: skip
    for i, row, copies in made:
        out[i] = Sent(row, copies, True)
    done: list[Sent] = []
    for item in out:
        assert item is not None
        if item.error and item.error.startswith("again:"):
            original = out[int(item.error.split(":", 1)[1])]
            assert original is not None
            item = Sent(original.referral, original.copies, False, original.error)
        done.append(item)
    return done


def submit(
    session: Session,
    *,
    principal: Principal,
    now: datetime | None = None,
    **body: Any,
) -> tuple[Referral, list[ReferralCopy], bool]:
    """Store a referral and route it (a copy per Customs organisation, each with its
    acknowledgement due). The same client_ref again returns what was stored (new False);
    with different content it is refused."""
    [sent] = submit_many(session, principal=principal, bodies=[body], now=now)
    if sent.error is not None or sent.referral is None:
        raise InvalidInput(sent.error or "refused")
    return sent.referral, sent.copies, sent.new


def copies_of(session: Session, referral_id: int) -> list[ReferralCopy]:
    """Every Customs copy of a referral."""
    return list(
        session.scalars(
            select(ReferralCopy)
            .where(ReferralCopy.referral_id == referral_id)
            .order_by(ReferralCopy.id)
        )
    )


def sent_views(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The referrals the caller's organisation sent, as it may see them: each copy's state
    and the feedback released to it."""
    out = []
    for r in mine(session, principal=principal):
        copies = copies_of(session, r.id)
        said = feedback_of(session, [c.id for c in copies], released_only=True)
        out.append(public_view(r, copies, customs=False, feedback=said))
    return out


def mine(session: Session, *, principal: Principal, limit: int = 200) -> list[Referral]:
    """The referrals the caller's organisation sent, newest first."""
    principal.require("events:read")
    return list(
        session.scalars(
            select(Referral)
            .where(Referral.org_id == principal.org_id)
            .order_by(Referral.created_at.desc(), Referral.id.desc())
            .limit(limit)
        )
    )


def inbox(
    session: Session,
    *,
    principal: Principal,
    state: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[tuple[ReferralCopy, Referral]]:
    """The copies routed to the caller's Customs organisation, soonest due first (open ones),
    optionally in one state or overdue at a time."""
    principal.require("events:read")
    _customs(session, principal)
    query = (
        select(ReferralCopy, Referral)
        .join(Referral, Referral.id == ReferralCopy.referral_id)
        .where(ReferralCopy.customs_org_id == principal.org_id)
    )
    if state:
        if state not in STATES:
            raise InvalidInput(f"state: expected one of {', '.join(STATES)}")
        query = query.where(ReferralCopy.state == state)
    if overdue_at is not None:
        query = query.where(ReferralCopy.state == "submitted", ReferralCopy.due_at < overdue_at)
    query = query.order_by(ReferralCopy.due_at, ReferralCopy.id).offset(offset).limit(limit)
    return [(c, r) for c, r in session.execute(query)]


def get(
    session: Session, *, principal: Principal, referral_id: int
) -> tuple[Referral, list[ReferralCopy]]:
    """A referral the caller may see: its referrer sees every copy's state; a Customs
    organisation sees the referral and its own copy only."""
    principal.require("events:read")
    row = session.get(Referral, referral_id)
    if row is None:
        raise NotFound(f"no referral {referral_id}")
    copies = copies_of(session, row.id)
    if row.org_id == principal.org_id:
        return row, copies
    own = [c for c in copies if c.customs_org_id == principal.org_id]
    if not own:
        raise NotFound(f"no referral {referral_id}")
    return row, own


def move(
    session: Session,
    *,
    principal: Principal,
    referral_id: int,
    state: str,
    note: str = "",
    merged_into: int | None = None,
    outcome: str | None = None,
    now: datetime | None = None,
) -> ReferralCopy:
    """Move the caller's organisation's copy of a referral along its workflow (Customs), or
    withdraw a referral the caller's organisation sent (every copy). Each move is a line of
    the copy's case history and an audit entry."""
    principal.require("events:write")
    if state not in STATES:
        raise InvalidInput(f"state: expected one of {', '.join(STATES)}")
    row, copies = get(session, principal=principal, referral_id=referral_id)
    at = now or utcnow()
    if row.org_id == principal.org_id and state == "withdrawn":
        targets = [c for c in copies if c.state not in ENDED]
    else:
        _customs(session, principal)
        targets = [c for c in copies if c.customs_org_id == principal.org_id]
        if not targets:
            raise NotFound(f"no referral {referral_id} routed to your organisation")
        if state == "withdrawn":
            raise InvalidInput("state: only the referrer withdraws a referral")
    if state == "duplicate":
        if merged_into is None or merged_into == referral_id:
            raise InvalidInput("merged_into: name the referral this one duplicates")
        get(session, principal=principal, referral_id=merged_into)  # one the caller sees
    if state == "closed" and not (outcome or "").strip():
        raise InvalidInput("outcome: say how the referral ended to close it")
    for copy in targets:
        if state not in MOVES.get(copy.state, frozenset()):
            raise InvalidInput(f"state: a referral {copy.state} cannot become {state}")
        before = copy.state
        copy.state = state
        copy.updated_at = at
        if state == "acknowledged" and copy.acknowledged_at is None:
            copy.acknowledged_at = at
        if state == "duplicate":
            copy.merged_into = merged_into
        if outcome:
            copy.outcome = outcome.strip()[:200]
        text = f"{before} → {state}" + (f": {note.strip()[:2000]}" if note.strip() else "")
        if copy.customs_org_id == principal.org_id:
            case = cases.subject_case(
                session, principal=principal, subject_type="referral", subject_id=copy.id
            )
            cases.record_on(
                session, principal=principal, case=case, kind="status", text=text, status=state
            )
        audit.record(
            session,
            actor=principal,
            action="referral.move",
            entity_type="referral",
            entity_id=referral_id,
            before={"state": before, "copy": copy.id},
            after={
                "state": state,
                "copy": copy.id,
                "merged_into": merged_into,
                "outcome": copy.outcome,
            },
        )
    session.flush()
    return targets[0]


def give_feedback(
    session: Session,
    *,
    principal: Principal,
    referral_id: int,
    level: str,
    text: str = "",
    outcome: str | None = None,
    hold_until: datetime | None = None,
    redact: list[str] | None = None,
) -> Feedback:
    """Feedback of the caller's Customs organisation to the referrer, at one of the
    documented levels; the words listed in redact are withheld from the text; it is released
    when hold_until has passed and, where the point of contact asks for it, once a second
    officer reviewed it."""
    principal.require("events:write")
    _customs(session, principal)
    if level not in FEEDBACK_LEVELS:
        raise InvalidInput(f"level: expected one of {', '.join(FEEDBACK_LEVELS)}")
    if (level == "outcome") != (outcome is not None):
        raise InvalidInput(
            f"outcome: give one of {', '.join(FEEDBACK_OUTCOMES)} with the "
            "outcome level, and only with it"
        )
    if outcome is not None and outcome not in FEEDBACK_OUTCOMES:
        raise InvalidInput(f"outcome: expected one of {', '.join(FEEDBACK_OUTCOMES)}")
    if len(text) > 2000:
        raise InvalidInput("text: at most 2000 characters")
    _row, copies = get(session, principal=principal, referral_id=referral_id)
    mine_ = [c for c in copies if c.customs_org_id == principal.org_id]
    if not mine_:
        raise NotFound(f"no referral {referral_id} routed to your organisation")
    copy = mine_[0]
    said = text.strip()
    for word in redact or []:
        if word.strip():
            said = re.sub(re.escape(word.strip()), "[withheld]", said, flags=re.IGNORECASE)
    spoc = session.get(Spoc, copy.spoc_id) if copy.spoc_id else None
    row = Feedback(
        copy_id=copy.id,
        level=level,
        outcome=outcome,
        text=said,
        hold_until=hold_until.astimezone(UTC) if hold_until else None,
        needs_review=bool(spoc and spoc.feedback_review),
        created_by=principal.label,
    )
    session.add(row)
    session.flush()
    case = cases.subject_case(
        session, principal=principal, subject_type="referral", subject_id=copy.id
    )
    hold = f", held until {hold_until:%Y-%m-%d %H:%M}" if hold_until else ""
    cases.record_on(
        session,
        principal=principal,
        case=case,
        kind="feedback",
        text=f"{level}{' ' + outcome if outcome else ''}{hold}: {said[:500]}",
    )
    return row


def review_feedback(session: Session, *, principal: Principal, feedback_id: int) -> Feedback:
    """A second officer of the same Customs organisation approves feedback for release."""
    principal.require("events:write")
    row = session.get(Feedback, feedback_id)
    copy = session.get(ReferralCopy, row.copy_id) if row else None
    if row is None or copy is None or copy.customs_org_id != principal.org_id:
        raise NotFound(f"no feedback {feedback_id}")
    if row.created_by == principal.label:
        raise InvalidInput("review: a second officer reviews feedback, not its author")
    row.reviewed_by = principal.label
    audit.record(
        session,
        actor=principal,
        action="referral.feedback-review",
        entity_type="feedback",
        entity_id=row.id,
        after={"copy": copy.id},
    )
    return row


def release_due(session: Session, *, now: datetime) -> int:
    """Release the feedback that may go out now; audited. Returns how many."""
    rows = session.scalars(
        select(Feedback)
        .where(
            Feedback.released_at.is_(None),
            or_(Feedback.hold_until.is_(None), Feedback.hold_until <= now),
            or_(Feedback.needs_review.is_(False), Feedback.reviewed_by.is_not(None)),
        )
        .limit(1000)
    ).all()
    for row in rows:
        row.released_at = now
        audit.record(
            session,
            actor="cargowatch (feedback)",
            action="referral.feedback-release",
            entity_type="feedback",
            entity_id=row.id,
            after={"copy": row.copy_id},
        )
    session.flush()
    return len(rows)


def feedback_of(session: Session, copy_ids: list[int], *, released_only: bool) -> list[Feedback]:
    """Feedback on these copies, oldest first (the referrer sees only what was released)."""
    if not copy_ids:
        return []
    query = select(Feedback).where(Feedback.copy_id.in_(copy_ids)).order_by(Feedback.id)
    if released_only:
        query = query.where(Feedback.released_at.is_not(None))
    return list(session.scalars(query))


def public_view(
    row: Referral,
    copies: list[ReferralCopy],
    *,
    customs: bool,
    feedback: list[Feedback] | None = None,
    files: list[dict[str, Any]] | None = None,
    threads: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A referral as the API shows it; the referrer's view of a copy is its state and dates,
    the feedback released to it and its thread with that Customs organisation; a Customs view
    adds why it was routed there and every feedback with its hold and review. Pass only the
    copies, feedback and threads the caller may see."""
    said: dict[int, list[dict[str, Any]]] = {}
    for f in feedback or []:
        entry: dict[str, Any] = {
            "level": f.level,
            "outcome": f.outcome,
            "text": f.text,
            "released_at": f.released_at,
        }
        if customs:
            entry |= {
                "id": f.id,
                "hold_until": f.hold_until,
                "needs_review": f.needs_review,
                "reviewed_by": f.reviewed_by,
                "created_by": f.created_by,
            }
        said.setdefault(f.copy_id, []).append(entry)
    return {
        "id": row.id,
        "client_ref": row.client_ref,
        "org_id": row.org_id,
        "category": row.category,
        "urgency": row.urgency,
        "tlp": row.tlp,
        "observed_at": row.observed_at,
        "place": row.place,
        "containers": [x for x in row.containers.split(",") if x],
        "bookings": [x for x in row.bookings.split(",") if x],
        "bl_numbers": [x for x in row.bl_numbers.split(",") if x],
        "seals": [x for x in row.seals.split(",") if x],
        "text": row.text,
        "contact": row.contact,
        "created_at": row.created_at,
        "attachments": files or [],
        "copies": [
            {
                "customs_org_id": c.customs_org_id,
                "state": c.state,
                "due_at": c.due_at,
                "acknowledged_at": c.acknowledged_at,
                "updated_at": c.updated_at,
                "feedback": said.get(c.id, []),
                "messages": (threads or {}).get(c.id, []),
                **(
                    {
                        "routed_by": c.routed_by,
                        "spoc_id": c.spoc_id,
                        "escalation": c.escalation,
                        "merged_into": c.merged_into,
                        "outcome": c.outcome,
                    }
                    if customs
                    else {}
                ),
            }
            for c in copies
        ],
    }


def now_utc() -> datetime:
    """The time used when none is given."""
    return datetime.now(UTC)


METRIC_GROUPS = ("spoc", "customs", "referrer")


def metrics(
    session: Session, *, principal: Principal, by: str | None = None
) -> list[dict[str, Any]]:
    """Per point of contact of the caller's Customs organisation, or per referring
    organisation (by="referrer"); for industry, per Customs organisation its referrals
    reached: referrals, time to acknowledge and to
    feedback in working minutes (median and 90th percentile), the share acknowledged within
    the due time, the share with released feedback, and how many led to an inspection and a
    seizure of one of their containers after they were sent (for industry, as far as released
    feedback told it: Customs' inspections are not industry's to read)."""
    import polars as pl

    principal.require("events:read")
    customs = is_customs(session, principal.org_id)
    by = by or ("spoc" if customs else "customs")
    if by not in METRIC_GROUPS:
        raise InvalidInput(f"by: expected one of {', '.join(METRIC_GROUPS)}")
    if not customs and by != "customs":
        raise InvalidInput("by: industry sees its referrals per Customs organisation reached")
    query = select(
        ReferralCopy.id, ReferralCopy.spoc_id, ReferralCopy.customs_org_id,
        ReferralCopy.sla_due_at, ReferralCopy.acknowledged_at, Referral.created_at,
        Referral.containers, Referral.org_id,
    ).join(Referral, Referral.id == ReferralCopy.referral_id)  # fmt: skip
    query = query.where(
        ReferralCopy.customs_org_id == principal.org_id
        if customs
        else Referral.org_id == principal.org_id
    )
    rows = session.execute(query).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    first_feedback: dict[int, datetime] = {}
    told: dict[int, set[str]] = {}  # what released feedback told of each copy's outcome
    for start in range(0, len(ids), 5000):
        for copy_id, at, level, result in session.execute(
            select(Feedback.copy_id, Feedback.released_at, Feedback.level, Feedback.outcome).where(
                Feedback.copy_id.in_(ids[start : start + 5000]), Feedback.released_at.is_not(None)
            )
        ):
            if at is not None and (copy_id not in first_feedback or at < first_feedback[copy_id]):
                first_feedback[copy_id] = at
            if level == "outcome" and result:
                told.setdefault(copy_id, set()).add(result)
    i = TABLES["inspections"]
    boxes = sorted({b for r in rows for b in str(r[6] or "").split(",") if b}) if customs else []
    checks: dict[str, list[tuple[datetime, str]]] = {}  # Customs' own inspections only
    for start in range(0, len(boxes), 5000):
        for box, ts, result in session.execute(
            select(i.c.container, i.c.ts, i.c.result).where(
                i.c.org_id == principal.org_id, i.c.container.in_(boxes[start : start + 5000])
            )
        ):
            checks.setdefault(box, []).append((ts, result))
    spocs = {s.id: s for s in session.scalars(select(Spoc))}
    orgs = {o.id: o.name for o in session.scalars(select(Organisation))}
    records = []
    hours_by_spoc = {sid: hours_of(spoc) for sid, spoc in spocs.items()}
    for copy_id, spoc_id, org_id, due, acked, sent, containers, referrer in rows:
        spoc = spocs.get(spoc_id) if spoc_id else None
        hours = hours_by_spoc.get(spoc_id) if spoc_id else None

        def minutes(
            end: datetime | None, hours: Any = hours, sent: datetime = sent
        ) -> float | None:
            if end is None:
                return None
            if hours is None:
                return (end - sent).total_seconds() / 60
            from cargowatch.referrals.sla import working_between

            return working_between(sent, end, hours).total_seconds() / 60

        found = [c for b in str(containers or "").split(",") if b for c in checks.get(b, [])
                 if c[0] is not None and _utc(c[0]) >= _utc(sent) - LEAD]  # fmt: skip
        records.append({
            "group": (spoc.name if spoc else "no point of contact") if by == "spoc"
                     else orgs.get(referrer if by == "referrer" else org_id, "?"),
            "ack": minutes(acked), "feedback": minutes(first_feedback.get(copy_id)),
            "in_time": acked is not None and _utc(acked) <= _utc(due),
            # industry learns outcomes only from feedback released to it
            "inspected": bool(found) if customs else bool(told.get(copy_id)),
            "seized": any(r == "SEIZURE" for _, r in found) if customs
                      else "seizure" in told.get(copy_id, set()),
        })  # fmt: skip
    frame = pl.DataFrame(records)
    out = frame.group_by("group").agg(
        pl.len().alias("referrals"),
        pl.col("ack").median().alias("ack_median_min"),
        pl.col("ack").quantile(0.9).alias("ack_p90_min"),
        pl.col("feedback").median().alias("feedback_median_min"),
        pl.col("feedback").quantile(0.9).alias("feedback_p90_min"),
        pl.col("in_time").mean().alias("acknowledged_in_time"),
        pl.col("feedback").is_not_null().mean().alias("with_feedback"),
        pl.col("inspected").sum().alias("inspected"),
        pl.col("seized").sum().alias("seized"),
    )
    return out.sort("group").to_dicts()


def metrics_csv(rows: list[dict[str, Any]]) -> str:
    """The referral figures as CSV (every cell made safe), as the API, the page and the
    command line give them."""
    import io

    from cargowatch.exports import write_csv

    out = io.StringIO()
    header = list(rows[0]) if rows else ["group", "referrals"]
    write_csv(out, header, ([r.get(k) for k in header] for r in rows))
    return out.getvalue()


LEAD = timedelta(days=1)  # an inspection this long before a referral may be its follow-up
# (inspection times are kept to the second, and often dated to the start of the work)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
