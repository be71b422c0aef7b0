"""The seizure database: every seizure an organisation recorded (inspections with result
SEIZURE, kept in step by sync) or entered by hand becomes an incident linked to its trip, with
its lane and carrier from the manifest; statistics as the WCO reports them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Trip
from cargowatch.db.base import utcnow
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.incidents.models import CONCEALMENTS, INSIDER, MOS, Incident
from cargowatch.registers.specs import TABLES

STATS_BY = ("mo", "concealment", "port", "lane", "carrier", "month", "insider")


def sync(
    session: Session, *, org_id: int, actor: Principal | str = "cargowatch (incidents)"
) -> int:
    """Make an incident of every seizure in the organisation's inspections that has none yet
    (idempotent: keyed on the inspection row); returns how many were made."""
    i, m = TABLES["inspections"], TABLES["manifest"]
    known = select(Incident.source_ref).where(
        Incident.org_id == org_id, Incident.source == "inspection"
    )
    rows = session.execute(
        select(i.c.id, i.c.ts, i.c.container, i.c.booking_ref, i.c.locode, i.c.substance,
               i.c.quantity_kg, i.c.concealment, i.c.insider_suspected, i.c.reference)
        .where(i.c.org_id == org_id, i.c.result == "SEIZURE",
               cast(i.c.id, String).not_in(known))
        .order_by(i.c.id)
    ).all()  # fmt: skip
    if not rows:
        return 0
    made = []
    for iid, ts, box, booking, locode, substance, kg, concealment, insider, ref in rows:
        at = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        trip = _trip_of(session, org_id, box, booking, at)
        line = session.execute(
            select(m.c.pol, m.c.pod, m.c.carrier_code).where(
                m.c.org_id == org_id, m.c.container == box,
                m.c.booking_ref == (booking or (trip.booking_ref if trip else "") or ""),
            ).limit(1)
        ).first()  # fmt: skip
        row = Incident(
            org_id=org_id, source="inspection", source_ref=str(iid),
            trip_id=trip.id if trip else None, container=box,
            booking_ref=booking or (trip.booking_ref if trip else None), found_at=at,
            locode=locode, substance=substance, quantity_kg=kg,
            concealment=concealment, mo=None,
            insider="suspected" if insider == "YES" else "none",
            pol=(line[0] if line else None) or (trip.origin if trip else None),
            pod=(line[1] if line else None) or (trip.destination if trip else None),
            carrier_code=line[2] if line else None, reference=ref,
        )  # fmt: skip
        session.add(row)
        made.append(row)
    session.flush()
    audit.record_many(session, actor=actor, entries=[
        {"action": "incident.record", "entity_type": "incident", "entity_id": r.id,
         "after": {"source": "inspection", "source_ref": r.source_ref, "container": r.container}}
        for r in made
    ])  # fmt: skip
    return len(made)


def _trip_of(
    session: Session, org_id: int, box: str, booking: str | None, at: datetime
) -> Trip | None:
    """The trip of the container under way (or newest started) when the seizure was made."""
    query = select(Trip).where(Trip.org_id == org_id, Trip.container == box)
    if booking:
        found = session.scalar(query.where(Trip.booking_ref == booking).limit(1))
        if found is not None:
            return found
    return session.scalar(
        query.where(Trip.started_at <= at).order_by(Trip.started_at.desc()).limit(1)
    ) or session.scalar(query.order_by(Trip.started_at.desc()).limit(1))


def record(
    session: Session,
    *,
    principal: Principal,
    container: str,
    found_at: datetime,
    reference: str,
    booking_ref: str | None = None,
    locode: str | None = None,
    substance: str | None = None,
    quantity_kg: float | None = None,
    concealment: str | None = None,
    mo: str | None = None,
    insider: str = "none",
    insider_role: str | None = None,
    notes: str = "",
    source: str = "manual",
    source_ref: str | None = None,
) -> tuple[Incident, bool]:
    """A seizure entered by hand (idempotent on the reference), or taken in from a partner's
    report (source "stix", idempotent on its STIX id); audited."""
    principal.require("events:write")
    if concealment is not None and concealment not in CONCEALMENTS:
        raise InvalidInput(f"concealment: expected one of {', '.join(CONCEALMENTS)}")
    if mo is not None and mo not in MOS:
        raise InvalidInput(f"mo: expected one of {', '.join(MOS)}")
    if insider not in INSIDER:
        raise InvalidInput(f"insider: expected one of {', '.join(INSIDER)}")
    ref = reference.strip()[:100]
    if not ref:
        raise InvalidInput("reference: give the seizure's reference")
    key = (source_ref or ref)[:100]
    stored = session.scalar(select(Incident).where(
        Incident.org_id == principal.org_id, Incident.source == source,
        Incident.source_ref == key))  # fmt: skip
    if stored is not None:
        return stored, False
    at = found_at.astimezone(UTC)
    box = container.strip().upper()
    trip = _trip_of(session, principal.org_id, box, booking_ref, at)
    row = Incident(
        org_id=principal.org_id, source=source, source_ref=key,
        trip_id=trip.id if trip else None, container=box,
        booking_ref=booking_ref or (trip.booking_ref if trip else None), found_at=at,
        locode=locode, substance=substance, quantity_kg=quantity_kg, concealment=concealment,
        mo=mo, insider=insider, insider_role=insider_role, reference=ref, notes=notes,
        pol=trip.origin if trip else None, pod=trip.destination if trip else None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor=principal, action="incident.record", entity_type="incident",
                 entity_id=row.id, after={"source": source, "reference": ref})  # fmt: skip
    return row, True


def update(session: Session, *, principal: Principal, incident_id: int, **fields: Any) -> Incident:
    """Change what people learned of an incident (MO, concealment, insider involvement and
    role, substance, quantity, notes); audited with before and after."""
    principal.require("events:write")
    row = get(session, principal=principal, incident_id=incident_id)
    allowed = {"mo": MOS, "concealment": CONCEALMENTS, "insider": INSIDER}
    before: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in ("mo", "concealment", "insider", "insider_role", "substance",
                       "quantity_kg", "notes"):  # fmt: skip
            raise InvalidInput(f"{key}: not a field of an incident one may change")
        if key in allowed and value is not None and value not in allowed[key]:
            raise InvalidInput(f"{key}: expected one of {', '.join(allowed[key])}")
        before[key] = getattr(row, key)
        setattr(row, key, value)
    row.updated_at = utcnow()
    audit.record(session, actor=principal, action="incident.update", entity_type="incident",
                 entity_id=row.id, before=before, after=fields)  # fmt: skip
    return row


def get(session: Session, *, principal: Principal, incident_id: int) -> Incident:
    """An incident of the caller's organisation."""
    principal.require("events:read")
    row = session.get(Incident, incident_id)
    if row is None or row.org_id != principal.org_id:
        raise NotFound(f"no incident {incident_id}")
    return row


def listed(
    session: Session, *, principal: Principal, limit: int = 200, offset: int = 0
) -> list[Incident]:
    """The caller's organisation's incidents, newest first."""
    principal.require("events:read")
    return list(session.scalars(
        select(Incident).where(Incident.org_id == principal.org_id)
        .order_by(Incident.found_at.desc(), Incident.id.desc()).offset(offset).limit(limit)
    ))  # fmt: skip


def view(row: Incident) -> dict[str, Any]:
    """An incident as the API shows it."""
    return {
        "id": row.id, "source": row.source, "source_ref": row.source_ref, "trip_id": row.trip_id,
        "container": row.container, "booking_ref": row.booking_ref, "found_at": row.found_at,
        "locode": row.locode, "substance": row.substance, "quantity_kg": row.quantity_kg,
        "concealment": row.concealment, "mo": row.mo, "insider": row.insider,
        "insider_role": row.insider_role, "pol": row.pol, "pod": row.pod,
        "lane": f"{row.pol or '?'}-{row.pod or '?'}", "carrier_code": row.carrier_code,
        "reference": row.reference, "notes": row.notes,
    }  # fmt: skip


def frame(session: Session, *, principal: Principal) -> pl.DataFrame:
    """Every incident of the caller's organisation as a frame (for statistics and export)."""
    principal.require("events:read")
    query = select(Incident).where(Incident.org_id == principal.org_id).order_by(Incident.id)
    rows = [view(r) for r in session.scalars(query)]
    schema: dict[str, Any] = {
              "id": pl.Int64, "container": pl.String, "found_at": pl.Datetime("us", "UTC"),
              "locode": pl.String, "substance": pl.String, "quantity_kg": pl.Float64,
              "concealment": pl.String, "mo": pl.String, "insider": pl.String,
              "pol": pl.String, "pod": pl.String, "lane": pl.String,
              "carrier_code": pl.String, "reference": pl.String}  # fmt: skip
    return pl.DataFrame([{k: r[k] for k in schema} for r in rows], schema=schema)


def stats(session: Session, *, principal: Principal, by: str = "mo") -> list[dict[str, Any]]:
    """Seizures grouped as the WCO reports them (by MO, concealment, port, lane, carrier,
    month or insider involvement): how many, the share with an insider involved (suspected
    or confirmed), and the quantity seized."""
    if by not in STATS_BY:
        raise InvalidInput(f"by: expected one of {', '.join(STATS_BY)}")
    f = frame(session, principal=principal)
    if f.height == 0:
        return []
    key = {
        "port": pl.col("locode"),
        "carrier": pl.col("carrier_code"),
        "month": pl.col("found_at").dt.strftime("%Y-%m"),
    }.get(by, pl.col(by))
    out = (
        f.with_columns(key.fill_null("unknown").alias("group"))
        .group_by("group")
        .agg(
            pl.len().alias("seizures"),
            (pl.col("insider") != "none").mean().round(4).alias("insider_share"),
            pl.col("quantity_kg").sum().round(1).alias("quantity_kg"),
        )
        .sort(["seizures", "group"], descending=[True, False])
    )
    return out.to_dicts()
