"""Plausible DCSA Track & Trace 2.2 equipment events, for the demo, tests and benchmarks.

Each container makes export trips: gate-in at an origin terminal, load, discharge at a
transshipment hub, load again, discharge and gate-out at a European port. Container numbers have
valid ISO 6346 check digits; seals follow the carrier's numbering. Deterministic for a seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from cargowatch.ingest.validation import iso6346_check_digit

OWNERS = ("MSKU", "MAEU", "CMAU", "HLXU", "MSCU", "ONEU", "EGLU", "TGHU", "SEGU", "TCNU")
ORIGINS = (("ECGYE", "CGSA", -2.2866, -79.9050), ("ECPSJ", "TPG", -3.2611, -79.9619),
           ("COCTG", "SPRC", 10.3910, -75.5144), ("PECLL", "DPWC", -12.0464, -77.1428),
           ("BRSSZ", "BTP", -23.9608, -46.3336))  # fmt: skip
HUBS = (("PAMIT", "MIT", 9.3547, -79.8820), ("PABLB", "PPC", 8.9500, -79.5667),
        ("ESALG", "APM", 36.1408, -5.4530), ("JMKIN", "KFTL", 17.9714, -76.7931))  # fmt: skip
DESTINATIONS = (("BEANR", "MPET", 51.2700, 4.3500), ("NLRTM", "ECTDT", 51.9500, 4.0500),
                ("DEHAM", "CTA", 53.5300, 9.9400), ("ESVLC", "CSPV", 39.4400, -0.3200),
                ("FRLEH", "TNMSC", 49.4800, 0.1300))  # fmt: skip
VESSELS = (("9321483", "King of the Seas"), ("9811000", "Atlantic Reefer"),
           ("9632179", "Pacific Harmony"), ("9777333", "Maersk Guayaquil"))  # fmt: skip

_TEMPLATE = (
    '{{"eventID":"{id}","eventCreatedDateTime":"{created}","eventType":"EQUIPMENT",'
    '"eventClassifierCode":"ACT","eventDateTime":"{time}","equipmentEventTypeCode":"{code}",'
    '"equipmentReference":"{container}","ISOEquipmentCode":"45R1","emptyIndicatorCode":"LADEN",'
    '"eventLocation":{{"UNLocationCode":"{loc}","facilityCode":"{facility}",'
    '"facilityCodeListProvider":"SMDG","latitude":"{lat}","longitude":"{lon}"}},'
    '"transportCall":{{"transportCallID":"{call}","carrierServiceCode":"AEX","exportVoyageNumber":'
    '"{voyage}","UNLocationCode":"{loc}","modeOfTransport":"VESSEL","vessel":{{"vesselIMONumber":'
    '"{imo}","vesselName":"{vessel}"}}}},"documentReferences":[{{"documentReferenceType":"BKG",'
    '"documentReferenceValue":"{booking}"}}],"seals":[{{"sealNumber":"{seal}","sealSource":"CAR",'
    '"sealType":"BLT"}}]}}'
)


def container_number(rng: random.Random) -> str:
    """A random container number with a valid ISO 6346 check digit."""
    prefix = rng.choice(OWNERS) + f"{rng.randrange(1_000_000):06d}"
    return prefix + str(iso6346_check_digit(prefix))


def equipment_events(n: int, seed: int = 1, start: datetime | None = None) -> Iterator[bytes]:
    """n DCSA 2.2 equipment events as NDJSON lines (bytes, newline included)."""
    rng = random.Random(seed)
    clock = start or datetime(2025, 3, 1, tzinfo=UTC)
    made = 0
    trip = 0
    while made < n:
        trip += 1
        container = container_number(rng)
        booking = f"BKG{seed:02d}{trip:08d}"
        seal = f"ML{rng.randrange(10**7):07d}"
        origin, hub, dest = rng.choice(ORIGINS), rng.choice(HUBS), rng.choice(DESTINATIONS)
        imo, vessel = rng.choice(VESSELS)
        voyage = f"{rng.randrange(100, 999)}N"
        t = clock + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
        legs = ((origin, "GTIN"), (origin, "LOAD"), (hub, "DISC"), (hub, "LOAD"), (dest, "DISC"),
                (dest, "GTOT"))  # fmt: skip
        for (loc, facility, lat, lon), code in legs:
            if made >= n:
                break
            t += timedelta(hours=rng.randrange(4, 240))
            stamp = t.strftime("%Y-%m-%dT%H:%M:%SZ")
            line = _TEMPLATE.format(
                id=uuid.UUID(int=rng.getrandbits(128), version=4), created=stamp, time=stamp,
                code=code, container=container, loc=loc, facility=facility, lat=lat, lon=lon,
                call=f"{loc}-{voyage}", voyage=voyage, imo=imo, vessel=vessel, booking=booking,
                seal=seal,
            )  # fmt: skip
            made += 1
            yield line.encode() + b"\n"
