"""Trips, their planted scenarios and noise, written in every format cargowatch reads.

A trip is one container from empty pick-up at a depot through stuffing at a packhouse, the
origin terminal, an optional transshipment hub, the destination terminal and customs, to the
consignee and back to a depot. Each physical move is reported by whoever would report it: the
carrier in DCSA Track & Trace 2.2 or 3.0, or a terminal in EDIFACT CODECO/COARRI. Smart devices
on a share of the containers send telemetry; some shipments have eBL documents; the registers and
logs (parties, sites, manifest, staff, badge access, releases, inspections) are written as CSV.

Planted modus operandi follow ../shared/docs/domain-primer.md and leave only some of their
traces, each with probability trace_rate; truth.json lists every scenario with where, when, who
and which traces were left, the noise planted, and the counts ingest should find.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from cargowatch.ingest.validation import iso6346_check_digit
from cargowatch.simulate.world import (
    COMMODITIES,
    Carrier,
    Person,
    Port,
    Site,
    World,
    build_world,
)
from cargowatch.simulate.writers import Csv, Interchange, JsonArray, Rotating, dumps

MOS = (
    "rip_on_rip_off",
    "seal_switch",
    "release_fraud",
    "inland_contamination",
    "front_company",
    "cloned_container",
    "transshipment_tamper",
)
# Shares of the modus operandi among contaminated trips; with the insider share of each this
# gives about two thirds of seizures with an insider (WCO 2025: 68 %).
DEFAULT_MIX = {
    "rip_on_rip_off": 0.30,
    "seal_switch": 0.15,
    "release_fraud": 0.15,
    "inland_contamination": 0.12,
    "front_company": 0.10,
    "cloned_container": 0.08,
    "transshipment_tamper": 0.10,
}
INSIDER_SHARE = {
    "rip_on_rip_off": 1.0,
    "seal_switch": 0.6,
    "release_fraud": 1.0,
    "inland_contamination": 0.4,
    "front_company": 0.0,
    "cloned_container": 0.2,
    "transshipment_tamper": 1.0,
}
CONCEALMENT = {
    "rip_on_rip_off": "RIP_ON_RIP_OFF",
    "seal_switch": "RIP_ON_RIP_OFF",
    "release_fraud": "RIP_ON_RIP_OFF",
    "inland_contamination": "STRUCTURAL",
    "front_company": "IN_CARGO",
    "cloned_container": "OTHER",
    "transshipment_tamper": "RIP_ON_RIP_OFF",
}
CARRIER_FORMAT = {
    "MSCU": "2.2",
    "HLCU": "2.2",
    "EGLV": "2.2",
    "MAEU": "3.0",
    "CMDU": "3.0",
    "ONEY": "3.0",
}
REEFER_HS = {"080390", "030617", "060311", "080450", "081010"}
TERMINAL_CODES = ("GTIN", "GTOT", "LOAD", "DISC")


@dataclass
class SimConfig:
    """What a simulation makes; every rate is a share of trips (or of events, for event noise)."""

    trips: int = 2_000
    seed: int = 1
    start: date = date(2025, 1, 1)
    days: int = 90
    origins: tuple[str, ...] | None = None
    destinations: tuple[str, ...] | None = None
    scenario_rate: float = 0.01
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    trace_rate: float = 0.75
    smart_share: float = 0.2
    ebl_share: float = 0.3
    transship_share: float = 0.6
    inspection_rate: float = 0.02
    outcome_share: float = 0.6
    malformed_rate: float = 0.0005
    missing_rate: float = 0.02
    duplicate_rate: float = 0.01
    late_rate: float = 0.03
    seal_typo_rate: float = 0.02
    late_gate_in_rate: float = 0.05
    haulier_change_rate: float = 0.05


@dataclass
class Move:
    """One physical move of a container."""

    code: str
    when: datetime
    port: Port
    site: Site | None
    seals: tuple[str, ...]
    empty: bool
    vessel: tuple[str, str, str] | None = None  # IMO, name, voyage
    trace: bool = False  # carries a planted trace: never dropped as noise
    seal_source: str = "CAR"


@dataclass
class Trip:
    """One container trip and everything about it."""

    n: int
    container: str
    iso: str
    booking: str
    bl: str
    carrier: Carrier
    shipper: str
    consignee: str
    notify: str | None
    forwarder: str | None
    haulier_o: str
    haulier_d: str
    commodity: tuple[str, str, int]
    origin: Port
    o_term: Site
    hub: Port | None
    h_term: Site | None
    dest: Port
    d_term: Site
    packhouse: Site
    booked_at: datetime
    seal: str
    declared: list[str]
    moves: list[Move] = field(default_factory=list)
    device: str | None = None
    eseal: str | None = None
    door_opens: list[tuple[datetime, float, float, bool]] = field(default_factory=list)
    stops: list[tuple[datetime, datetime, float, float]] = field(default_factory=list)
    scenario: dict[str, Any] | None = None
    pickup: dict[str, Any] = field(default_factory=dict)
    reefer: bool = False


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Simulation:
    """Builds a world and writes its trips into a folder."""

    def __init__(self, config: SimConfig, out: Path) -> None:
        self.c = config
        self.root = out
        self.out = out / "data"  # what to ingest; truth.json stays beside it
        self.rng = random.Random(config.seed)
        self.world: World = build_world(self.rng, config.start, config.origins, config.destinations)
        self.start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
        self.end = self.start + timedelta(days=config.days)
        self.outcomes_until = self.start + timedelta(days=config.days * config.outcome_share)
        self.files: dict[str, Any] = {}
        self.noise: Counter[str] = Counter()
        self.expected: Counter[str] = Counter()
        self.scenarios: list[dict[str, Any]] = []
        self.recent: deque[Trip] = deque(maxlen=400)
        self.access_keys: set[tuple[str, str, str, str]] = set()
        self.msg_ref = 0
        ports = self.world.ports.values()
        self.origins = [p for p in ports if p.kind == "origin"]
        self.hubs = [p for p in ports if p.kind == "hub"]
        self.dests = [p for p in ports if p.kind == "destination"]
        self._open()

    # ------------------------------------------------------------ files

    def _open(self) -> None:
        out, files = self.out, self.files
        self.tnt22 = {
            c.code: JsonArray(
                out / "dcsa", f"tnt22-{c.code.lower()}", "json", "dcsa-tnt-2.2", files
            )
            for c in self.world.carriers
            if CARRIER_FORMAT[c.code] == "2.2"
        }
        self.tnt30 = {
            c.code: Rotating(
                out / "dcsa", f"tnt30-{c.code.lower()}", "ndjson", "dcsa-tnt-3.0", files
            )
            for c in self.world.carriers
            if CARRIER_FORMAT[c.code] == "3.0"
        }
        self.edi: dict[str, Interchange] = {}
        self.telemetry = Rotating(out / "telemetry", "devices", "ndjson", "telemetry", files)
        self.ebl = Rotating(out / "ebl", "transport-documents", "ndjson", "dcsa-ebl-3.0", files)
        reg = out / "registers"
        from cargowatch.registers.specs import REGISTERS

        self.csv = {name: Csv(reg, name, spec.columns, files) for name, spec in REGISTERS.items()}

    def _close(self) -> None:
        for writer in [
            *self.tnt22.values(),
            *self.tnt30.values(),
            *self.edi.values(),
            self.telemetry,
            self.ebl,
        ]:
            writer.close()
        for table in self.csv.values():
            table.close()

    # ------------------------------------------------------------ the world's registers

    def _registers(self) -> None:
        w = self.world
        for p in w.parties.values():
            self.csv["parties"].row(
                (
                    p.party_id,
                    p.name,
                    p.role,
                    p.country,
                    p.registered_on.isoformat(),
                    str(p.aeo).lower(),
                    p.address,
                )
            )
        for s in w.sites:
            self.csv["sites"].row(
                (
                    s.site_id,
                    s.party_id,
                    s.kind,
                    s.locode,
                    s.lat,
                    s.lon,
                    s.radius_m,
                    s.authorised_for,
                )
            )
        for e in w.persons:
            self.csv["persons"].row(
                (
                    e.person_id,
                    e.employer,
                    e.role,
                    e.badge,
                    e.vetting,
                    e.vetting_until.isoformat(),
                    e.employed_from.isoformat(),
                    e.employed_until.isoformat() if e.employed_until else None,
                    ";".join(e.zones),
                )
            )

    def _shift_access(self) -> None:
        """Every working day of every employee: in at the gate, into a zone, out again."""
        rng = self.rng
        for person in self.world.persons:
            if person.employed_until is not None:
                continue
            for day in range(self.c.days):
                if rng.random() > 5 / 7:
                    continue
                begin, end = person.shift
                t0 = self.start + timedelta(days=day, hours=begin, minutes=rng.randrange(-20, 15))
                hours = (end - begin) % 24 or 8
                t1 = t0 + timedelta(hours=hours, minutes=rng.randrange(-10, 30))
                zone = rng.choice(person.zones)
                self._swipe(t0, person, "GATE", "IN", True)
                self._swipe(t0 + timedelta(minutes=rng.randrange(3, 20)), person, zone, "IN", True)
                self._swipe(t1, person, "GATE", "OUT", True)
                if rng.random() < 0.002:  # a badge that fails at the gate: legitimate noise
                    self._swipe(t0 - timedelta(minutes=1), person, "GATE", "IN", False)
                    self.noise["denied_badge_glitches"] += 1

    def _swipe(
        self, when: datetime, person: Person, zone: str, direction: str, granted: bool
    ) -> None:
        stamp = _iso(when)
        key = (stamp, person.badge, zone, direction)
        if key in self.access_keys:
            return
        self.access_keys.add(key)
        malformed = self.rng.random() < self.c.malformed_rate
        self.csv["access"].row(
            (
                stamp,
                person.badge,
                person.facility,
                zone,
                "SIDEWAYS" if malformed else direction,
                str(granted).lower(),
            ),
            malformed=malformed,
        )

    # ------------------------------------------------------------ trips

    def _trip(self, n: int) -> Trip:
        rng, w = self.rng, self.world
        carrier = rng.choice(w.carriers)
        origin = rng.choice(self.origins)
        dest = rng.choice(self.dests)
        hub = rng.choice(self.hubs) if self.hubs and rng.random() < self.c.transship_share else None
        o_term = rng.choice(w.terminals[origin.locode])
        d_term = rng.choice(w.terminals[dest.locode])
        h_term = rng.choice(w.terminals[hub.locode]) if hub else None
        packhouse = rng.choice(w.packhouses[origin.locode])
        commodity = rng.choice(COMMODITIES)
        booked = self.start + timedelta(
            seconds=rng.randrange(int((self.end - self.start).total_seconds() * 0.9))
        )
        seal = f"{carrier.code[:2]}{rng.randrange(10**7):07d}"
        # one number, one box (only a cloning scenario reuses one): serials step through a
        # permutation of 0..999,999, so no set of numbers in use has to be kept
        prefix = rng.choice(carrier.prefixes)
        body = f"{prefix}{(n * 7919 + self.c.seed) % 1_000_000:06d}"
        box = body + str(iso6346_check_digit(body))
        trip = Trip(
            n=n,
            container=box,
            iso="45R1" if commodity[0] in REEFER_HS else "45G1",
            booking=f"{carrier.code}{n:09d}",
            bl=f"{carrier.code}BL{n:09d}",
            carrier=carrier,
            shipper=packhouse.party_id,
            consignee=rng.choice(w.consignees),
            notify=rng.choice(w.consignees) if rng.random() < 0.3 else None,
            forwarder=rng.choice(w.forwarders) if rng.random() < 0.5 else None,
            haulier_o=rng.choice(w.hauliers_origin[origin.country]),
            haulier_d=rng.choice(w.hauliers_destination[dest.country]),
            commodity=commodity,
            origin=origin,
            o_term=o_term,
            hub=hub,
            h_term=h_term,
            dest=dest,
            d_term=d_term,
            packhouse=packhouse,
            booked_at=booked,
            seal=seal,
            declared=[seal],
            reefer=commodity[0] in REEFER_HS,
        )
        self._schedule(trip)
        return trip

    def _schedule(self, t: Trip) -> None:
        rng = self.rng

        def h(lo: float, hi: float) -> timedelta:
            return timedelta(hours=rng.uniform(lo, hi))

        carrier = t.carrier
        v1 = (*rng.choice(carrier.vessels), f"{rng.randrange(100, 999)}{rng.choice('NSEW')}")
        v2 = (*rng.choice(carrier.vessels), f"{rng.randrange(100, 999)}{rng.choice('NSEW')}")
        depot_o, depot_d = self.world.depots[t.origin.locode], self.world.depots[t.dest.locode]
        now = t.booked_at + h(12, 60)
        seals = (t.seal,)
        moves = [Move("GTOT", now, t.origin, depot_o, (), True)]
        now += h(3, 10)
        moves.append(Move("STUF", now, t.origin, t.packhouse, seals, False, seal_source="SHI"))
        t.door_opens.append((now - h(1, 2), t.packhouse.lat, t.packhouse.lon, True))
        now += h(6, 30)
        moves.append(Move("GTIN", now, t.origin, t.o_term, seals, False))
        load_at = now + h(20, 90)
        if rng.random() < self.c.late_gate_in_rate:  # cut-off nearly missed: legitimate
            load_at = now + h(1, 3)
            self.noise["late_gate_ins"] += 1
        moves.append(Move("LOAD", load_at, t.origin, t.o_term, seals, False, v1))
        now = load_at
        if t.hub is not None and t.h_term is not None:
            now += h(24 * 4, 24 * 10)
            moves.append(Move("DISC", now, t.hub, t.h_term, seals, False, v1))
            now += h(24, 24 * 4)
            moves.append(Move("LOAD", now, t.hub, t.h_term, seals, False, v2))
        now += h(24 * 8, 24 * 16)
        last_vessel = v2 if t.hub else v1
        moves.append(Move("DISC", now, t.dest, t.d_term, seals, False, last_vessel))
        disc = now
        now += h(6, 30)
        moves.append(Move("CUSR", now, t.dest, t.d_term, seals, False))
        now += h(12, 72)
        moves.append(Move("GTOT", now, t.dest, t.d_term, seals, False))
        t.pickup = {
            "issued": disc + h(1, 6),
            "at": now,
            "by": t.haulier_d,
            "release_ref": f"R{t.n:09d}",
            "pin": rng.random() < 0.7,
        }
        now += h(3, 12)
        consignee_site = None
        moves.append(Move("STRP", now, t.dest, consignee_site, seals, False))
        t.door_opens.append((now + h(0.2, 1), t.dest.lat, t.dest.lon, True))
        now += h(12, 60)
        moves.append(Move("GTIN", now, t.dest, depot_d, (), True))
        t.moves = moves

    # ------------------------------------------------------------ scenarios

    def _plant(self, t: Trip) -> None:
        rng, c = self.rng, self.c
        mo = rng.choices(list(c.mix), weights=list(c.mix.values()))[0]
        s: dict[str, Any] = {
            "id": f"SC{len(self.scenarios) + 1:05d}",
            "mo": mo,
            "container": t.container,
            "booking_ref": t.booking,
            "trip_key": f"{t.container}/{t.booking}",
            "insider": False,
            "persons": [],
            "companies": [],
            "traces": [],
            "where": {},
        }
        traces: list[str] = s["traces"]

        def maybe(name: str) -> bool:
            return rng.random() < c.trace_rate

        def insider(site: Site, when: datetime, why: str) -> None:
            staff = [
                p
                for p in self.world.staff_by_site.get(site.site_id, [])
                if p.employed_until is None
            ] or self.world.staff_by_site.get(site.site_id, [])
            if not staff:
                return
            person = rng.choice(staff)
            s["insider"] = True
            s["persons"].append(person.person_id)
            s["companies"].append(person.employer)
            off_shift = when.replace(minute=rng.randrange(60), second=rng.randrange(60))
            kind = rng.choice(("off_shift", "unauthorised_zone", "denied_then_granted"))
            zone = (
                rng.choice(person.zones)
                if kind != "unauthorised_zone"
                else next(
                    (
                        z
                        for z in ("YARD-C", "REEFER-RACK-2", "YARD-B", "QUAY")
                        if z not in person.zones
                    ),
                    "YARD-C",
                )
            )
            if kind == "denied_then_granted":
                self._swipe(off_shift - timedelta(minutes=7), person, zone, "IN", False)
            self._swipe(off_shift, person, zone, "IN", True)
            self._swipe(
                off_shift + timedelta(minutes=rng.randrange(15, 70)), person, zone, "OUT", True
            )
            traces.append(f"insider_access:{why}:{person.badge}:{kind}")

        moves = t.moves
        idx = {
            m.code + ("@hub" if t.hub and m.port is t.hub else ""): i for i, m in enumerate(moves)
        }
        gtin = moves[idx["GTIN"]] if "GTIN" in idx else moves[2]
        o_load = moves[3]
        d_disc_i = next(i for i, m in enumerate(moves) if m.code == "DISC" and m.port is t.dest)
        d_gtot_i = next(i for i, m in enumerate(moves) if m.code == "GTOT" and m.port is t.dest)

        def new_seal() -> str:
            return f"{rng.choice(('ML', 'MS', 'HL', 'CM', 'EG'))}{rng.randrange(10**7):07d}"

        def reseal_from(i: int, seal: str, trace: bool = True) -> None:
            for m in moves[i:]:
                if m.seals:
                    m.seals = (seal,)
            moves[i].trace = trace

        if mo == "rip_on_rip_off":
            when = gtin.when + (o_load.when - gtin.when) * rng.uniform(0.2, 0.8)
            s["where"] = {
                "origin": f"{t.origin.locode}:{t.o_term.code}",
                "destination": f"{t.dest.locode}:{t.d_term.code}",
            }
            s["when"] = _iso(when)
            insider(t.o_term, when, "origin")
            if t.device and maybe("door"):
                t.door_opens.append((when, t.o_term.lat, t.o_term.lon, False))
                traces.append("door_opened_in_terminal_yard")
            if maybe("seal"):
                reseal_from(3, new_seal())
                traces.append("seal_changed_before_load")
            dwell = timedelta(hours=rng.uniform(48, 120))
            for m in moves[d_gtot_i:]:
                m.when += dwell
            t.pickup["at"] += dwell
            traces.append("long_dwell_at_destination")
            rip = moves[d_disc_i].when + dwell * rng.uniform(0.3, 0.9)
            insider(t.d_term, rip, "destination")
            if maybe("seal2"):
                reseal_from(d_gtot_i, new_seal())
                traces.append("seal_changed_between_discharge_and_gate_out")
            if t.device and maybe("door2"):
                t.door_opens.append((rip, t.d_term.lat, t.d_term.lon, False))
                traces.append("door_opened_at_destination_terminal")
        elif mo == "seal_switch":
            i = rng.choice([2, 3] + ([4] if t.hub else []))
            donor = next((r for r in reversed(self.recent) if r.seal != t.seal), None)
            cloned = donor is not None and rng.random() < 0.5
            seal = donor.seal if cloned and donor else new_seal()
            reseal_from(i, seal)
            s["when"], s["where"] = _iso(moves[i].when), {"at": f"{moves[i].port.locode}"}
            traces.append("cloned_seal" if cloned else "seal_mismatch_at_handover")
            if cloned and donor:
                s["companies"].append(donor.shipper)
                traces.append(f"seal_also_on:{donor.container}")
            handover = moves[i].site
            if rng.random() < INSIDER_SHARE[mo] and handover is not None:
                insider(handover, moves[i].when - timedelta(hours=1), "handover")
        elif mo == "release_fraud":
            disc = moves[d_disc_i].when
            fraud_at = max(
                disc + timedelta(hours=rng.uniform(2, 8)),
                t.pickup["issued"] + timedelta(minutes=rng.randrange(20, 90)),
            )
            criminal = f"PX{rng.randrange(10**5):05d}"  # a haulier nobody registered
            t.pickup.update(
                {
                    "fraud_by": criminal,
                    "fraud_at": fraud_at,
                    "plate": f"{rng.choice('ABCDEFGH')}-{rng.randrange(1000):03d}-XY",
                }
            )
            moves[d_gtot_i].when = fraud_at
            moves[d_gtot_i].trace = True
            for m in moves[d_gtot_i + 1 :]:
                m.when = fraud_at + (m.when - t.pickup["at"]) * 0.3 + timedelta(hours=2)
            moves[d_gtot_i - 1].when = min(
                moves[d_gtot_i - 1].when, fraud_at - timedelta(minutes=30)
            )
            s["when"], s["where"] = _iso(fraud_at), {"terminal": f"{t.dest.locode}:{t.d_term.code}"}
            s["companies"].append(criminal)
            traces += [
                "pickup_by_party_without_release_right",
                "early_pickup_after_discharge",
                "pickup_attempt_after_container_gone",
            ]
            if maybe("modified"):
                t.pickup["modified_by"] = rng.choice(list(self.world.parties))
                traces.append("release_modified_by_unusual_actor")
            insider(t.d_term, fraud_at - timedelta(hours=rng.uniform(1, 5)), "release")
        elif mo == "inland_contamination":
            stuf, gtin_i = moves[1], 2
            stop_from = stuf.when + (moves[gtin_i].when - stuf.when) * rng.uniform(0.3, 0.6)
            stop_to = stop_from + timedelta(hours=rng.uniform(1, 3))
            lat = (stuf.site.lat + t.o_term.lat) / 2 + rng.uniform(0.15, 0.3) * rng.choice((-1, 1))  # type: ignore[union-attr]
            lon = (stuf.site.lon + t.o_term.lon) / 2 + rng.uniform(0.15, 0.3) * rng.choice((-1, 1))  # type: ignore[union-attr]
            t.stops.append((stop_from, stop_to, lat, lon))
            t.door_opens.append((stop_from + (stop_to - stop_from) / 2, lat, lon, False))
            delay = timedelta(hours=rng.uniform(6, 20))
            for m in moves[gtin_i:]:
                m.when += delay
            t.pickup["at"] += delay
            t.pickup["issued"] += delay
            moves[gtin_i].trace = True
            s["when"], s["where"] = (
                _iso(stop_from),
                {"lat": round(lat, 4), "lon": round(lon, 4), "leg": "packhouse to origin terminal"},
            )
            traces.append("late_gate_in_after_long_inland_leg")
            if t.device:
                traces += ["unplanned_stop_on_inland_leg", "door_opened_outside_any_site"]
            if maybe("seal"):
                reseal_from(gtin_i, new_seal())
                traces.append("seal_at_gate_in_differs_from_declared")
            s["companies"].append(t.haulier_o)
        elif mo == "front_company":
            front = self._front_company(t)
            t.consignee = front
            s["companies"].append(front)
            s["when"], s["where"] = _iso(t.booked_at), {"consignee": front}
            traces += ["recently_registered_consignee", "not_aeo_certified", "first_trade_on_lane"]
            if maybe("notify"):
                t.notify = front
                traces.append("notify_party_is_consignee")
        elif mo == "cloned_container":
            twin = next((r for r in reversed(self.recent) if r.dest is not t.dest), None)
            if twin is not None:
                t.container = twin.container
                t.iso = "22G1" if twin.iso != "22G1" else "45G1"
                shift = twin.moves[2].when - t.moves[2].when + timedelta(hours=rng.uniform(-48, 48))
                for m in t.moves:
                    m.when += shift
                t.booked_at += shift
                t.pickup["at"] += shift
                t.pickup["issued"] += shift
                t.door_opens = [(w + shift, la, lo, ok) for w, la, lo, ok in t.door_opens]
                s["container"], s["trip_key"] = t.container, f"{t.container}/{t.booking}"
                traces += ["same_number_in_two_places", "different_size_type"]
                s["where"] = {"clone_at": t.origin.locode, "genuine_at": twin.origin.locode}
                s["when"] = _iso(t.moves[2].when)
                s["genuine_booking_ref"] = twin.booking
            else:
                traces.append("no_twin_available")
        elif mo == "transshipment_tamper":
            if t.hub is None or t.h_term is None:
                return self._plant_as(t, "rip_on_rip_off")
            i_disc = next(i for i, m in enumerate(moves) if m.code == "DISC" and m.port is t.hub)
            when = moves[i_disc].when + (moves[i_disc + 1].when - moves[i_disc].when) * 0.5
            s["when"], s["where"] = _iso(when), {"hub": f"{t.hub.locode}:{t.h_term.code}"}
            insider(t.h_term, when, "hub")
            reseal_from(i_disc + 1, new_seal())
            traces.append("seal_changed_at_transshipment")
            if maybe("rsea"):
                moves.insert(
                    i_disc + 1,
                    Move("RSEA", when, t.hub, t.h_term, moves[i_disc + 1].seals, False, trace=True),
                )
                traces.append("reseal_without_inspection")
            if t.device and maybe("door"):
                t.door_opens.append((when, t.h_term.lat, t.h_term.lon, False))
                traces.append("door_opened_at_hub")
        if not traces:
            traces.append("none")
        t.scenario = s
        self.scenarios.append(s)
        return None

    def _plant_as(self, t: Trip, mo: str) -> None:
        saved = self.c.mix
        self.c.mix = {mo: 1.0}
        try:
            self._plant(t)
        finally:
            self.c.mix = saved

    def _front_company(self, t: Trip) -> str:
        pid = f"PF{len(self.scenarios) + 1:05d}"
        registered = (t.booked_at - timedelta(days=self.rng.randrange(10, 60))).date()
        self.csv["parties"].row(
            (
                pid,
                f"{self.rng.choice(('Nova', 'Prime', 'Euro'))} Trading {pid[-3:]} Ltd",
                "CONSIGNEE",
                t.dest.country,
                registered.isoformat(),
                "false",
                "PO Box",
            )
        )
        return pid

    # ------------------------------------------------------------ writing a trip

    def _emit(self, t: Trip) -> None:
        rng, c = self.rng, self.c
        self._inspection(t)  # before the moves are written: an inspection reseals the door
        for move in t.moves:
            if not move.trace and rng.random() < c.missing_rate and move.code not in ("CUSR",):
                self.noise["missing_events"] += 1
                self.expected["moves_reported"] += 1  # counted among the moves it could have been
                continue
            self._write_move(t, move)
        self._manifest(t)
        self._release(t)
        if rng.random() < c.ebl_share:
            self._ebl(t)
        if t.device is not None:
            self._telemetry(t)
            if CARRIER_FORMAT[t.carrier.code] == "3.0":
                self._iot_and_reefer(t)

    def _iot_and_reefer(self, t: Trip) -> None:
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
                    "eventDateTime": _iso(when),
                    "eventUpdatedDateTime": _iso(when + timedelta(minutes=2)),
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
                        "eventDateTime": _iso(when),
                        "eventUpdatedDateTime": _iso(when + timedelta(minutes=5)),
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

    def _reporter(self, t: Trip, move: Move) -> str:
        if (
            move.site is not None
            and move.site.site_id in self.world.edifact_terminals
            and (move.code in TERMINAL_CODES)
        ):
            return "edifact"
        return CARRIER_FORMAT[t.carrier.code]

    def _write_move(self, t: Trip, move: Move) -> None:
        rng = self.rng
        self.expected["moves_reported"] += 1
        kind = self._reporter(t, move)
        if kind == "edifact":
            self._edifact(t, move)
            self.expected["events"] += 1
            return
        created = move.when + timedelta(minutes=rng.randrange(1, 90))
        if rng.random() < self.c.late_rate:
            created += timedelta(days=rng.uniform(1, 5))
            self.noise["late_events"] += 1
        malformed = rng.random() < self.c.malformed_rate
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if kind == "2.2":
            text = dumps(self._tnt22(t, move, event_id, created, malformed))
            writer: Rotating = self.tnt22[t.carrier.code]
        else:
            text = dumps(self._tnt30(t, move, event_id, created, malformed))
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

    def _location22(self, move: Move) -> dict[str, Any]:
        loc: dict[str, Any] = {"UNLocationCode": move.port.locode}
        site = move.site
        if site is not None:
            loc["latitude"], loc["longitude"] = f"{site.lat}", f"{site.lon}"
            if site.kind == "TERMINAL":
                loc["facilityCode"], loc["facilityCodeListProvider"] = site.code, "SMDG"
            else:
                loc["locationName"] = site.site_id
        return loc

    def _tnt22(
        self, t: Trip, m: Move, event_id: str, created: datetime, malformed: bool
    ) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "eventID": event_id,
            "eventCreatedDateTime": _iso(created),
            "eventType": "EQUIPMENT",
            "eventClassifierCode": "ACT",
            "eventDateTime": "2025-02-30 25:61" if malformed else _iso(m.when),
            "equipmentEventTypeCode": m.code,
            "equipmentReference": t.container,
            "ISOEquipmentCode": t.iso,
            "emptyIndicatorCode": "EMPTY" if m.empty else "LADEN",
            "eventLocation": self._location22(m),
            "documentReferences": [
                {"documentReferenceType": "BKG", "documentReferenceValue": t.booking},
                {"documentReferenceType": "TRD", "documentReferenceValue": t.bl},
            ],
        }
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

    def _tnt30(
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
        ev: dict[str, Any] = {
            "eventID": event_id,
            "eventRouting": {
                "originatingParty": {
                    "partyCode": t.carrier.code,
                    "codeListProvider": "SMDG",
                    "codeListName": "LCL",
                }
            },
            "eventDateTime": "yesterday noon" if malformed else _iso(m.when),
            "eventUpdatedDateTime": _iso(created),
            "eventLocation": loc,
            "eventClassification": {
                "eventTypeCode": "EQUIPMENT",
                "eventClassifierCode": "ACT",
                "equipmentEventTypeCode": m.code,
            },
            "equipmentDetails": {
                "equipmentReference": t.container,
                "ISOEquipmentCode": t.iso,
                "emptyIndicatorCode": "EMPTY" if m.empty else "LADEN",
            },
            "shipmentDetails": {
                "documentReference": {"typeCode": "BKG", "reference": t.booking},
                "additionalDocumentReferences": [{"typeCode": "TRD", "reference": t.bl}],
            },
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

    def _edifact(self, t: Trip, m: Move) -> None:
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
                f"EQD+CN+{t.container}+{t.iso}:102:5++2+{4 if m.empty else 5}",
                f"RFF+BN:{t.booking}",
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
                f"EQD+CN+{t.container}+{t.iso}:102:5++2+{4 if m.empty else 5}",
                f"RFF+BN:{t.booking}",
                f"DTM+203:{stamp}:203",
                f"LOC+147+{self.rng.randrange(10, 99)}{self.rng.randrange(10, 99)}82::5",
            ]
        segs += [f"SEL+{s}+CA" for s in m.seals]
        segs.append("CNT+16:1")
        segs.append(f"UNT+{len(segs) + 1}+{ref}")
        writer.write("".join(s + "'" for s in segs))

    def _manifest(self, t: Trip) -> None:
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
                _iso(t.booked_at),
            )
        )

    def _release(self, t: Trip) -> None:
        p, rng = t.pickup, self.rng
        carrier_party = t.carrier.party_id
        channel = "PIN" if p["pin"] else "CPU"
        row = self.csv["releases"].row
        authorised = p["by"]
        row(
            (
                _iso(p["issued"]),
                t.container,
                t.bl,
                p["release_ref"],
                "ISSUED",
                authorised,
                carrier_party,
                None,
                channel,
            )
        )
        if "modified_by" in p:  # the release is tampered with before the fraudulent pick-up
            row(
                (
                    _iso(p["issued"] + (p["fraud_at"] - p["issued"]) * rng.uniform(0.2, 0.8)),
                    t.container,
                    t.bl,
                    p["release_ref"],
                    "MODIFIED",
                    authorised,
                    p["modified_by"],
                    None,
                    channel,
                )
            )
        elif rng.random() < self.c.haulier_change_rate:  # the consignee changes haulier
            authorised = rng.choice(self.world.hauliers_destination[t.dest.country])
            row(
                (
                    _iso(p["issued"] + timedelta(minutes=rng.randrange(20, 300))),
                    t.container,
                    t.bl,
                    p["release_ref"],
                    "MODIFIED",
                    authorised,
                    t.consignee,
                    None,
                    channel,
                )
            )
            self.noise["haulier_changes"] += 1
        plate = f"{rng.choice('KLMNPRST')}-{rng.randrange(1000):03d}-{rng.choice('ABCDEF')}X"
        if "fraud_by" in p:
            row(
                (
                    _iso(p["fraud_at"]),
                    t.container,
                    t.bl,
                    p["release_ref"],
                    "PICKED_UP",
                    authorised,
                    p["fraud_by"],
                    p["plate"],
                    channel,
                )
            )
            row(
                (
                    _iso(p["at"] + timedelta(hours=rng.uniform(10, 40))),
                    t.container,
                    t.bl,
                    p["release_ref"],
                    "PICKUP_ATTEMPT",
                    authorised,
                    authorised,
                    plate,
                    channel,
                )
            )
        else:
            row(
                (
                    _iso(p["at"]),
                    t.container,
                    t.bl,
                    p["release_ref"],
                    "PICKED_UP",
                    authorised,
                    authorised,
                    plate,
                    channel,
                )
            )

    def _inspection(self, t: Trip) -> None:
        rng = self.rng
        disc = next(m for m in t.moves if m.code == "DISC" and m.port is t.dest)
        if disc.when >= self.outcomes_until:
            return
        chance = self.c.inspection_rate * (12 if t.scenario else 1)
        if rng.random() >= chance:
            return
        authority = self.world.authorities[t.dest.country]
        physical = rng.random() < 0.5
        when = disc.when + timedelta(hours=rng.uniform(4, 20))
        if when >= self.outcomes_until:
            return
        mo = t.scenario["mo"] if t.scenario else None
        found = mo is not None and rng.random() < (0.8 if physical else 0.55)
        result = "SEIZURE" if found else "NO_FINDING"
        self.csv["inspections"].row(
            (
                _iso(when),
                t.container,
                t.booking,
                t.dest.locode,
                authority,
                "PHYSICAL" if physical else "SCAN",
                result,
                "cocaine" if found else None,
                rng.randrange(20, 400) if found else None,
                CONCEALMENT[mo] if found and mo else None,
                ("YES" if t.scenario and t.scenario["insider"] else "NO") if found else None,
                f"INS-{t.n:09d}",
            )
        )
        if t.scenario is not None:
            t.scenario["inspected"] = True
            t.scenario["outcome"] = result
        code = "CUSI" if physical else "CUSS"
        i = t.moves.index(disc) + 1
        extra = [Move(code, when - timedelta(hours=2), t.dest, t.d_term, disc.seals, False)]
        if physical:  # a legitimate reseal: inspected, seal removed, customs seal put on
            seal = f"CUS{rng.randrange(10**6):06d}"
            extra += [
                Move("INSP", when, t.dest, t.d_term, disc.seals, False),
                Move("RMVD", when + timedelta(minutes=20), t.dest, t.d_term, disc.seals, False),
                Move(
                    "RSEA",
                    when + timedelta(minutes=50),
                    t.dest,
                    t.d_term,
                    (seal,),
                    False,
                    seal_source="CUS",
                ),
            ]
            for m in t.moves:
                if m.seals and m.when > when + timedelta(minutes=50):
                    m.seals = (seal,)
            t.door_opens.append((when + timedelta(minutes=30), t.d_term.lat, t.d_term.lon, True))
            self.noise["legitimate_reseals_after_inspection"] += 1
        t.moves[i:i] = extra
        done = extra[-1].when + timedelta(minutes=rng.randrange(30, 240))
        gate_out = next((m.when for m in t.moves if m.code == "GTOT" and m.port is t.dest), None)
        for m in t.moves:  # customs releases the box after its inspection
            if m.code == "CUSR" and m.when < done:
                m.when = min(done, gate_out - timedelta(minutes=20)) if gate_out else done
        t.moves.sort(key=lambda m: m.when)

    def _ebl(self, t: Trip) -> None:
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

    def _telemetry(self, t: Trip) -> None:
        rng = self.rng
        points: list[tuple[datetime, float, float]] = []
        for m in t.moves:
            site = m.site
            lat, lon = (site.lat, site.lon) if site else (m.port.lat, m.port.lon)
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
        readings.sort(key=lambda r: r[0])
        last = None
        setpoint = (
            13.3 if t.commodity[0] == "080390" else -18.0 if t.commodity[0] == "030617" else 4.0
        )
        opened = False
        for when, la, lo, door_open in readings:
            stamp = _iso(when)
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
            if t.eseal:
                opened = opened or door_open
                msg["eseal"] = {"seal_id": t.eseal, "status": "OPENED" if opened else "SEALED"}
            self.telemetry.write(dumps(msg))
            self.expected["telemetry"] += 1

    # ------------------------------------------------------------ the run

    def run(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Write everything; returns the truth (also written to truth.json)."""
        self._registers()
        rng = self.rng
        for n in range(1, self.c.trips + 1):
            trip = self._trip(n)
            if rng.random() < self.c.smart_share:
                trip.device = f"TRX-{n:07d}"
                trip.eseal = f"ES-{n:07d}" if rng.random() < 0.5 else None
            if rng.random() < self.c.scenario_rate:
                self._plant(trip)
            self._emit(trip)
            self.recent.append(trip)
            if progress is not None and n % 1000 == 0:
                progress(1000)
        self._shift_access()
        self._close()
        truth = self._truth()
        (self.root / "truth.json").write_text(dumps(truth))
        return truth

    def _truth(self) -> dict[str, Any]:
        regs = {
            name: table.entry["records"] - table.entry["malformed"]
            for name, table in self.csv.items()
        }
        quarantined = sum(f["malformed"] for f in self.files.values())
        insiders = sum(1 for s in self.scenarios if s["insider"])
        return {
            "generator": "cargowatch simulate",
            "seed": self.c.seed,
            "trips": self.c.trips,
            "period": {
                "start": _iso(self.start),
                "end": _iso(self.end),
                "outcomes_until": _iso(self.outcomes_until),
            },
            "config": {k: v for k, v in vars(self.c).items() if k not in ("start",)}
            | {"start": self.c.start.isoformat()},
            "files": dict(sorted(self.files.items())),
            "expected": {
                "events": self.expected["events"],
                "duplicates": self.expected["duplicates"],
                "documents": self.expected["documents"],
                "telemetry": self.expected["telemetry"],
                "registers": regs,
                "quarantined": quarantined,
            },
            "noise": dict(sorted(self.noise.items())),
            "noise_base": {"moves": self.expected["moves_reported"], "trips": self.c.trips},
            "scenarios": self.scenarios,
            "summary": {
                "scenarios": len(self.scenarios),
                "with_insider": insiders,
                "by_mo": dict(Counter(s["mo"] for s in self.scenarios)),
            },
        }


def simulate(
    out: Path, config: SimConfig, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Write a simulated world into out (created when missing); returns the truth."""
    out.mkdir(parents=True, exist_ok=True)
    return Simulation(config, out).run(progress)
