"""A canonical event as DCSA Track & Trace 2.2 and 3.0 write it.

Whatever format an event came in (DCSA 2.2 or 3.0, EDIFACT, CSV), the canonical row holds what
both versions need: type, code, classifier, time, equipment, place, seals, references and the
transport call. What the row does not know is left out, never made up; where 2.2 requires a
field the row cannot fill (a transport event without its call, a shipment event without its
document, an IoT or reefer event, which 2.2 has no place for), the event is not served in 2.2
and the query leaves it out (`served_in_22`).

Event ids: a stable UUID (version 8) that carries the row's id, so `/v2/events/{eventID}`
finds the row again; 3.0 uses the same string."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, or_

from cargowatch.events.models import Event, TransportCall

PREFIX = "63617267-6f77-8"  # "cargow", version 8
_ID = re.compile(r"^63617267-6f77-8000-8000-([0-9a-f]{12})$")


def event_uuid(event_id: int) -> str:
    """The DCSA eventID of a stored event."""
    return f"{PREFIX}000-8000-{event_id:012x}"


def row_id(event_uuid_text: str) -> int | None:
    """The stored event an eventID names, or None when it is not one of ours."""
    match = _ID.match(event_uuid_text.strip().lower())
    return int(match.group(1), 16) if match else None


def _time(t: datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _extra(event: Event) -> dict[str, Any]:
    if not event.extra:
        return {}
    try:
        value = msgspec.json.decode(event.extra)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _seals(event: Event) -> list[dict[str, Any]]:
    if not event.seals:
        return []
    try:
        seals = msgspec.json.decode(event.seals)
    except msgspec.DecodeError:
        return []
    return [s for s in seals if isinstance(s, dict) and s.get("number")]


def _documents(event: Event, extra: dict[str, Any]) -> list[tuple[str, str]]:
    """(type, reference): the booking, the transport document, and the event's own document."""
    out: list[tuple[str, str]] = []
    if event.booking_ref:
        out.append(("BKG", event.booking_ref))
    if event.bl_number:
        out.append(("TRD", event.bl_number))
    kind, ref = extra.get("document_type"), extra.get("document_id")
    if kind in ("BKG", "TRD") and ref and (kind, ref) not in out:
        out.append((kind, str(ref)))
    return out


def created(event: Event, extra: dict[str, Any]) -> datetime | None:
    """When the event was last written by its publisher: its update time where the source
    said, else the time of the event."""
    stamp = extra.get("updated")
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            pass
    return event.event_time


# DCSA 2.2's code lists (3.0 widened them: customs codes, IoT, reefer)
EQUIPMENT_22 = ("LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA",
                "RMVD")  # fmt: skip
TRANSPORT_22 = ("ARRI", "DEPA")
SHIPMENT_22 = ("RECE", "DRFT", "PENA", "PENU", "REJE", "APPR", "ISSU", "SURR", "SUBM", "VOID",
               "CONF", "REQS", "CMPL", "HOLD", "RELS")  # fmt: skip
CLASSIFIERS_22 = ("PLN", "ACT", "EST")
SEAL_SOURCES_22 = ("CAR", "SHI", "PHY", "VET", "CUS")
MODES_22 = ("VESSEL", "RAIL", "TRUCK", "BARGE")


def served_in_22() -> ColumnElement[bool]:
    """The events DCSA 2.2 can carry (the query joins their transport call): equipment events
    of its codes with their empty or laden state, transport events with a call whose mode is
    known, shipment events with a document; each with a time and a 2.2 classifier."""
    return and_(
        Event.event_time.is_not(None),
        or_(Event.classifier.is_(None), Event.classifier.in_(CLASSIFIERS_22)),
        or_(
            and_(Event.event_type == "EQUIPMENT", Event.event_code.in_(EQUIPMENT_22),
                 Event.empty_indicator.in_(("EMPTY", "LADEN"))),
            and_(Event.event_type == "TRANSPORT", Event.event_code.in_(TRANSPORT_22),
                 or_(TransportCall.mode_of_transport.in_(MODES_22),
                     TransportCall.vessel_imo.is_not(None))),
            and_(Event.event_type == "SHIPMENT", Event.event_code.in_(SHIPMENT_22),
                 or_(Event.booking_ref.is_not(None), Event.bl_number.is_not(None))),
        ),
    )  # fmt: skip


def _mode(call: TransportCall) -> str | None:
    if call.mode_of_transport in MODES_22:
        return call.mode_of_transport
    return "VESSEL" if call.vessel_imo else None


def _location_22(event: Event, extra: dict[str, Any]) -> dict[str, Any] | None:
    loc: dict[str, Any] = {}
    if extra.get("location_name"):
        loc["locationName"] = str(extra["location_name"])[:100]
    if event.latitude is not None and event.longitude is not None:
        loc["latitude"] = f"{event.latitude:.5f}"[:10]
        loc["longitude"] = f"{event.longitude:.5f}"[:11]
    if event.unlocode:
        loc["UNLocationCode"] = event.unlocode
    if event.facility_code:
        loc["facilityCode"] = event.facility_code[:6]
        loc["facilityCodeListProvider"] = "SMDG"
    return loc or None


def _call_22(event: Event, call: TransportCall) -> dict[str, Any] | None:
    mode = _mode(call)
    if mode is None:
        return None
    tc: dict[str, Any] = {"transportCallID": call.call_key[:100], "modeOfTransport": mode}
    if call.service_code:
        tc["carrierServiceCode"] = call.service_code[:5]
    if call.voyage:
        tc["exportVoyageNumber"] = call.voyage[:50]
    if event.unlocode:
        tc["UNLocationCode"] = event.unlocode
    if event.facility_code:
        tc["facilityCode"] = event.facility_code[:6]
        tc["facilityCodeListProvider"] = "SMDG"
    if call.vessel_imo:
        tc["vessel"] = {"vesselIMONumber": call.vessel_imo}
        if call.vessel_name:
            tc["vessel"]["vesselName"] = call.vessel_name[:35]
    return tc


def v22(event: Event, call: TransportCall | None) -> dict[str, Any] | None:
    """The event in DCSA T&T 2.2, or None when 2.2 cannot carry it."""
    extra = _extra(event)
    out: dict[str, Any] = {
        "eventID": event_uuid(event.id),
        "eventCreatedDateTime": _time(created(event, extra)),
        "eventType": event.event_type,
        "eventClassifierCode": event.classifier or "ACT",
        "eventDateTime": _time(event.event_time),
    }
    if event.event_time is None or out["eventClassifierCode"] not in CLASSIFIERS_22:
        return None
    documents = _documents(event, extra)
    if event.event_type == "EQUIPMENT":
        if event.empty_indicator not in ("EMPTY", "LADEN") or event.event_code not in EQUIPMENT_22:
            return None
        out["equipmentEventTypeCode"] = event.event_code
        out["emptyIndicatorCode"] = event.empty_indicator
        if event.container:
            out["equipmentReference"] = event.container
        if event.iso_type:
            out["ISOEquipmentCode"] = event.iso_type
        location = _location_22(event, extra)
        if location:
            out["eventLocation"] = location
        seals = [{"sealNumber": s["number"][:15], "sealType": s["type"],
                  **({"sealSource": s["source"]} if s.get("source") in SEAL_SOURCES_22 else {})}
                 for s in _seals(event) if s.get("type") in ("KLP", "BLT", "WIR")]  # fmt: skip
        if seals:
            out["seals"] = seals
        tc = _call_22(event, call) if call is not None else None
        if tc is not None:
            out["transportCall"] = tc
    elif event.event_type == "TRANSPORT":
        tc = _call_22(event, call) if call is not None else None
        if tc is None or event.event_code not in TRANSPORT_22:
            return None
        out["transportEventTypeCode"] = event.event_code
        out["transportCall"] = tc
    elif event.event_type == "SHIPMENT":
        if not documents or event.event_code not in SHIPMENT_22:
            return None
        kind, ref = documents[0]
        own = extra.get("document_type"), extra.get("document_id")
        if own[0] and own[1]:
            kind, ref = str(own[0])[:3], str(own[1])
        out["shipmentEventTypeCode"] = event.event_code
        out["documentTypeCode"] = kind
        out["documentID"] = ref[:100]
    else:
        return None
    if documents:
        out["documentReferences"] = [
            {"documentReferenceType": k, "documentReferenceValue": v[:100]} for k, v in documents
        ]
    if event.container and event.event_type != "EQUIPMENT":
        out["references"] = [{"referenceType": "EQ", "referenceValue": event.container}]
    return out


def v30(event: Event, call: TransportCall | None) -> dict[str, Any]:
    """The event in DCSA T&T 3.0 (every kind fits)."""
    extra = _extra(event)
    kind = event.event_type
    classification: dict[str, Any] = {
        "eventTypeCode": kind, "eventClassifierCode": event.classifier or "ACT",
    }  # fmt: skip
    out: dict[str, Any] = {
        "eventID": event_uuid(event.id),
        "eventDateTime": _time(event.event_time),
        "eventUpdatedDateTime": _time(created(event, extra)),
        "isRetracted": bool(event.retracted),
        "eventClassification": classification,
    }
    if kind == "IOT":
        classification["iotEventTypeCode"] = "DETC"
        if event.event_code:
            out["iotDetails"] = {"iotEventCode": event.event_code}
    elif event.event_code:
        classification[f"{kind.lower()}EventTypeCode"] = event.event_code
    if out["eventDateTime"] is None:
        del out["eventDateTime"]
    location: dict[str, Any] = {}
    if extra.get("location_name"):
        location["locationName"] = str(extra["location_name"])[:100]
    if extra.get("facility_type"):
        location["facilityTypeCode"] = str(extra["facility_type"])[:10]
    if event.unlocode:
        location["UNLocationCode"] = event.unlocode
    if event.facility_code:
        location["facility"] = {"facilityCode": event.facility_code[:6],
                                "facilityCodeListProvider": "SMDG"}  # fmt: skip
    if event.latitude is not None and event.longitude is not None:
        location["geoCoordinate"] = {"latitude": f"{event.latitude:.6f}",
                                     "longitude": f"{event.longitude:.6f}"}  # fmt: skip
    if location:
        out["eventLocation"] = location
    if event.container:
        equipment: dict[str, Any] = {"equipmentReference": event.container}
        if event.iso_type:
            equipment["ISOEquipmentCode"] = event.iso_type
        if event.empty_indicator in ("EMPTY", "LADEN"):
            equipment["emptyIndicatorCode"] = event.empty_indicator
        if extra.get("movement_type"):
            equipment["movementType"] = str(extra["movement_type"])[:10]
        seals = [
            {"number": s["number"][:15], **{k: s[k] for k in ("source", "type") if s.get(k)}}
            for s in _seals(event)
        ]
        if seals:
            equipment["seals"] = seals
        out["equipmentDetails"] = equipment
    documents = _documents(event, extra)
    if documents:
        (k0, v0), rest = documents[0], documents[1:]
        shipment: dict[str, Any] = {"documentReference": {"typeCode": k0, "reference": v0[:35]}}
        if rest:
            shipment["additionalDocumentReferences"] = [
                {"typeCode": k, "reference": v[:35]} for k, v in rest
            ]
        out["shipmentDetails"] = shipment
    if call is not None:
        tc: dict[str, Any] = {"transportCallReference": call.call_key[:100]}
        if call.mode_of_transport:
            tc["modeOfTransport"] = call.mode_of_transport
        if call.voyage:
            tc["exportVoyageNumberOrReference"] = {"carrierVoyageNumber": call.voyage[:50]}
        if call.service_code:
            tc["serviceCodeOrReference"] = {"carrierServiceCode": call.service_code[:11]}
        if call.vessel_imo:
            tc["vesselTransport"] = {"vesselIMONumber": call.vessel_imo}
            if call.vessel_name:
                tc["vesselTransport"]["vesselName"] = call.vessel_name[:50]
        out["transportDetails"] = {"transportCall": tc}
    originator = extra.get("originator")
    if isinstance(originator, str) and originator.count("/") == 2:
        provider, name, code = originator.split("/")
        out["eventRouting"] = {"originatingParty": {
            "partyCode": code, "codeListProvider": provider, "codeListName": name}}  # fmt: skip
    return out
