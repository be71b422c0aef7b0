"""Writing a simulated trip in every format cargowatch reads: DCSA Track & Trace 2.2 and 3.0,
EDIFACT CODECO/COARRI, eBL 3.0 documents, smart-container telemetry, manifest and release rows."""

from __future__ import annotations

import random
import uuid
import zlib
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from cargowatch.simulate.model import CARRIER_FORMAT, TERMINAL_CODES, Move, SimConfig, Trip, iso
from cargowatch.simulate.world import World
from cargowatch.simulate.writers import Csv, Interchange, Rotating, dumps


class Writing:
    """The writers of a Simulation (a mixin: the simulation holds the files and counters)."""

    c: SimConfig
    rng: random.Random
    world: World
    files: dict[str, Any]
    noise: Counter[str]
    expected: Counter[str]
    msg_ref: int
    tnt22: dict[str, Rotating]
    tnt30: dict[str, Rotating]
    edi: dict[str, Interchange]
    telemetry: Rotating
    ebl: Rotating
    csv: dict[str, Csv]
    out: Any

    def write_iot(self, t: Trip) -> None:
        """The carrier's own IoT platform reports door openings (DCSA 3.0 IoT DRO) and, for
        reefers, daily measurements (REEFER MEAS)."""
        rng = self.rng
        writer = self.tnt30[t.carrier.code]
        routing = {
            "originatingParty": {
                "partyCode": t.carrier.code,
                "codeListProvider": "SMDG",
                "codeListName": "LCL",
            }
        }
        records: list[dict[str, Any]] = []
        for when, lat, lon, _ok in sorted(t.door_opens):
            records.append(
                {
                    "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "eventRouting": routing,
                    "eventDateTime": iso(when),
                    "eventUpdatedDateTime": iso(when + timedelta(minutes=2)),
                    "eventLocation": {
                        "geoCoordinate": {"latitude": f"{lat:.5f}", "longitude": f"{lon:.5f}"}
                    },
                    "eventClassification": {
                        "eventTypeCode": "IOT",
                        "eventClassifierCode": "ACT",
                        "iotEventTypeCode": "DETC",
                    },
                    "equipmentDetails": {
                        "equipmentReference": t.container,
                        "ISOEquipmentCode": t.iso,
                    },
                    "iotDetails": {"iotEventCode": "DRO"},
                }
            )
        if t.reefer:
            setpoint = (
                13.3 if t.commodity[0] == "080390" else -18.0 if t.commodity[0] == "030617" else 4.0
            )
            load = next(m for m in t.moves if m.code == "LOAD")
            disc = [m for m in t.moves if m.code == "DISC"][-1]
            when = load.when + timedelta(hours=6)
            while when < disc.when:
                records.append(
                    {
                        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "eventRouting": routing,
                        "eventDateTime": iso(when),
                        "eventUpdatedDateTime": iso(when + timedelta(minutes=5)),
                        "eventClassification": {
                            "eventTypeCode": "REEFER",
                            "eventClassifierCode": "ACT",
                            "reeferEventTypeCode": "MEAS",
                        },
                        "equipmentDetails": {
                            "equipmentReference": t.container,
                            "ISOEquipmentCode": t.iso,
                        },
                        "reeferDetails": {
                            "temperatureUnit": "CEL",
                            "internalSetpointTemperature": setpoint,
                            "temperatureProbeMeasurements": [
                                {
                                    "USDAProbeNumber": i,
                                    "measuredTemperatureValue": round(
                                        setpoint + rng.gauss(0, 0.3), 1
                                    ),
                                }
                                for i in (1, 2)
                            ],
                        },
                    }
                )
                when += timedelta(hours=48)
        for record in records:
            writer.write(dumps(record))
            self.expected["events"] += 1

    def reporter(self, t: Trip, move: Move) -> str:
        if (
            move.site is not None
            and move.site.site_id in self.world.edifact_terminals
            and (move.code in TERMINAL_CODES)
        ):
            return "edifact"
        return CARRIER_FORMAT[t.carrier.code]

    def write_move(self, t: Trip, move: Move) -> None:
        rng = self.rng
        self.expected["moves_reported"] += 1
        kind = self.reporter(t, move)
        if kind == "edifact":
            self.write_edifact(t, move)
            self.expected["events"] += 1
            return
        created = move.when + timedelta(minutes=rng.randrange(1, 90))
        if rng.random() < self.c.late_rate:
            created += timedelta(days=rng.uniform(1, 5))
            self.noise["late_events"] += 1
        malformed = rng.random() < self.c.malformed_rate
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if kind == "2.2":
            text = dumps(self.event22(t, move, event_id, created, malformed))
            writer: Rotating = self.tnt22[t.carrier.code]
        else:
            text = dumps(self.event30(t, move, event_id, created, malformed))
            writer = self.tnt30[t.carrier.code]
        writer.write(text, malformed=malformed)
        if malformed:
            self.expected["quarantined"] += 1
            self.noise["malformed_records"] += 1
            return
        self.expected["events"] += 1
        if rng.random() < self.c.duplicate_rate:
            writer.write(text)
            self.expected["duplicates"] += 1
            self.noise["duplicated_events"] += 1

    def location22(self, move: Move) -> dict[str, Any]:
        loc: dict[str, Any] = {"UNLocationCode": move.port.locode}
        site = move.site
        if site is not None:
            loc["latitude"], loc["longitude"] = f"{site.lat}", f"{site.lon}"
            if site.kind == "TERMINAL":
                loc["facilityCode"], loc["facilityCodeListProvider"] = site.code, "SMDG"
            else:
                loc["locationName"] = site.site_id
        elif move.at is not None:
            loc["latitude"], loc["longitude"] = f"{move.at[0]:.5f}", f"{move.at[1]:.5f}"
        return loc

    def event22(
        self, t: Trip, m: Move, event_id: str, created: datetime, malformed: bool
    ) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "eventID": event_id,
            "eventCreatedDateTime": iso(created),
            "eventType": "EQUIPMENT",
            "eventClassifierCode": "ACT",
            "eventDateTime": "2025-02-30 25:61" if malformed else iso(m.when),
            "equipmentEventTypeCode": m.code,
            "equipmentReference": m.container or t.container,
            "ISOEquipmentCode": m.iso or t.iso,
            "emptyIndicatorCode": "EMPTY" if m.empty else "LADEN",
            "eventLocation": self.location22(m),
        }
        if t.booking:  # an empty repositioning leg has no booking
            ev["documentReferences"] = [
                {"documentReferenceType": "BKG", "documentReferenceValue": t.booking},
                {"documentReferenceType": "TRD", "documentReferenceValue": t.bl},
            ]
        if m.vessel is not None:
            imo, name, voyage = m.vessel
            ev["transportCall"] = {
                "transportCallID": f"{m.port.locode}-{voyage}-{imo}",
                "carrierServiceCode": "AEX",
                "exportVoyageNumber": voyage,
                "UNLocationCode": m.port.locode,
                "modeOfTransport": "VESSEL",
                "vessel": {"vesselIMONumber": imo, "vesselName": name},
            }
        if m.seals:
            ev["seals"] = [
                {
                    "sealNumber": s,
                    "sealSource": m.seal_source if i == 0 else "CAR",
                    "sealType": "BLT",
                }
                for i, s in enumerate(m.seals)
            ]
        return ev

    def event30(
        self, t: Trip, m: Move, event_id: str, created: datetime, malformed: bool
    ) -> dict[str, Any]:
        loc: dict[str, Any] = {"UNLocationCode": m.port.locode}
        if m.site is not None:
            loc["geoCoordinate"] = {"latitude": f"{m.site.lat}", "longitude": f"{m.site.lon}"}
            if m.site.kind == "TERMINAL":
                loc["facility"] = {"facilityCode": m.site.code, "facilityCodeListProvider": "SMDG"}
                loc["facilityTypeCode"] = "POTE"
            else:
                loc["locationName"] = m.site.site_id
                loc["facilityTypeCode"] = "DEPO" if m.site.kind == "DEPOT" else "CLOC"
        elif m.at is not None:
            loc["geoCoordinate"] = {"latitude": f"{m.at[0]:.5f}", "longitude": f"{m.at[1]:.5f}"}
        ev: dict[str, Any] = {
            "eventID": event_id,
            "eventRouting": {
                "originatingParty": {
                    "partyCode": t.carrier.code,
                    "codeListProvider": "SMDG",
                    "codeListName": "LCL",
                }
            },
            "eventDateTime": "yesterday noon" if malformed else iso(m.when),
            "eventUpdatedDateTime": iso(created),
            "eventLocation": loc,
            "eventClassification": {
                "eventTypeCode": "EQUIPMENT",
                "eventClassifierCode": "ACT",
                "equipmentEventTypeCode": m.code,
            },
            "equipmentDetails": {
                "equipmentReference": m.container or t.container,
                "ISOEquipmentCode": m.iso or t.iso,
                "emptyIndicatorCode": "EMPTY" if m.empty else "LADEN",
            },
        }
        if t.booking:
            ev["shipmentDetails"] = {
                "documentReference": {"typeCode": "BKG", "reference": t.booking},
                "additionalDocumentReferences": [{"typeCode": "TRD", "reference": t.bl}],
            }
        if m.seals:
            ev["equipmentDetails"]["seals"] = [
                {"number": s, "source": m.seal_source if i == 0 else "CAR", "type": "BLT"}
                for i, s in enumerate(m.seals)
            ]
        if m.vessel is not None:
            imo, name, voyage = m.vessel
            ev["transportDetails"] = {
                "transportCall": {
                    "transportCallReference": f"{m.port.locode}-{voyage}-{imo}",
                    "modeOfTransport": "VESSEL",
                    "exportVoyageNumberOrReference": {"carrierVoyageNumber": voyage},
                    "vesselTransport": {"vesselIMONumber": imo, "vesselName": name},
                }
            }
        return ev

    def write_edifact(self, t: Trip, m: Move) -> None:
        assert m.site is not None
        sender = f"{m.port.locode}{m.site.code}"
        writer = self.edi.get(m.site.site_id)
        if writer is None:
            writer = self.edi[m.site.site_id] = Interchange(
                self.out / "edifact", f"{m.site.site_id.lower()}", self.files, sender
            )
        self.msg_ref += 1
        ref = f"M{self.msg_ref}"
        stamp = m.when.strftime("%Y%m%d%H%M")
        if m.code in ("GTIN", "GTOT"):
            segs = [
                f"UNH+{ref}+CODECO:D:95B:UN:SMDG16",
                f"BGM+{34 if m.code == 'GTIN' else 36}+D{ref}+9",
                f"NAD+CF+{t.carrier.code}:160:20",
                f"EQD+CN+{m.container or t.container}+{m.iso or t.iso}:102:5++2+"
                f"{4 if m.empty else 5}",
                *([f"RFF+BN:{t.booking}"] if t.booking else []),
                f"DTM+7:{stamp}:203",
                f"LOC+165+{m.port.locode}:139:6+{m.site.code}:TER:ZZZ",
            ]
        else:
            assert m.vessel is not None
            imo, name, voyage = m.vessel
            segs = [
                f"UNH+{ref}+COARRI:D:95B:UN:ITG13",
                f"BGM+{46 if m.code == 'LOAD' else 44}+D{ref}+9",
                f"TDT+20+{voyage}+1++{t.carrier.code}:172:20+++{imo}:146::{name}",
                f"LOC+{9 if m.code == 'LOAD' else 11}+{m.port.locode}:139:6+{m.site.code}:TER:ZZZ",
                f"NAD+CF+{t.carrier.code}:172:20",
                f"EQD+CN+{m.container or t.container}+{m.iso or t.iso}:102:5++2+"
                f"{4 if m.empty else 5}",
                *([f"RFF+BN:{t.booking}"] if t.booking else []),
                f"DTM+203:{stamp}:203",
                f"LOC+147+{self.rng.randrange(10, 99)}{self.rng.randrange(10, 99)}82::5",
            ]
        segs += [f"SEL+{s}+CA" for s in m.seals]
        segs.append("CNT+16:1")
        segs.append(f"UNT+{len(segs) + 1}+{ref}")
        writer.write("".join(s + "'" for s in segs))

    def write_manifest(self, t: Trip) -> None:
        declared = list(t.declared)
        if self.rng.random() < self.c.seal_typo_rate:
            s = declared[0]
            i = self.rng.randrange(2, len(s) - 1)
            declared[0] = s[:i] + s[i + 1] + s[i] + s[i + 2 :]
            if declared[0] != s:
                self.noise["seal_typos_in_declarations"] += 1
        vessel = next(m.vessel for m in t.moves if m.vessel)
        assert vessel is not None
        hs, desc, kg = t.commodity
        self.csv["manifest"].row(
            (
                t.booking,
                t.bl,
                t.container,
                t.iso,
                t.shipper,
                t.consignee,
                t.notify,
                t.forwarder,
                t.carrier.code,
                hs,
                desc,
                kg + self.rng.randrange(-2000, 2000),
                t.origin.locode,
                t.origin.locode,
                t.dest.locode,
                t.dest.locode,
                t.hub.locode if t.hub else None,
                vessel[0],
                vessel[2],
                ";".join(declared),
                iso(t.booked_at),
            )
        )

    def truck_of(self, haulier: str) -> str:
        """One of the haulier's trucks: a fleet of 4 to 30, each collecting box after box
        (the honest twin of an extraction team's truck seen on several releases)."""
        k = zlib.crc32(haulier.encode())
        n = zlib.crc32(f"{haulier}:{self.rng.randrange(4 + k % 27)}".encode())
        return f"{'KLMNPRST'[n % 8]}-{(n >> 3) % 1000:03d}-{'ABCDEF'[(n >> 13) % 6]}X"

    def write_release(self, t: Trip) -> None:
        """The release right's life: issued, maybe changed, collected (and what went wrong)."""
        p, rng = t.pickup, self.rng
        channel = "PIN" if p["pin"] else "CPU"
        add = self.csv["releases"].row

        def row(when: datetime, action: str, holder: str, actor: str, plate: str | None) -> None:
            add((iso(when), t.container, t.bl, p["release_ref"], action, holder, actor, plate,
                 channel))  # fmt: skip

        authorised = p["by"]
        row(p["issued"], "ISSUED", authorised, t.carrier.party_id, None)
        if "modified_by" in p:  # the release is tampered with before the fraudulent pick-up
            when = p["issued"] + (p["fraud_at"] - p["issued"]) * rng.uniform(0.2, 0.8)
            row(when, "MODIFIED", authorised, p["modified_by"], None)
        elif "agent" in p:  # a forwarder or broker changes it for the consignee: honest
            authorised = rng.choice(self.world.hauliers_destination[t.dest.country])
            when = p["issued"] + timedelta(minutes=rng.randrange(20, 300))
            row(when, "MODIFIED", authorised, p["agent"], None)
        elif rng.random() < self.c.haulier_change_rate:  # the consignee changes haulier
            authorised = rng.choice(self.world.hauliers_destination[t.dest.country])
            when = p["issued"] + timedelta(minutes=rng.randrange(20, 300))
            row(when, "MODIFIED", authorised, t.consignee, None)
            self.noise["haulier_changes"] += 1
        plate = self.truck_of(authorised)
        if p.get("refused"):  # tried before customs released it: refused, then collected
            row(p["at"] - timedelta(hours=rng.uniform(3, 20)), "PICKUP_ATTEMPT", authorised,
                authorised, plate)  # fmt: skip
        if "fraud_by" in p:
            row(p["fraud_at"], "PICKED_UP", authorised, p["fraud_by"], p["plate"])
            later = p["at"] + timedelta(hours=rng.uniform(10, 40))
            row(later, "PICKUP_ATTEMPT", authorised, authorised, plate)
        elif "subcontractor" in p:  # the haulier sends another firm's truck: honest
            other = self.truck_of(p["subcontractor"])
            row(p["at"], "PICKED_UP", authorised, p["subcontractor"], other)
            if p.get("double_dispatch"):
                later = p["at"] + timedelta(hours=rng.uniform(1, 30))
                row(later, "PICKUP_ATTEMPT", authorised, authorised, plate)
        else:
            row(p["at"], "PICKED_UP", authorised, authorised, plate)

    def write_ebl(self, t: Trip) -> None:
        vessel = next(m.vessel for m in t.moves if m.vessel)
        assert vessel is not None
        parties = self.world.parties
        consignee = parties[t.consignee].name if t.consignee in parties else f"{t.consignee} Ltd"
        doc = {
            "transportDocumentReference": t.bl,
            "shippingInstructionsReference": f"SI{t.n:09d}",
            "transportDocumentTypeCode": "BOL",
            "transportDocumentStatus": "ISSUED",
            "issueDate": (t.moves[3].when).date().isoformat(),
            "carrierCode": t.carrier.code,
            "transports": {
                "placeOfReceipt": {"UNLocationCode": t.origin.locode},
                "portOfLoading": {"UNLocationCode": t.origin.locode},
                "portOfDischarge": {"UNLocationCode": t.dest.locode},
                "placeOfDelivery": {"UNLocationCode": t.dest.locode},
                "vesselVoyages": [
                    {"vesselName": vessel[1], "carrierExportVoyageNumber": vessel[2]}
                ],
            },
            "documentParties": {
                "shipper": {"partyName": parties[t.shipper].name},
                "consignee": {"partyName": consignee},
            },
            "consignmentItems": [
                {
                    "carrierBookingReference": t.booking,
                    "descriptionOfGoods": [t.commodity[1]],
                    "HSCodes": [t.commodity[0]],
                    "cargoItems": [
                        {
                            "equipmentReference": t.container,
                            "cargoGrossWeight": {"value": t.commodity[2], "unit": "KGM"},
                        }
                    ],
                }
            ],
            "utilizedTransportEquipments": [
                {
                    "equipment": {"equipmentReference": t.container, "ISOEquipmentCode": t.iso},
                    "seals": [{"number": s} for s in t.declared],
                }
            ],
        }
        self.ebl.write(dumps(doc))
        self.expected["documents"] += 1

    def write_telemetry(self, t: Trip) -> None:
        """The device's readings: a position every few hours along the moves, the stops, every
        door opening (door, light, e-seal), reefer temperatures; some fixes jump away."""
        rng = self.rng
        points: list[tuple[datetime, float, float]] = []
        for m in t.moves:
            site = m.site
            lat, lon = (site.lat, site.lon) if site else m.at or (m.port.lat, m.port.lon)
            if m.code == "STRP" and t.consignee_site is not None:  # where it really is
                lat, lon = t.consignee_site
            points.append((m.when, lat, lon))
        points.sort()
        opens = sorted(t.door_opens)
        readings: list[tuple[datetime, float, float, bool]] = []
        for (t0, la0, lo0), (t1, la1, lo1) in pairwise(points):
            span = (t1 - t0).total_seconds()
            step = 3600 * (2 if span < 3 * 86400 else 12)
            k = 0
            while k * step < span:
                f = k * step / span if span else 0
                readings.append(
                    (
                        t0 + timedelta(seconds=k * step),
                        la0 + (la1 - la0) * f,
                        lo0 + (lo1 - lo0) * f,
                        False,
                    )
                )
                k += 1
        for a, b, la, lo in t.stops:  # a truck standing where no site is
            readings.extend((a + (b - a) * q, la, lo, False) for q in (0.1, 0.5, 0.9))
        readings.extend((w, la, lo, True) for w, la, lo, _ok in opens)
        readings.sort(key=lambda r: (r[0], not r[3]))  # an opening wins a shared second
        for _ in range(t.gps_outliers):  # one fix kilometres off (a door opening's, at times)
            doors = [i for i, r in enumerate(readings) if r[3]]
            i = rng.choice(doors) if doors and rng.random() < 0.3 else rng.randrange(len(readings))
            when, la, lo, door = readings[i]
            jump = rng.uniform(5, 50) / 111
            readings[i] = (when, la + jump * rng.choice((-1, 1)), lo + jump * rng.choice((-1, 1)),
                           door)  # fmt: skip
        last = None
        setpoint = (
            13.3 if t.commodity[0] == "080390" else -18.0 if t.commodity[0] == "030617" else 4.0
        )
        stuffed = next((m.when for m in t.moves if m.code == "STUF"), None)
        armed, opened = False, False  # the e-seal is armed after stuffing, opened once
        for when, la, lo, door_open in readings:
            stamp = iso(when)
            if stamp == last:
                continue
            last = stamp
            msg: dict[str, Any] = {
                "device_id": t.device,
                "container": t.container,
                "ts": stamp,
                "latitude": round(la, 5),
                "longitude": round(lo, 5),
                "door": "OPEN" if door_open else "CLOSED",
                "light_lux": round(rng.uniform(150, 600), 1)
                if door_open
                else round(rng.uniform(0, 1.5), 1),
                "shock_g": round(rng.uniform(0.05, 0.6), 2),
            }
            if t.reefer:
                msg["temperature_c"] = round(
                    setpoint + rng.gauss(0, 0.4) + (3 if door_open else 0), 1
                )
            if t.eseal and stuffed is not None and when > stuffed:
                if armed and door_open:
                    opened = True
                armed = armed or not door_open
                if armed:
                    msg["eseal"] = {"seal_id": t.eseal, "status": "OPENED" if opened else "SEALED"}
            self.telemetry.write(dumps(msg))
            self.expected["telemetry"] += 1
