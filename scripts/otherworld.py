"""A second world generator, written apart from `cargowatch simulate` on purpose: other ports,
terminals, zones, shift systems, parameters and noise, another file shape (DCSA 3.0 envelopes),
and seizures that come in through `inspections.csv` as they would from Customs. It exists to
judge the post-incident analysis and the insider ranking on data our simulator did not make.

What it plants, and the honest twins of each trace:
- rip-on at the origin terminal (between gate-in and loading) and rip-off at the destination
  terminal (between discharge and gate-out); most with an insider, some by outsiders alone;
- insider acts in several shapes: a night visit to a yard block (in, out a while later), a
  swipe into a zone the badge is not authorised for during its own shift, a refused swipe
  followed by a granted one, or a single swipe with no exit;
- networks recruit one to three employees at about half of the terminals and use them for most
  acts there; elsewhere (and for the rest) a random employee of the terminal acts once;
- honest staff: rotating shifts (the week decides the hours), overtime that clusters on the
  days a vessel is worked (exactly when containers stand in the yard), covers in other blocks,
  readers that refuse a badge once, lapsed vetting, leavers whose badges keep working;
- Customs inspects about 3 % of boxes (by a rule of its own, blind to the crime) and finds 70 %
  of the crimes (60 % of rip-offs, after gate-out); every finding is a seizure row.

    python scripts/otherworld.py --out worlds/other-1 --trips 12000 --seed 11

Writes data/ (dcsa/*.json, registers/*.csv) and truth.json in the shape the backtest reads
(`scenarios` with trip_key, persons and when; `insiders` with the crimes each served).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2025, 6, 2, tzinfo=UTC)
ORIGINS = {"COCTG": ("CTGA", "CTGB"), "COBUN": ("BUNA",), "CRMOB": ("MOBA", "MOBB"),
           "DOCAU": ("CAUA",)}  # fmt: skip
DESTINATIONS = {"ESALG": ("ALGA", "ALGB"), "DEHAM": ("HAMA", "HAMB", "HAMC"), "GRPIR": ("PIRA",),
                "BEZEE": ("ZEEA",)}  # fmt: skip
COORDS = {"COCTG": (10.39, -75.51), "COBUN": (3.89, -77.07), "CRMOB": (10.0, -83.05),
          "DOCAU": (18.43, -69.63), "ESALG": (36.13, -5.44), "DEHAM": (53.54, 9.93),
          "GRPIR": (37.94, 23.62), "BEZEE": (51.33, 3.2)}  # fmt: skip
ZONES = ("BLOCK-1", "BLOCK-2", "BLOCK-3", "BLOCK-4", "REEFER", "BERTH", "WORKSHOP")
ROLES = (("reach stacker driver", ("BLOCK-1", "BLOCK-2", "BLOCK-3")),
         ("reefer mechanic", ("REEFER", "BLOCK-4")), ("checker", ("BLOCK-1", "BERTH")),
         ("berth operator", ("BERTH",)), ("yard planner", ("WORKSHOP",)),
         ("guard", ("GATE", "BLOCK-1", "BLOCK-2", "BLOCK-3", "BLOCK-4")))  # fmt: skip
SHIFTS = ((6, 14), (14, 22), (22, 6))
CARRIERS = ("ZIMU", "COSU", "YMLU", "HDMU")


def check_digit(owner_serial: str) -> str:
    """The ISO 6346 check digit of the first ten characters of a container number."""
    values: dict[str, int] = {}
    n = 10
    for letter in string.ascii_uppercase:
        if n % 11 == 0:
            n += 1
        values[letter] = n
        n += 1
    total = sum((values[c] if c.isalpha() else int(c)) * (2**i) for i, c in enumerate(owner_serial))
    return str(total % 11 % 10)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Person:
    person_id: str
    badge: str
    employer: str
    facility: str
    role: str
    zones: tuple[str, ...]
    rotating: bool
    shift: int
    vetting: str
    vetting_until: str
    left_on: datetime | None = None
    crimes: list[str] = field(default_factory=list)


@dataclass
class Trip:
    container: str
    booking: str
    carrier: str
    origin: str
    o_term: str
    dest: str
    d_term: str
    gate_in: datetime
    load: datetime
    disc: datetime
    gate_out: datetime
    seal: str
    vessel: tuple[str, str]


class World:
    def __init__(self, seed: int, trips: int, days: int) -> None:
        self.rng = random.Random(seed * 7_919 + 17)
        self.days = days
        self.n_trips = trips
        self.parties: list[tuple[str, ...]] = []
        self.sites: list[tuple[Any, ...]] = []
        self.staff: dict[str, list[Person]] = {}
        self.access: list[tuple[str, str, str, str, str, str]] = []
        self.trips: list[Trip] = []
        self.scenarios: list[dict[str, Any]] = []
        self.network: dict[str, list[Person]] = {}
        self.busy: dict[str, set[int]] = {}  # facility -> days a vessel is worked there

    # -- the chain -------------------------------------------------------------------------
    def party(self, role: str, name: str) -> str:
        pid = f"Q{len(self.parties) + 1:05d}"
        since = START - timedelta(days=self.rng.randrange(200, 9000))
        self.parties.append((pid, name, role, "XX", since.date().isoformat(),
                             str(self.rng.random() < 0.5).lower(), ""))  # fmt: skip
        return pid

    def terminals(self) -> None:
        for ports in (ORIGINS, DESTINATIONS):
            for locode, codes in ports.items():
                for code in codes:
                    operator = self.party("TERMINAL", f"{code} Terminal Operator")
                    lat, lon = COORDS[locode]
                    lat += self.rng.uniform(-0.03, 0.03)
                    lon += self.rng.uniform(-0.03, 0.03)
                    self.sites.append((f"TRM-{code}", operator, "TERMINAL", locode,
                                       f"{lat:.5f}", f"{lon:.5f}", "2000",
                                       "STORAGE;INSPECTION"))  # fmt: skip
                    self.hire(f"{locode}:{code}", operator)

    def hire(self, facility: str, employer: str) -> None:
        rng = self.rng
        people: list[Person] = []
        for _ in range(rng.randrange(50, 140)):
            k = sum(map(len, self.staff.values())) + len(people) + 1
            role, zones = rng.choice(ROLES)
            vetting = rng.choices(("CLEARED", "PENDING", "EXPIRED", "REFUSED"), (88, 4, 6, 2))[0]
            until = START + timedelta(days=rng.randrange(-120, 700))
            p = Person(f"W{k:06d}", f"K{k:06d}", employer, facility, role, zones,
                       rotating=rng.random() < 0.45, shift=rng.randrange(3),
                       vetting=vetting, vetting_until=until.date().isoformat())  # fmt: skip
            if rng.random() < 0.04:  # left during the period; some badges are not revoked
                p.left_on = START + timedelta(days=rng.randrange(10, self.days - 10))
            people.append(p)
        self.staff[facility] = people
        if rng.random() < 0.5:  # a network recruited here
            active = [p for p in people if p.left_on is None]
            self.network[facility] = rng.sample(active, rng.choice((1, 1, 2, 3)))

    def voyages(self) -> None:
        rng = self.rng
        shippers = [self.party("SHIPPER", f"Exporter {i}") for i in range(180)]
        consignees = [self.party("CONSIGNEE", f"Importer {i}") for i in range(220)]
        self.shipper_of: dict[str, str] = {}
        self.consignee_of: dict[str, str] = {}
        owners = ("TGHU", "SEGU", "CAIU", "TRLU", "FSCU", "BMOU")
        serial = rng.randrange(100_000, 800_000)
        for i in range(self.n_trips):
            carrier = rng.choice(CARRIERS)
            origin = rng.choice(sorted(ORIGINS))
            dest = rng.choice(sorted(DESTINATIONS))
            week = rng.randrange(self.days // 7 - 4)
            # one weekly call per carrier and port pair; boxes arrive over the days before it
            sail = START + timedelta(
                days=week * 7 + CARRIERS.index(carrier) + 1, hours=rng.choice((4, 16))
            )
            o_term = ORIGINS[origin][(CARRIERS.index(carrier) + week // 6) % len(ORIGINS[origin])]
            d_term = rng.choice(DESTINATIONS[dest])
            gate_in = sail - timedelta(hours=rng.uniform(14, 120))
            load = sail - timedelta(hours=rng.uniform(1, 10))
            disc = sail + timedelta(days=rng.uniform(11, 19))
            gate_out = disc + timedelta(hours=rng.uniform(10, 170))
            serial += rng.randrange(1, 40)
            number = f"{rng.choice(owners)}{serial % 1_000_000:06d}"
            number += check_digit(number)
            booking = f"{carrier[:3]}B{i + 1:07d}"
            vessel = (f"9{(CARRIERS.index(carrier) * 97 + week) % 900_000 + 100_000:06d}",
                      f"{week:02d}{carrier[0]}W")  # fmt: skip
            t = Trip(number, booking, carrier, origin, o_term, dest, d_term, gate_in, load, disc,
                     gate_out, f"{carrier[:2]}{rng.randrange(10**6, 10**7)}", vessel)  # fmt: skip
            self.trips.append(t)
            self.shipper_of[booking] = rng.choice(shippers)
            self.consignee_of[booking] = rng.choice(consignees)
            for term, when in ((f"{origin}:{o_term}", load), (f"{dest}:{d_term}", disc)):
                day = (when - START).days
                self.busy.setdefault(term, set()).update({day - 1, day, day + 1})

    # -- the crimes ------------------------------------------------------------------------
    def crimes(self) -> None:
        rng = self.rng
        for t in self.trips:
            if rng.random() > 0.012:
                continue
            rip_on = rng.random() < 0.55
            facility = f"{t.origin}:{t.o_term}" if rip_on else f"{t.dest}:{t.d_term}"
            begin, end = (t.gate_in, t.load) if rip_on else (t.disc, t.gate_out)
            act = begin + (end - begin) * rng.uniform(0.15, 0.85)
            sc: dict[str, Any] = {
                "id": f"OX{len(self.scenarios) + 1:04d}", "mo": "rip_on" if rip_on else "rip_off",
                "container": t.container, "booking_ref": t.booking,
                "trip_key": f"{t.container}/{t.booking}", "when": iso(act), "persons": [],
                "insider": False, "facility": facility,
            }  # fmt: skip
            if rng.random() < 0.75:
                crew = self.network.get(facility)
                if crew and rng.random() < 0.8:
                    person = rng.choice(crew)
                else:
                    person = rng.choice([p for p in self.staff[facility] if p.left_on is None])
                self.act(person, facility, act)
                person.crimes.append(sc["id"])
                sc["persons"], sc["insider"] = [person.person_id], True
            found = rng.random() < (0.7 if rip_on else 0.6)
            if found:  # rip-on found in the destination terminal, rip-off after gate-out
                at = (t.disc + timedelta(hours=rng.uniform(4, 30)) if rip_on
                      else t.gate_out + timedelta(hours=rng.uniform(2, 20)))  # fmt: skip
                sc["seized_at"] = iso(at)
            self.scenarios.append(sc)

    def act(self, p: Person, facility: str, at: datetime) -> None:
        rng = self.rng
        shape = rng.choices(("night", "zone", "refused", "single"), (40, 30, 15, 15))[0]
        off = next(z for z in ZONES if z not in p.zones)
        if shape == "night":  # an hour the badge is never there
            h0, _ = SHIFTS[(p.shift + 1) % 3]
            at = at.replace(hour=(h0 + rng.randrange(2, 6)) % 24)
            zone = rng.choice(p.zones)
        else:
            zone = off if shape in ("zone", "single") else rng.choice(p.zones)
        if shape == "refused":
            self.swipe(at - timedelta(minutes=rng.randrange(2, 9)), p, zone, "IN", False)
        self.swipe(at, p, zone, "IN", True)
        if shape != "single":
            self.swipe(at + timedelta(minutes=rng.randrange(8, 55)), p, zone, "OUT", True)

    # -- the badge log ---------------------------------------------------------------------
    def swipe(self, at: datetime, p: Person, zone: str, direction: str, granted: bool) -> None:
        self.access.append((iso(at), p.badge, p.facility, zone, direction, str(granted).lower()))

    def shifts(self) -> None:
        rng = self.rng
        for facility, people in self.staff.items():
            busy = self.busy.get(facility, set())
            for p in people:
                last = self.days
                if p.left_on is not None:
                    keeps = rng.random() < 0.3  # the badge outlived the job a while
                    last = (p.left_on - START).days + (rng.randrange(3, 25) if keeps else 0)
                for day in range(min(last, self.days)):
                    if (day + int(p.badge[1:])) % 7 in (5, 6) and rng.random() < 0.9:
                        continue  # two days off a week, mostly
                    shift = (p.shift + day // 7) % 3 if p.rotating else p.shift
                    h0, h1 = SHIFTS[shift]
                    t0 = START + timedelta(days=day, hours=h0, minutes=rng.randrange(-25, 20))
                    hours = (h1 - h0) % 24
                    zone = rng.choice(p.zones)
                    self.swipe(t0, p, "GATE", "IN", True)
                    self.swipe(t0 + timedelta(minutes=rng.randrange(4, 25)), p, zone, "IN", True)
                    self.swipe(t0 + timedelta(hours=hours, minutes=rng.randrange(-5, 40)), p,
                               "GATE", "OUT", True)  # fmt: skip
                    if rng.random() < 0.01:  # the reader refuses once
                        self.swipe(t0 - timedelta(minutes=1), p, "GATE", "IN", False)
                    if rng.random() < 0.012:  # covering another block for a while
                        other = rng.choice([z for z in ZONES if z not in p.zones] or ["BLOCK-4"])
                        w = t0 + timedelta(hours=rng.uniform(1, hours - 1))
                        self.swipe(w, p, other, "IN", True)
                        self.swipe(w + timedelta(minutes=rng.randrange(15, 80)), p, other,
                                   "OUT", True)  # fmt: skip
                    # overtime: the next shift too, far likelier when a vessel is worked
                    if rng.random() < (0.05 if day in busy else 0.008):
                        t2 = t0 + timedelta(hours=8)
                        self.swipe(t2, p, "GATE", "IN", True)
                        self.swipe(t2 + timedelta(minutes=rng.randrange(4, 25)), p, zone, "IN",
                                   True)  # fmt: skip
                        self.swipe(t2 + timedelta(hours=rng.uniform(3, 8)), p, "GATE", "OUT",
                                   True)  # fmt: skip

    # -- the files -------------------------------------------------------------------------
    def write(self, out: Path) -> dict[str, Any]:
        rng = self.rng
        (out / "data" / "dcsa").mkdir(parents=True, exist_ok=True)
        reg = out / "data" / "registers"
        reg.mkdir(parents=True, exist_ok=True)

        def table(name: str, head: str, rows: list[tuple[Any, ...]]) -> None:
            with (reg / name).open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(head.split(","))
                w.writerows(rows)

        table("parties.csv", "party_id,name,role,country,registered_on,aeo_certified,address",
              self.parties)  # fmt: skip
        table("sites.csv", "site_id,party_id,kind,locode,latitude,longitude,radius_m,"
              "authorised_for", self.sites)  # fmt: skip
        persons = [
            (p.person_id, p.employer, p.role, p.badge, p.vetting, p.vetting_until,
             (START - timedelta(days=rng.randrange(30, 5000))).date().isoformat(),
             p.left_on.date().isoformat() if p.left_on else "", ";".join(("GATE", *p.zones)))
            for ps in self.staff.values() for p in ps
        ]  # fmt: skip
        head = (
            "person_id,employer_party_id,role,badge_id,vetting_status,vetting_valid_until,"
            "employed_from,employed_until,authorised_zones"
        )
        table("persons.csv", head, persons)
        table("access.csv", "ts,badge_id,facility,zone,direction,granted", sorted(self.access))
        table("manifest.csv", "booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,"
              "notify_id,forwarder_id,carrier_code,commodity_hs,commodity_desc,gross_kg,"
              "place_of_receipt,pol,pod,place_of_delivery,transshipment_ports,vessel_imo,voyage,"
              "declared_seals,booked_at", [
                  (t.booking, f"BL{t.booking}", t.container, "45R1", self.shipper_of[t.booking],
                   self.consignee_of[t.booking], "", "", t.carrier, "080390", "Bananas", "21500",
                   t.origin, t.origin, t.dest, t.dest, "", t.vessel[0], t.vessel[1], t.seal,
                   iso(t.gate_in - timedelta(days=6)))
                  for t in self.trips])  # fmt: skip
        seized = {s["trip_key"]: s for s in self.scenarios if s.get("seized_at")}
        inspections = []
        for t in self.trips:
            key = f"{t.container}/{t.booking}"
            if key in seized:
                sc = seized[key]
                inspections.append((sc["seized_at"], t.container, t.booking, t.dest, "", "PHYSICAL",
                                    "SEIZURE", "cocaine", f"{rng.randrange(20, 400)}",
                                    "RIP_ON_RIP_OFF", "UNKNOWN", f"SZ-{sc['id']}"))  # fmt: skip
            elif rng.random() < 0.03:
                at = t.disc + timedelta(hours=rng.uniform(4, 30))
                inspections.append((iso(at), t.container, t.booking, t.dest, "", "SCAN",
                                    "NO_FINDING", "", "", "", "NO", ""))  # fmt: skip
        table("inspections.csv", "ts,container,booking_ref,locode,authority_party_id,method,"
              "result,substance,quantity_kg,concealment,insider_suspected,reference",
              sorted(inspections))  # fmt: skip
        events: dict[str, list[dict[str, Any]]] = {}
        for t in self.trips:
            for code, when, port, term in (("GTIN", t.gate_in, t.origin, t.o_term),
                                           ("LOAD", t.load, t.origin, t.o_term),
                                           ("DISC", t.disc, t.dest, t.d_term),
                                           ("GTOT", t.gate_out, t.dest, t.d_term)):  # fmt: skip
                events.setdefault(t.carrier, []).append({
                    "eventID": f"{t.booking}-{code}",
                    "eventDateTime": iso(when),
                    "eventUpdatedDateTime": iso(when + timedelta(minutes=rng.randrange(1, 90))),
                    "eventLocation": {"UNLocationCode": port, "facilityTypeCode": "POTE",
                                      "facility": {"facilityCode": term,
                                                   "facilityCodeListProvider": "SMDG"}},
                    "eventClassification": {"eventTypeCode": "EQUIPMENT",
                                            "eventClassifierCode": "ACT",
                                            "equipmentEventTypeCode": code},
                    "equipmentDetails": {"equipmentReference": t.container,
                                         "ISOEquipmentCode": "45R1", "emptyIndicatorCode": "LADEN",
                                         "seals": [{"number": t.seal, "source": "CAR",
                                                    "type": "BLT"}]},
                    "shipmentDetails": {"documentReference": {"typeCode": "BKG",
                                                              "reference": t.booking}},
                })  # fmt: skip
        for carrier, evs in events.items():
            rng.shuffle(evs)  # carriers send in their own order
            (out / "data" / "dcsa" / f"other-{carrier.lower()}.json").write_text(
                json.dumps({"events": evs})
            )
        insiders = [
            {"person_id": p.person_id, "badge_id": p.badge, "employer_party_id": p.employer,
             "facility": p.facility, "scenarios": p.crimes}
            for crew in self.network.values() for p in crew if p.crimes
        ]  # fmt: skip
        truth = {
            "generator": "otherworld",
            "scenarios": self.scenarios,
            "insiders": sorted(insiders, key=lambda i: i["person_id"]),
            "summary": {"trips": len(self.trips), "crimes": len(self.scenarios),
                        "seized": len(seized), "with_insider": sum(
                            1 for s in self.scenarios if s["insider"])},
        }  # fmt: skip
        (out / "truth.json").write_text(json.dumps(truth, indent=1))
        return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--trips", type=int, default=12_000)
    ap.add_argument("--days", type=int, default=140)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    w = World(a.seed, a.trips, a.days)
    w.terminals()
    w.voyages()
    w.crimes()
    w.shifts()
    truth = w.write(a.out)
    print(json.dumps(truth["summary"]), f"network insiders: {len(truth['insiders'])}")


if __name__ == "__main__":
    main()
