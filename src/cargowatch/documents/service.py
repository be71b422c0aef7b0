"""Reading DCSA eBL 3.0 transport documents (one JSON document, an array, NDJSON, or the
issuance envelope {"document": ...}) into transport_documents and document_equipment.

A document is stored once by its transport document reference (or, for shipping instructions
not yet issued, their reference, or the hash of the document); a newer version of a document
replaces the stored one, with its equipment.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.documents.models import DocumentEquipment, TransportDocument
from cargowatch.exceptions import NotFound
from cargowatch.ingest.adapters.base import RecordError, SourceRecord, record_error_from_msgspec
from cargowatch.ingest.validation import container_warning, is_unlocode

Quarantine = Callable[[list[tuple[SourceRecord, RecordError]]], None]
HSCode = Annotated[str, Meta(pattern=r"^\d{6,10}$")]


class Place(Struct, gc=False):
    UNLocationCode: str | None = None
    locationName: str | None = None


class VesselVoyage(Struct, gc=False):
    vesselName: str | None = None
    carrierExportVoyageNumber: str | None = None


class Transports(Struct, gc=False):
    placeOfReceipt: Place | None = None
    portOfLoading: Place | None = None
    portOfDischarge: Place | None = None
    placeOfDelivery: Place | None = None
    vesselVoyages: list[VesselVoyage] | None = None


class Seal(Struct, gc=False):
    number: Annotated[str, Meta(min_length=1, max_length=15)]
    source: str | None = None
    type: str | None = None


class Equipment(Struct, gc=False):
    equipmentReference: Annotated[str, Meta(max_length=11)]
    ISOEquipmentCode: str | None = None


class UtilizedEquipment(Struct, gc=False):
    equipmentReference: Annotated[str, Meta(max_length=11)] | None = None
    equipment: Equipment | None = None
    seals: list[Seal] | None = None


class Weight(Struct, gc=False):
    value: float
    unit: str = "KGM"


class CargoItem(Struct, gc=False):
    equipmentReference: str
    cargoGrossWeight: Weight | None = None


class ConsignmentItem(Struct, gc=False):
    carrierBookingReference: Annotated[str, Meta(max_length=35)] | None = None
    descriptionOfGoods: list[str] | None = None
    HSCodes: list[HSCode] | None = None
    cargoItems: list[CargoItem] | None = None


class Party(Struct, gc=False):
    partyName: str | None = None


class Parties(Struct, gc=False):
    shipper: Party | None = None
    consignee: Party | None = None
    notifyParties: list[Party] | None = None


class Document(Struct, gc=False):
    utilizedTransportEquipments: list[UtilizedEquipment]
    consignmentItems: list[ConsignmentItem]
    # DCSA limits it to 20 characters; its own examples carry a 40-character placeholder
    transportDocumentReference: Annotated[str, Meta(max_length=100)] | None = None
    shippingInstructionsReference: Annotated[str, Meta(max_length=100)] | None = None
    transportDocumentTypeCode: Annotated[str, Meta(max_length=3)] | None = None
    transportDocumentStatus: str | None = None
    issueDate: date | None = None
    shippedOnBoardDate: date | None = None
    carrierCode: str | None = None
    transports: Transports | None = None
    documentParties: Parties | None = None


class Envelope(Struct, gc=False):
    document: msgspec.Raw


_decoder = msgspec.json.Decoder(Document)


def sniff(head: bytes) -> bool:
    """Whether a source looks like eBL transport documents."""
    return b'"utilizedTransportEquipments"' in head or (
        b'"document"' in head and b'"issueTo"' in head
    )


def _locode(place: Place | None, field: str) -> str | None:
    code = place.UNLocationCode if place is not None else None
    if code and not is_unlocode(code):
        raise RecordError(field, f"expected a UN/LOCODE, got {code!r}")
    return code or None


def parse(raw: bytes) -> tuple[Document, bytes]:
    """The document in raw (unwrapping the issuance envelope); raises RecordError."""
    if raw.lstrip().startswith(b"{") and b'"document"' in raw[:200_000]:
        with contextlib.suppress(msgspec.MsgspecError, ValueError, RecursionError):
            raw = bytes(msgspec.json.decode(raw, type=Envelope).document)
    try:
        return _decoder.decode(raw), raw
    except msgspec.MsgspecError as exc:
        raise record_error_from_msgspec(exc, Document) from None
    except (ValueError, RecursionError) as exc:  # bytes that are not UTF-8; nesting too deep
        raise RecordError("", f"unreadable JSON: {type(exc).__name__}") from None


def store(
    session: Session, principal: Principal, run_id: int | None, raw: bytes
) -> tuple[bool, int]:
    """Store one document: (new or changed, containers declared)."""
    doc, raw = parse(raw)
    equipment: list[tuple[str, str | None, list[str]]] = []
    for i, ute in enumerate(doc.utilizedTransportEquipments):
        ref = ute.equipmentReference or (
            ute.equipment.equipmentReference if ute.equipment else None
        )
        if not ref:
            raise RecordError(f"utilizedTransportEquipments[{i}].equipmentReference", "required")
        iso = ute.equipment.ISOEquipmentCode if ute.equipment else None
        equipment.append((ref, iso, [s.number for s in ute.seals or ()]))
    if not equipment:
        raise RecordError("utilizedTransportEquipments", "at least one container is required")
    t = doc.transports
    places = [
        _locode(getattr(t, name, None) if t else None, f"transports.{name}.UNLocationCode")
        for name in ("placeOfReceipt", "portOfLoading", "portOfDischarge", "placeOfDelivery")
    ]
    voyage = t.vesselVoyages[0] if t and t.vesselVoyages else None
    bookings = sorted({c.carrierBookingReference for c in doc.consignmentItems
                       if c.carrierBookingReference})  # fmt: skip
    hs = sorted({h for c in doc.consignmentItems for h in c.HSCodes or ()})
    goods = "; ".join(g for c in doc.consignmentItems for g in c.descriptionOfGoods or ())
    weights: dict[str, float] = {}
    per_box_hs: dict[str, set[str]] = {}
    for c in doc.consignmentItems:
        for item in c.cargoItems or ():
            if item.cargoGrossWeight is not None:
                factor = 0.45359237 if item.cargoGrossWeight.unit == "LBR" else 1.0
                weights[item.equipmentReference] = weights.get(item.equipmentReference, 0) + (
                    item.cargoGrossWeight.value * factor
                )
            per_box_hs.setdefault(item.equipmentReference, set()).update(c.HSCodes or ())
    parties = doc.documentParties
    key = (
        doc.transportDocumentReference
        or (
            f"SI:{doc.shippingInstructionsReference}" if doc.shippingInstructionsReference else None
        )
        or "sha1:" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()
    )
    text = raw.decode("utf-8", "replace")
    existing = session.scalar(
        select(TransportDocument).where(
            TransportDocument.org_id == principal.org_id, TransportDocument.document_key == key
        )
    )
    if existing is not None and existing.raw == text:
        return False, len(equipment)
    values: dict[str, Any] = {
        "transport_document_reference": doc.transportDocumentReference,
        "shipping_instructions_reference": doc.shippingInstructionsReference,
        "booking_refs": ";".join(bookings) or None, "type_code": doc.transportDocumentTypeCode,
        "status": doc.transportDocumentStatus, "issue_date": doc.issueDate,
        "shipped_on_board_date": doc.shippedOnBoardDate, "carrier_code": doc.carrierCode,
        "place_of_receipt": places[0], "port_of_loading": places[1],
        "port_of_discharge": places[2], "place_of_delivery": places[3],
        "vessel_name": voyage.vesselName if voyage else None,
        "voyage": voyage.carrierExportVoyageNumber if voyage else None,
        "shipper": parties.shipper.partyName if parties and parties.shipper else None,
        "consignee": parties.consignee.partyName if parties and parties.consignee else None,
        "notify": "; ".join(p.partyName or "" for p in parties.notifyParties or ())
        if parties else None,
        "parties": msgspec.json.encode(parties).decode() if parties else None,
        "hs_codes": ";".join(hs) or None, "goods": goods or None, "raw": text, "run_id": run_id,
    }  # fmt: skip
    if existing is None:  # Core writes: one round trip for the document, one for its boxes
        document_id = session.execute(
            insert(TransportDocument)
            .values(org_id=principal.org_id, document_key=key, **values)
            .returning(TransportDocument.id)
        ).scalar_one()
    else:  # an amendment (a new consignee, other seals): audited with what it touched
        for name, value in values.items():
            setattr(existing, name, value)
        session.execute(
            delete(DocumentEquipment).where(DocumentEquipment.document_id == existing.id)
        )
        session.flush()
        document_id = existing.id
        audit.record(session, actor=principal, action="document.update",
                     entity_type="transport_document", entity_id=key,
                     after={"containers": [e[0] for e in equipment]})  # fmt: skip
    session.execute(
        insert(DocumentEquipment),
        [
            {"org_id": principal.org_id, "document_id": document_id, "container": ref,
             "iso_type": iso, "declared_seals": ";".join(seals) or None,
             "hs_codes": ";".join(sorted(per_box_hs.get(ref, ()))) or None,
             "gross_kg": weights.get(ref), "warnings": container_warning(ref)}
            for ref, iso, seals in equipment
        ],
    )  # fmt: skip
    return True, len(equipment)


def ingest_documents(
    session: Session,
    *,
    principal: Principal,
    run_id: int | None,
    records: Iterable[SourceRecord],
    quarantine: Quarantine,
) -> tuple[int, int, int, int]:
    """Read documents: (read, stored, duplicates, quarantined)."""
    principal.require("events:write")
    read = stored = quarantined = 0
    bad: list[tuple[SourceRecord, RecordError]] = []
    for record in records:
        read += 1
        try:
            if record.error is not None:
                raise RecordError("", record.error)
            # every check raises before the first write, so a bad record leaves nothing behind
            new, _boxes = store(session, principal, run_id, record.raw)
            stored += int(new)
        except RecordError as err:
            bad.append((record, err))
    if bad:
        quarantine(bad)
        quarantined = len(bad)
    return read, stored, read - stored - quarantined, quarantined


def documents_for_container(
    session: Session, *, principal: Principal, container: str
) -> list[tuple[TransportDocument, DocumentEquipment]]:
    """Documents of the caller's organisation that declare container."""
    principal.require("events:read")
    rows = session.execute(
        select(TransportDocument, DocumentEquipment)
        .join(DocumentEquipment, DocumentEquipment.document_id == TransportDocument.id)
        .where(
            DocumentEquipment.container == container.strip().upper(),
            TransportDocument.org_id == principal.org_id,
        )
        .order_by(TransportDocument.id)
    ).all()
    if not rows:
        raise NotFound(f"no transport document declares {container}")
    return [(d, e) for d, e in rows]
