"""DCSA Track & Trace 2.2 and 3.0 events (JSON array, {"events": [...]} or NDJSON).

Shapes and code lists follow ../shared/fixtures/dcsa/tnt/TNT_v2.2.0-resolved.yaml and
TNT_v3.0.0.yaml. Unknown fields are ignored (and noted once per source). Equipment event codes
accept the whole DCSA reference list (CUSS, CUSI, CUSR, AVPU, AVDO, CROS, WAYP beside the 2.2
enum), since customs events are what targeting needs most.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import IO, Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from cargowatch.ingest.adapters.base import (
    ADAPTERS,
    Adapter,
    EventRow,
    RecordError,
    Retract,
    SourceRecord,
    TransportCall,
    record_error_from_msgspec,
)
from cargowatch.ingest.records import json_records
from cargowatch.ingest.validation import container_warning, implausible_year, is_unlocode

AwareTime = str  # checked by utc_text(), which names the field and the expected shape
Classifier = Literal["ACT", "PLN", "EST"]
EquipmentCode = Literal[
    "LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD",
    "AVPU", "AVDO", "CUSS", "CUSI", "CUSR", "CROS", "WAYP",
]  # fmt: skip
TransportCode = Literal["ARRI", "DEPA"]
ShipmentCode22 = Literal[
    "RECE", "DRFT", "PENA", "PENU", "REJE", "APPR", "ISSU", "SURR", "SUBM", "VOID", "CONF",
    "REQS", "CMPL", "HOLD", "RELS",
]  # fmt: skip
ShipmentCode30 = Literal[
    "AMCF", "AMCN", "AMDC", "AMPR", "AMRE", "APPR", "CACF", "CADC", "CANC", "CARE", "CMPL",
    "CONF", "DECL", "DRFT", "HOLD", "ISSU", "PENA", "PENM", "PENU", "PSAM", "PSDL", "RECE",
    "REJE", "RELS", "REQS", "SUAM", "SUBM", "SUDL", "SURR", "UPCF", "UPCN", "UPDC", "UPDT",
    "UPRE", "VOID",
]  # fmt: skip
DocumentType22 = Literal[
    "CBR", "BKG", "SHI", "SRM", "TRD", "ARN", "VGM", "CAS", "CUS", "DGD", "OOG"
]
Mode = Literal["VESSEL", "RAIL", "TRUCK", "BARGE"]
SealType = Literal["KLP", "BLT", "WIR"]
Coordinate = str | float
Str5 = Annotated[str, Meta(max_length=5)]
Str35 = Annotated[str, Meta(max_length=35)]
Str50 = Annotated[str, Meta(max_length=50)]
Str100 = Annotated[str, Meta(max_length=100)]

# ---------------------------------------------------------------- 2.2


class Seal22(Struct, gc=False):
    sealNumber: Annotated[str, Meta(max_length=15)]
    sealType: SealType
    sealSource: Literal["CAR", "SHI", "PHY", "VET", "CUS"] | None = None


class Vessel22(Struct, gc=False):
    vesselIMONumber: Annotated[str, Meta(max_length=7)] | None = None
    vesselName: Str35 | None = None
    vesselFlag: str | None = None
    vesselCallSignNumber: str | None = None
    vesselOperatorCarrierCode: str | None = None


class Location22(Struct, gc=False):
    locationName: Str100 | None = None
    latitude: Coordinate | None = None
    longitude: Coordinate | None = None
    UNLocationCode: Str5 | None = None
    facilityCode: Annotated[str, Meta(max_length=6)] | None = None
    facilityCodeListProvider: str | None = None


class TransportCall22(Struct, gc=False):
    transportCallID: Str100 | None = None
    carrierServiceCode: Str5 | None = None
    exportVoyageNumber: Str50 | None = None
    importVoyageNumber: Str50 | None = None
    transportCallSequenceNumber: int | None = None
    UNLocationCode: Str5 | None = None
    facilityCode: Annotated[str, Meta(max_length=6)] | None = None
    facilityTypeCode: (
        Literal[
            "BOCR", "CLOC", "COFS", "COYA", "OFFD", "DEPO", "INTE", "POTE", "PBPL", "BRTH", "RAMP"
        ]
        | None
    ) = None
    otherFacility: Str50 | None = None
    modeOfTransport: Mode | None = None
    location: Location22 | None = None
    vessel: Vessel22 | None = None


class DocumentReference22(Struct, gc=False):
    documentReferenceType: Literal["BKG", "TRD"]
    documentReferenceValue: Str100


class Reference22(Struct, gc=False):
    referenceType: str
    referenceValue: str


class Event22(Struct, gc=False):
    eventCreatedDateTime: AwareTime
    eventType: Literal["EQUIPMENT", "TRANSPORT", "SHIPMENT"]
    eventClassifierCode: Classifier
    eventDateTime: AwareTime
    eventID: Str100 | None = None
    equipmentEventTypeCode: EquipmentCode | None = None
    transportEventTypeCode: TransportCode | None = None
    shipmentEventTypeCode: ShipmentCode22 | None = None
    equipmentReference: Annotated[str, Meta(max_length=15)] | None = None
    ISOEquipmentCode: Annotated[str, Meta(max_length=4)] | None = None
    emptyIndicatorCode: Literal["EMPTY", "LADEN"] | None = None
    eventLocation: Location22 | None = None
    transportCall: TransportCall22 | None = None
    documentReferences: list[DocumentReference22] | None = None
    references: list[Reference22] | None = None
    seals: list[Seal22] | None = None
    documentID: Str100 | None = None
    documentTypeCode: DocumentType22 | None = None
    delayReasonCode: Annotated[str, Meta(max_length=3)] | None = None


# ---------------------------------------------------------------- 3.0


class Seal30(Struct, gc=False):
    number: Annotated[str, Meta(max_length=15)]
    source: Literal["CAR", "CNS", "CST", "CUS", "PHY", "SHI", "TER", "VET"] | None = None
    type: SealType | None = None
    placement: Literal["DOOR", "VENT"] | None = None


class Party30(Struct, gc=False):
    partyCode: Annotated[str, Meta(max_length=150)] | None = None
    codeListProvider: str | None = None
    codeListName: str | None = None
    partyFunction: str | None = None


class Routing30(Struct, gc=False):
    originatingParty: Party30 | None = None


class Facility30(Struct, gc=False):
    facilityCode: Annotated[str, Meta(max_length=6)] | None = None
    facilityName: Str100 | None = None
    facilityCodeListProvider: str | None = None


class Geo30(Struct, gc=False):
    latitude: Coordinate
    longitude: Coordinate


class Location30(Struct, gc=False):
    locationName: Str100 | None = None
    facilityTypeCode: (
        Literal["BORD", "CLOC", "COFS", "OFFD", "DEPO", "INTE", "POTE", "RAMP", "WAYP"] | None
    ) = None
    UNLocationCode: Str5 | None = None
    facility: Facility30 | None = None
    geoCoordinate: Geo30 | None = None


class Classification30(Struct, gc=False):
    eventTypeCode: Literal["SHIPMENT", "TRANSPORT", "EQUIPMENT", "IOT", "REEFER"]
    eventClassifierCode: Classifier
    shipmentEventTypeCode: ShipmentCode30 | None = None
    transportEventTypeCode: TransportCode | None = None
    equipmentEventTypeCode: EquipmentCode | None = None
    iotEventTypeCode: Literal["DETC"] | None = None
    reeferEventTypeCode: Literal["MEAS", "ADJU"] | None = None


class DocRef30(Struct, gc=False):
    typeCode: str
    reference: Str100


class ShipmentDetails30(Struct, gc=False):
    documentReference: DocRef30 | None = None
    additionalDocumentReferences: list[DocRef30] | None = None


class EquipmentDetails30(Struct, gc=False):
    equipmentReference: Annotated[str, Meta(max_length=11)] | None = None
    ISOEquipmentCode: Annotated[str, Meta(max_length=4)] | None = None
    emptyIndicatorCode: Literal["EMPTY", "LADEN"] | None = None
    movementType: Literal["IMPORT", "EXPORT", "TRANSSHIPMENT"] | None = None
    seals: list[Seal30] | None = None


class ServiceRef30(Struct, gc=False):
    carrierServiceCode: Annotated[str, Meta(max_length=11)] | None = None
    universalServiceReference: str | None = None


class VoyageRef30(Struct, gc=False):
    carrierVoyageNumber: Str50 | None = None
    universalVoyageReference: str | None = None


class Vessel30(Struct, gc=False):
    vesselIMONumber: Annotated[str, Meta(max_length=8)] | None = None
    vesselName: Annotated[str, Meta(max_length=50)] | None = None
    vesselFlag: str | None = None
    vesselCallSign: str | None = None


class TransportCall30(Struct, gc=False):
    transportCallReference: Str100 | None = None
    transportCallSequenceNumber: int | None = None
    modeOfTransport: Mode | None = None
    serviceCodeOrReference: ServiceRef30 | None = None
    exportVoyageNumberOrReference: VoyageRef30 | None = None
    importVoyageNumberOrReference: VoyageRef30 | None = None
    vesselTransport: Vessel30 | None = None


class TransportDetails30(Struct, gc=False):
    transportCall: TransportCall30 | None = None


class IotDetails30(Struct, gc=False):
    iotEventCode: Literal["DRC", "DRO", "LOC"] | None = None


class Probe30(Struct, gc=False):
    measuredTemperatureValue: float
    USDAProbeNumber: int | None = None


class ReeferDetails30(Struct, omit_defaults=True, gc=False):
    temperatureUnit: Literal["CEL", "FAH"] | None = None
    internalSetpointTemperature: float | None = None
    ambientMeasuredTemperature: float | None = None
    temperatureProbeMeasurements: list[Probe30] | None = None
    setpointParameters: dict[str, float | bool | str] | None = None
    measuredParameters: dict[str, float | bool | str] | None = None


class Event30(Struct, gc=False):
    eventID: Annotated[str, Meta(max_length=500)] | None = None
    eventRouting: Routing30 | None = None
    isRetracted: bool | None = None
    retractedEventID: Annotated[str, Meta(max_length=500)] | None = None
    eventDateTime: AwareTime | None = None
    eventUpdatedDateTime: AwareTime | None = None
    eventCreatedDateTime: AwareTime | None = None
    eventLocation: Location30 | None = None
    eventClassification: Classification30 | None = None
    shipmentDetails: ShipmentDetails30 | None = None
    transportDetails: TransportDetails30 | None = None
    equipmentDetails: EquipmentDetails30 | None = None
    iotDetails: IotDetails30 | None = None
    reeferDetails: ReeferDetails30 | None = None


# ---------------------------------------------------------------- conversion

_dec22 = msgspec.json.Decoder(Event22)
_dec30 = msgspec.json.Decoder(Event30)
_enc = msgspec.json.Encoder()
_FIELDS22 = frozenset(Event22.__struct_fields__) | {
    "eventTypeCode", "transportCallID", "references", "changeRemark", "reason",
    "vesselScheduleChangeRemark", "shipmentInformationTypeCode", "shipmentID",
}  # fmt: skip
_FIELDS30 = frozenset(Event30.__struct_fields__)


_RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@lru_cache(maxsize=8192)
def _real_day(day: str) -> bool:
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def check_time(value: str, field: str) -> None:
    """Raise RecordError unless value is an ISO 8601 date-time with an offset, in a year a
    container event can have."""
    if not _RFC3339.match(value) or not _real_day(value[:10]):
        raise RecordError(
            field,
            f"expected an ISO 8601 date-time with an offset (2025-03-01T04:10:00Z), got {value!r}",
        )
    problem = implausible_year(int(value[:4]))
    if problem:
        raise RecordError(field, f"{problem}: {value!r}")


def utc_text(value: str, field: str) -> str:
    """The stored form of an ISO 8601 time with offset: UTC 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    check_time(value, field)
    if len(value) == 20 and value[19] in "Zz":  # the common case, without building a datetime
        return f"{value[:10]} {value[11:19]}.000000"
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    return parsed.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _coordinate(value: Coordinate | None, field: str, limit: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise RecordError(field, f"expected a decimal number of degrees, got {value!r}") from None
    if not -limit <= number <= limit:
        raise RecordError(field, f"expected degrees between -{limit:g} and {limit:g}, got {value}")
    return number


def _unlocode(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not is_unlocode(value):
        raise RecordError(
            field,
            f"expected a UN/LOCODE (a UN/LOCODE country + 3 of A-Z, 2-9), got {value!r}",
        )
    return value


def _key(raw: bytes, event_id: str | None) -> str:
    if event_id:
        return event_id
    import hashlib

    return "sha1:" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _extra(**values: object) -> str | None:
    """The rarely queried attributes as one JSON object (None when there are none)."""
    present = {k: v for k, v in values.items() if v is not None}
    return _enc.encode(present).decode() if present else None


def _call(
    ref: str | None,
    mode: str | None,
    imo: str | None,
    vessel: str | None,
    voyage: str | None,
    service: str | None,
) -> TransportCall | None:
    """The transport call an event belongs to, keyed by its reference or vessel and voyage."""
    key = ref or (f"{imo or ''}/{voyage or ''}/{service or ''}" if imo or voyage else None)
    if key is None:
        return None
    return (key, mode, imo, vessel, voyage, service)


def _require(value: object, field: str, event_type: str) -> None:
    if value is None:
        raise RecordError(field, f"required for {event_type} events")


def convert_22(raw: bytes, fmt: str) -> EventRow:
    """One DCSA 2.2 event as a canonical row."""
    try:
        ev = _dec22.decode(raw)
    except msgspec.MsgspecError as exc:
        raise record_error_from_msgspec(exc, Event22) from None
    if ev.eventID is not None and not _UUID.match(ev.eventID):
        raise RecordError("eventID", f"expected a UUID as DCSA 2.2 defines it, got {ev.eventID!r}")
    etype = ev.eventType
    code: str | None
    if etype == "EQUIPMENT":
        _require(ev.equipmentEventTypeCode, "equipmentEventTypeCode", etype)
        _require(ev.emptyIndicatorCode, "emptyIndicatorCode", etype)
        code = ev.equipmentEventTypeCode
    elif etype == "TRANSPORT":
        _require(ev.transportEventTypeCode, "transportEventTypeCode", etype)
        _require(ev.transportCall, "transportCall", etype)
        code = ev.transportEventTypeCode
    else:
        _require(ev.shipmentEventTypeCode, "shipmentEventTypeCode", etype)
        _require(ev.documentID, "documentID", etype)
        _require(ev.documentTypeCode, "documentTypeCode", etype)
        code = ev.shipmentEventTypeCode

    container = ev.equipmentReference
    if container is None and ev.references:
        for ref in ev.references:
            if ref.referenceType == "EQ":
                container = ref.referenceValue
                break
    warnings = container_warning(container) if container else None

    loc = ev.eventLocation
    tc = ev.transportCall
    if loc is None and tc is not None:
        loc = tc.location
    unlocode = lat = lon = facility = name = None
    if loc is not None:
        unlocode = _unlocode(loc.UNLocationCode, "eventLocation.UNLocationCode")
        lat = _coordinate(loc.latitude, "eventLocation.latitude", 90)
        lon = _coordinate(loc.longitude, "eventLocation.longitude", 180)
        facility = loc.facilityCode
        name = loc.locationName

    booking = bl = None
    if ev.documentReferences:
        for doc in ev.documentReferences:
            if doc.documentReferenceType == "BKG":
                booking = doc.documentReferenceValue
            else:
                bl = doc.documentReferenceValue
    if ev.documentTypeCode == "BKG" and booking is None:
        booking = ev.documentID
    elif ev.documentTypeCode == "TRD" and bl is None:
        bl = ev.documentID

    seals = None
    if ev.seals:
        seals = _enc.encode(
            [{"number": s.sealNumber, "source": s.sealSource, "type": s.sealType} for s in ev.seals]
        ).decode()

    tc_ref = mode = imo = vname = voyage = service = facility_type = None
    if tc is not None:
        unlocode = unlocode or _unlocode(tc.UNLocationCode, "transportCall.UNLocationCode")
        facility = facility or tc.facilityCode
        facility_type = tc.facilityTypeCode
        tc_ref = tc.transportCallID
        mode = tc.modeOfTransport
        voyage = tc.exportVoyageNumber
        service = tc.carrierServiceCode
        if tc.vessel is not None:
            imo = tc.vessel.vesselIMONumber
            vname = tc.vessel.vesselName

    check_time(ev.eventCreatedDateTime, "eventCreatedDateTime")  # kept in the raw record only
    extra = None
    if facility_type or name or ev.documentID:
        extra = _extra(
            facility_type=facility_type, location_name=name,
            document_type=ev.documentTypeCode, document_id=ev.documentID,
        )  # fmt: skip
    return (
        _key(raw, ev.eventID), fmt, etype, code, ev.eventClassifierCode,
        utc_text(ev.eventDateTime, "eventDateTime"),
        container, ev.ISOEquipmentCode, ev.emptyIndicatorCode,
        unlocode, facility, lat, lon, seals, booking, bl, warnings, extra,
        _call(tc_ref, mode, imo, vname, voyage, service),
    )  # fmt: skip


def convert_30(raw: bytes, fmt: str) -> EventRow | Retract:
    """One DCSA 3.0 event as a canonical row, or a retraction."""
    try:
        ev = _dec30.decode(raw)
    except msgspec.MsgspecError as exc:
        raise record_error_from_msgspec(exc, Event30) from None
    if ev.isRetracted or ev.retractedEventID:
        target = ev.retractedEventID or ev.eventID
        if not target:
            raise RecordError("eventID", "a retraction must name the event it retracts")
        when = ev.eventUpdatedDateTime or ev.eventDateTime
        return Retract(target, utc_text(when, "eventUpdatedDateTime") if when else None)
    cls = ev.eventClassification
    if cls is None:
        raise RecordError("eventClassification", "required (eventTypeCode, eventClassifierCode)")
    if ev.eventDateTime is None:
        raise RecordError("eventDateTime", "required: when the event happened, with an offset")
    etype = cls.eventTypeCode
    code: str | None = {
        "SHIPMENT": cls.shipmentEventTypeCode,
        "TRANSPORT": cls.transportEventTypeCode,
        "EQUIPMENT": cls.equipmentEventTypeCode,
        "IOT": cls.iotEventTypeCode,
        "REEFER": cls.reeferEventTypeCode,
    }[etype]
    if code is None:
        raise RecordError(
            f"eventClassification.{etype.lower()}EventTypeCode",
            f"required for {etype} events",
        )
    eq = ev.equipmentDetails
    container = eq.equipmentReference if eq is not None else None
    if etype in ("EQUIPMENT", "IOT", "REEFER") and not container:
        raise RecordError("equipmentDetails.equipmentReference", f"required for {etype} events")
    warnings = container_warning(container) if container else None

    loc = ev.eventLocation
    unlocode = lat = lon = facility = name = facility_type = None
    if loc is not None:
        unlocode = _unlocode(loc.UNLocationCode, "eventLocation.UNLocationCode")
        if loc.geoCoordinate is not None:
            lat = _coordinate(
                loc.geoCoordinate.latitude, "eventLocation.geoCoordinate.latitude", 90
            )
            lon = _coordinate(
                loc.geoCoordinate.longitude, "eventLocation.geoCoordinate.longitude", 180
            )
        facility = loc.facility.facilityCode if loc.facility else None
        facility_type = loc.facilityTypeCode
        name = loc.locationName

    booking = bl = doc_type = doc_id = None
    sd = ev.shipmentDetails
    if sd is not None:
        refs = ([sd.documentReference] if sd.documentReference else []) + list(
            sd.additionalDocumentReferences or ()
        )
        for ref in refs:
            if ref.typeCode == "BKG" and booking is None:
                booking = ref.reference
            elif ref.typeCode == "TRD" and bl is None:
                bl = ref.reference
        if sd.documentReference is not None:
            doc_type = sd.documentReference.typeCode[:3]
            doc_id = sd.documentReference.reference

    seals = iso = empty = movement = None
    if eq is not None:
        iso, empty, movement = eq.ISOEquipmentCode, eq.emptyIndicatorCode, eq.movementType
        if eq.seals:
            seals = _enc.encode(
                [{"number": s.number, "source": s.source, "type": s.type} for s in eq.seals]
            ).decode()

    tc_ref = mode = imo = vname = voyage = service = None
    td = ev.transportDetails
    if td is not None and td.transportCall is not None:
        tc = td.transportCall
        tc_ref, mode = tc.transportCallReference, tc.modeOfTransport
        if tc.exportVoyageNumberOrReference is not None:
            voyage = tc.exportVoyageNumberOrReference.carrierVoyageNumber
        if tc.serviceCodeOrReference is not None:
            service = tc.serviceCodeOrReference.carrierServiceCode
        if tc.vesselTransport is not None:
            imo, vname = tc.vesselTransport.vesselIMONumber, tc.vesselTransport.vesselName

    details = None
    if etype == "IOT":
        details = _enc.encode({"iot_code": ev.iotDetails.iotEventCode if ev.iotDetails else None})
    elif etype == "REEFER" and ev.reeferDetails is not None:
        details = _enc.encode(ev.reeferDetails)
    if etype == "IOT" and ev.iotDetails is not None and ev.iotDetails.iotEventCode:
        code = ev.iotDetails.iotEventCode  # DRO / DRC / LOC says more than DETC

    originator = None
    if ev.eventRouting is not None and ev.eventRouting.originatingParty is not None:
        party = ev.eventRouting.originatingParty
        originator = "/".join(
            p for p in (party.codeListProvider, party.codeListName, party.partyCode) if p
        )

    created = ev.eventCreatedDateTime or ev.eventUpdatedDateTime
    if created:
        check_time(created, "eventCreatedDateTime")
    extra = _extra(
        movement_type=movement, facility_type=facility_type, location_name=name,
        document_type=doc_type, document_id=doc_id, originator=originator,
        details=msgspec.Raw(details) if details else None,
        updated=utc_text(ev.eventUpdatedDateTime, "eventUpdatedDateTime")
        if ev.eventUpdatedDateTime else None,
    )  # fmt: skip
    return (
        _key(raw, ev.eventID), fmt, etype, code, cls.eventClassifierCode,
        utc_text(ev.eventDateTime, "eventDateTime"),
        container, iso, empty, unlocode, facility, lat, lon, seals, booking, bl, warnings, extra,
        _call(tc_ref, mode, imo, vname, voyage, service),
    )  # fmt: skip


_MARKERS_30 = (b'"eventClassification"', b'"isRetracted"', b'"retractedEventID"')


def _version_of(raw: bytes) -> str | None:
    """The version a record declares by its fields, if it does."""
    if any(marker in raw for marker in _MARKERS_30):
        return "dcsa-tnt-3.0"
    if b'"eventType"' in raw and b'"eventCreatedDateTime"' in raw:
        return "dcsa-tnt-2.2"
    return None


class DcsaTrackAndTrace(Adapter):
    """DCSA Track & Trace events, versions 2.2 and 3.0, told apart record by record."""

    name = "dcsa-tnt"
    formats = ("dcsa-tnt-2.2", "dcsa-tnt-3.0")

    def sniff(self, head: bytes) -> str | None:
        return _version_of(head)

    def records(self, stream: IO[bytes], fmt: str) -> Iterator[SourceRecord]:
        return json_records(stream, ("events",))

    def convert(
        self, record: SourceRecord, fmt: str, strict: bool
    ) -> EventRow | Retract | list[EventRow]:
        raw = record.raw
        if fmt == self.name:
            fmt, strict = _version_of(raw) or "dcsa-tnt-2.2", False
        read = convert_30 if fmt == "dcsa-tnt-3.0" else convert_22
        try:
            return read(raw, fmt)
        except RecordError:
            # A record of the other version in a mixed feed: read it as what it says it is.
            other = None if strict else _version_of(raw)
            if other is None or other == fmt:
                raise
            return (convert_30 if other == "dcsa-tnt-3.0" else convert_22)(raw, other)

    def note_unknown_fields(self, record: SourceRecord, fmt: str) -> list[str]:
        try:
            obj = msgspec.json.decode(record.raw)
        except msgspec.DecodeError:
            return []
        if not isinstance(obj, dict):
            return []
        known = _FIELDS30 if b'"eventClassification"' in record.raw else _FIELDS22
        return sorted(k for k in obj if k not in known)


ADAPTERS.register(DcsaTrackAndTrace.name, DcsaTrackAndTrace())
