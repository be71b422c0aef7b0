"""Seizures as STIX 2.1 `incident` objects: the seizure's facts (container, when and where
found, substance, quantity, concealment, modus operandi, insider involvement, ports, carrier)
in our property extension (EXTENSION), its summary as the description, and the TLP 2.0 marking
of its summary section. An organisation shares its own incidents, and passes on those it took
in only when CLEAR or GREEN; taken in, an incident is the importer's alone, with its summary
under the marking it came with. Import is idempotent on the STIX id, and exported again the
object is the same."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.bulletins.stix import NAMESPACE, TLP_IDS, parse_stamp, stamp
from cargowatch.exceptions import InvalidInput
from cargowatch.incidents import service
from cargowatch.incidents.models import CONCEALMENTS, INSIDER, MOS, Incident, Section
from cargowatch.incidents.workspace import sections

EXTENSION = "extension-definition--" + str(uuid.uuid5(NAMESPACE, "seizure properties 1.0"))
PASSABLE = ("CLEAR", "GREEN")  # what a recipient may pass on
FIELDS = ("container", "found_at", "locode", "substance", "quantity_kg", "concealment",
          "modus_operandi", "insider", "insider_role", "port_of_loading", "port_of_discharge",
          "carrier", "booking_ref")  # fmt: skip


def extension_definition(project: str, published: str, schema: str) -> dict[str, Any]:
    """The extension definition of the seizure properties, published by project."""
    return {
        "type": "extension-definition", "spec_version": "2.1", "id": EXTENSION,
        "created_by_ref": project, "created": published, "modified": published,
        "name": "cargowatch seizure", "schema": schema, "version": "1.0.0",
        "description": "Properties of a container drug seizure on a STIX incident: "
                       + ", ".join(FIELDS) + ".",
        "extension_types": ["property-extension"],
    }  # fmt: skip


def stix_id(session: Session, row: Incident) -> str:
    """The incident's STIX id: the one it came with, or one made from its organisation and id."""
    if row.source == "stix":
        return row.source_ref
    from cargowatch.orgs.models import Organisation

    slug = session.scalar(select(Organisation.slug).where(Organisation.id == row.org_id))
    return "incident--" + str(uuid.uuid5(NAMESPACE, f"incident {slug} {row.id}"))


def _summary(session: Session, row: Incident) -> Section:
    return next(s for s in sections(session, row) if s.kind == "summary")


def shareable(session: Session, principal: Principal, since: datetime | None) -> list[Incident]:
    """The caller's incidents it may pass on: those it recorded, and those it took in as
    CLEAR or GREEN."""
    query = select(Incident).where(Incident.org_id == principal.org_id)
    if since is not None:
        query = query.where(Incident.updated_at >= since)
    rows = session.scalars(query.order_by(Incident.created_at, Incident.id))
    return [r for r in rows if r.source != "stix" or _summary(session, r).tlp in PASSABLE]


def object_of(session: Session, row: Incident, author_ref: str) -> dict[str, Any]:
    """One incident as a STIX 2.1 incident object."""
    summary = _summary(session, row)
    facts: dict[str, Any] = {
        "container": row.container, "found_at": stamp(row.found_at), "locode": row.locode,
        "substance": row.substance, "quantity_kg": row.quantity_kg,
        "concealment": row.concealment, "modus_operandi": row.mo, "insider": row.insider,
        "insider_role": row.insider_role, "port_of_loading": row.pol,
        "port_of_discharge": row.pod, "carrier": row.carrier_code,
        "booking_ref": row.booking_ref,
    }  # fmt: skip
    ext = {"extension_type": "property-extension",
           **{k: v for k, v in facts.items() if v is not None}}  # fmt: skip
    obj: dict[str, Any] = {
        "type": "incident", "spec_version": "2.1", "id": stix_id(session, row),
        "created_by_ref": author_ref, "created": stamp(row.created_at),
        "modified": stamp(max(row.updated_at, row.created_at)),
        "name": f"Seizure {row.reference or row.source_ref} in {row.container}",
        "object_marking_refs": [TLP_IDS[summary.tlp]], "extensions": {EXTENSION: ext},
    }  # fmt: skip
    if row.reference:
        obj["external_references"] = [{"source_name": "cargowatch",
                                       "external_id": row.reference}]  # fmt: skip
    text = summary.body or row.notes
    if text:
        obj["description"] = text
    return obj


def _text(ext: dict[str, Any], name: str, where: str, size: int) -> str | None:
    value = ext.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > size:
        raise InvalidInput(f"{where}: {name}: expected text of at most {size} characters")
    return value


def take_in(
    session: Session, *, principal: Principal, obj: dict[str, Any], tlp: str, author: str
) -> bool:
    """One STIX incident with our seizure properties as an incident of the importing
    organisation (its summary under the marking it came with); False when it was here."""
    where = str(obj.get("id"))
    ext = (obj.get("extensions") or {}).get(EXTENSION)
    if not isinstance(ext, dict):
        raise InvalidInput(f"{where}: not a seizure (no cargowatch seizure properties)")
    if session.scalar(select(Incident.id).where(
            Incident.org_id == principal.org_id, Incident.source == "stix",
            Incident.source_ref == where)) is not None:  # fmt: skip
        return False
    container = _text(ext, "container", where, 15)
    if not container:
        raise InvalidInput(f"{where}: container: required")
    quantity = ext.get("quantity_kg")
    if quantity is not None and (not isinstance(quantity, int | float) or quantity < 0):
        raise InvalidInput(f"{where}: quantity_kg: expected a number of kilograms")
    choices = {"concealment": CONCEALMENTS, "modus_operandi": MOS, "insider": INSIDER}
    for name, allowed in choices.items():
        if ext.get(name) is not None and ext.get(name) not in allowed:
            raise InvalidInput(f"{where}: {name}: expected one of {', '.join(allowed)}")
    refs = [r for r in obj.get("external_references") or [] if isinstance(r, dict)]
    reference = next(
        (
            str(r["external_id"])
            for r in refs
            if r.get("source_name") == "cargowatch" and r.get("external_id")
        ),
        where,
    )
    row, _ = service.record(
        session, principal=principal, container=container,
        found_at=parse_stamp(ext.get("found_at") or obj.get("created"), f"{where}: found_at"),
        reference=reference, booking_ref=_text(ext, "booking_ref", where, 100),
        locode=_text(ext, "locode", where, 5), substance=_text(ext, "substance", where, 100),
        quantity_kg=None if quantity is None else float(quantity),
        concealment=ext.get("concealment"), mo=ext.get("modus_operandi"),
        insider=ext.get("insider") or "none",
        insider_role=_text(ext, "insider_role", where, 100), source="stix", source_ref=where,
    )  # fmt: skip
    row.pol = _text(ext, "port_of_loading", where, 5) or row.pol
    row.pod = _text(ext, "port_of_discharge", where, 5) or row.pod
    row.carrier_code = _text(ext, "carrier", where, 10)
    row.author, row.author_ref = author[:200], str(obj.get("created_by_ref") or "")[:64] or None
    row.created_at = parse_stamp(obj.get("created"), f"{where}: created")
    row.updated_at = parse_stamp(obj.get("modified"), f"{where}: modified")
    summary = _summary(session, row)
    summary.tlp, summary.body = tlp, str(obj.get("description") or "")
    summary.updated_by = f"STIX import ({author})"[:200]
    return True
