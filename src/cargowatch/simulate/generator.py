"""Trips, their planted crimes, their legitimate twins and noise, written in every format.

A trip is one container from empty pick-up at a depot through stuffing at a packhouse, the
origin terminal, an optional transshipment hub, the destination terminal and customs, to the
consignee and back to a depot. Each physical move is reported by whoever would report it: the
carrier in DCSA Track & Trace 2.2 or 3.0, or a terminal in EDIFACT CODECO/COARRI. Smart devices
on a share of the containers send telemetry; some shipments have eBL documents; the registers and
logs (parties, sites, manifest, staff, badge access, releases, inspections) are written as CSV.

Crimes are plug-ins (scenarios.py) that leave only some of their traces; every trace also has
legitimate twins (twins.py) on honest trips, at rates scaled by the noise level. Customs
inspects trips for what an officer can see plus a random share, never for the hidden label.
truth.json lists every scenario with where, when, who and which traces were left, the twins
and noise planted, and the counts ingest should find.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cargowatch.ingest.validation import iso6346_check_digit
from cargowatch.simulate.formats import Writing
from cargowatch.simulate.model import (
    CARRIER_FORMAT,
    REEFER_HS,
    Move,
    SimConfig,
    Trip,
    iso,
)
from cargowatch.simulate.scenarios import CAMPAIGNS, CRIMES, DEFAULT_MIX, Planting
from cargowatch.simulate.twins import TWINS, level
from cargowatch.simulate.world import (
    COMMODITIES,
    Carrier,
    Party,
    Person,
    Port,
    Site,
    World,
    build_world,
)
from cargowatch.simulate.writers import Csv, Interchange, JsonArray, Rotating, dumps

__all__ = ["DEFAULT_MIX", "SimConfig", "Simulation", "simulate"]
# what an officer can see when picking a trip to inspect, and how much it weighs
INSPECTION_WEIGHTS = {"seal_differs": 3.0, "young_consignee": 1.5, "not_aeo": 0.5, "hub": 0.5}
# how many more boxes a campaign takes after its first (drawn from these, equally likely)
CAMPAIGN_MORE = (1, 1, 2)
INSPECTION_MEAN_WEIGHT = 1.7  # about the mean weight over all trips: keeps the overall rate


def _h(rng: random.Random, lo: float, hi: float) -> timedelta:
    return timedelta(hours=rng.uniform(lo, hi))


class Simulation(Writing):
    """Builds a world and writes its trips into a folder."""

    def __init__(self, config: SimConfig, out: Path) -> None:
        self.c = config
        self.level = level(config.noise)
        unknown = set(config.twin_rates) - set(TWINS)
        if unknown:
            raise ValueError(f"unknown twins: {', '.join(sorted(unknown))}")
        unknown = set(config.mix) - set(CRIMES)
        if unknown:
            raise ValueError(f"unknown modus operandi: {', '.join(sorted(unknown))}")
        self.root = out
        self.out = out / "data"  # what to ingest; truth.json stays beside it
        self.rng = random.Random(config.seed)
        self.world: World = build_world(self.rng, config.start, config.origins, config.destinations)
        self.start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
        self.end = self.start + timedelta(days=config.days)
        self.outcomes_until = self.start + timedelta(days=config.days * config.outcome_share)
        self.files: dict[str, Any] = {}
        self.noise: Counter[str] = Counter()
        self.twins: Counter[str] = Counter()
        self.expected: Counter[str] = Counter()
        self.scenarios: list[dict[str, Any]] = []
        self.recent: deque[Trip] = deque(maxlen=400)
        self.access_keys: set[tuple[str, str, str, str]] = set()
        self.premises: dict[tuple[str, str], tuple[float, float]] = {}
        self.young: list[str] = []  # honest importers that started trading in the period
        self.msg_ref = 0
        self.inspections_by: Counter[str] = Counter()
        # corrupt insiders: at most terminals one or two active employees a network recruited
        # and uses for crime after crime there (drawn apart, so the rest of the world is the
        # same world); most insider acts at such a terminal are theirs
        self.side = random.Random(config.seed * 104_729 + 3)
        self.corrupt: dict[str, list[Person]] = {}
        for site_id, staff in sorted(self.world.staff_by_site.items()):
            active = [p for p in staff if p.employed_until is None]
            if active and self.side.random() < 0.7:
                many = min(len(active), self.side.choice((1, 1, 2)))
                self.corrupt[site_id] = self.side.sample(active, many)
        self.late_badges: list[str] = []  # leavers whose badges still open doors (honest twins)
        # carriers hand seals out from numbered batches at each origin, shipper after shipper:
        # honest boxes of one carrier and port carry nearby numbers (the twin of a criminal
        # network's counterfeit batch)
        self.seal_batches: dict[tuple[str, str], int] = {}
        self.seals_issued: dict[tuple[str, str], set[int]] = {}
        # a campaign: the next trips carry the same network's crime, tied to the first
        self.campaign: dict[str, Any] | None = None
        self.campaigns: list[dict[str, Any]] = []
        ports = self.world.ports.values()
        self.origins = [p for p in ports if p.kind == "origin"]
        self.hubs = [p for p in ports if p.kind == "hub"]
        self.dests = [p for p in ports if p.kind == "destination"]
        self._open()

    def twin(self, name: str) -> bool:
        """Whether a legitimate twin happens here (its rate times the noise level)."""
        rate = self.c.twin_rates.get(name, TWINS[name].rate) * self.level
        hit = self.rng.random() < min(rate, 0.95)
        if hit:
            self.twins[name] += 1
        return hit

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

    def _party_row(self, p: Party) -> None:
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

    def _registers(self) -> None:
        w = self.world
        for p in w.parties.values():
            self._party_row(p)
        for s in w.sites:
            self.csv["sites"].row(
                (s.site_id, s.party_id, s.kind, s.locode, s.lat, s.lon, s.radius_m,
                 s.authorised_for)
            )  # fmt: skip
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

    def new_consignee(
        self, t: Trip, *, prefix: str, name: str, age_days: int, aeo: bool, address: str
    ) -> str:
        """A consignee registered age_days before the booking, added to the parties register."""
        pid = f"{prefix}{len(self.world.parties) + 1:05d}"
        party = Party(
            pid,
            name,
            "CONSIGNEE",
            t.dest.country,
            (t.booked_at - timedelta(days=age_days)).date(),
            aeo,
            address,
        )
        self.world.parties[pid] = party  # its eBL names it as the manifest does
        self._party_row(party)
        return pid

    def _shift_access(self) -> None:
        """Every working day of every employee: in at the gate, into a zone, out again; now and
        then an extra shift at other hours, a colleague's zone, a badge refused then granted."""
        rng = self.rng
        for person in self.world.persons:
            days = self.c.days
            if person.employed_until is not None:
                if not self.twin("late_revocation"):
                    continue
                # the badge outlived the job: the leaver (a contractor back for a while, a
                # colleague borrowing it) keeps swiping for some days of the period
                days = rng.randrange(5, 40)
                self.late_badges.append(person.person_id)
            for day in range(min(days, self.c.days)):
                if rng.random() > 5 / 7:
                    continue
                begin, end = person.shift
                t0 = self.start + timedelta(days=day, hours=begin, minutes=rng.randrange(-20, 15))
                hours = (end - begin) % 24 or 8
                t1 = t0 + timedelta(hours=hours, minutes=rng.randrange(-10, 30))
                zone = rng.choice(person.zones)
                self.swipe(t0, person, "GATE", "IN", True)
                self.swipe(t0 + timedelta(minutes=rng.randrange(3, 20)), person, zone, "IN", True)
                self.swipe(t1, person, "GATE", "OUT", True)
                if self.twin("badge_glitch"):
                    self.swipe(t0 - timedelta(minutes=1), person, "GATE", "IN", False)
                if self.twin("zone_cover"):
                    other = rng.choice(("YARD-A", "YARD-B", "YARD-C", "REEFER-RACK-2", "QUAY"))
                    when = t0 + timedelta(hours=rng.uniform(1, hours - 1))
                    self.swipe(when, person, other, "IN", True)
                    self.swipe(when + timedelta(minutes=rng.randrange(20, 90)), person, other,
                               "OUT", True)  # fmt: skip
                if self.twin("overtime"):  # an extra shift at other hours the same day
                    t2 = t0 + timedelta(hours=rng.choice((8, 16)))
                    self.swipe(t2, person, "GATE", "IN", True)
                    self.swipe(t2 + timedelta(minutes=rng.randrange(3, 20)), person, zone, "IN",
                               True)  # fmt: skip
                    self.swipe(t2 + timedelta(hours=rng.uniform(3, 8)), person, "GATE", "OUT",
                               True)  # fmt: skip

    def swipe(
        self, when: datetime, person: Person, zone: str, direction: str, granted: bool
    ) -> None:
        """One row of the access log (each swipe once)."""
        stamp = iso(when)
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

    def _trip(self, n: int, like: Trip | None = None) -> Trip:
        """A new trip; like: a campaign's first trip, whose route and vessel calls it takes."""
        rng, w = self.rng, self.world
        carrier = rng.choice(w.carriers)
        origin = rng.choice(self.origins)
        dest = rng.choice(self.dests)
        hub = rng.choice(self.hubs) if self.hubs and rng.random() < self.c.transship_share else None
        if like is not None:
            carrier, origin, dest, hub = like.carrier, like.origin, like.dest, like.hub
        o_term = self._terminal(carrier, origin)
        d_term = self._terminal(carrier, dest)
        h_term = self._terminal(carrier, hub) if hub else None
        if like is not None:
            o_term, d_term, h_term = like.o_term, like.d_term, like.h_term
        packhouse = rng.choice(w.packhouses[origin.locode])
        commodity = rng.choice(COMMODITIES)
        booked = self.start + timedelta(
            seconds=rng.randrange(int((self.end - self.start).total_seconds() * 0.9))
        )
        if like is not None:
            booked = like.booked_at + _h(rng, -12, 12)
        seal = self._batch_seal(carrier, origin, booked, rng.randrange(10**7))
        trip = Trip(
            n=n,
            container=self._box(n, rng.choice(carrier.prefixes)),
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
        if self.twin("new_importer"):  # an honest young importer's first shipment
            trip.consignee = self.new_consignee(
                trip,
                prefix="PN",
                name=f"{rng.choice(('Fresh', 'Green', 'Delta', 'Alpha'))} Foods "
                f"{len(w.parties):04d} B.V.",
                age_days=rng.randrange(10, 300),
                aeo=rng.random() < 0.2,
                address=f"{rng.randrange(1, 400)} Market Street",
            )
            self.young.append(trip.consignee)
        elif self.young and rng.random() < 2 * TWINS["new_importer"].rate * self.level:
            trip.consignee = rng.choice(self.young)  # its next trips: twice as many as firsts
        if self.twin("notify_is_consignee"):
            trip.notify = trip.consignee
        self._schedule(trip)
        return trip

    def _box(self, n: int, prefix: str) -> str:
        # one number, one box (only a cloning scenario reuses one): serials step through a
        # permutation of 0..999,999, so no set of numbers in use has to be kept
        body = f"{prefix}{(n * 7919 + self.c.seed) % 1_000_000:06d}"
        return body + str(iso6346_check_digit(body))

    def _batch_seal(self, carrier: Carrier, origin: Port, booked: datetime, start: int) -> str:
        """A seal of the carrier's batch at the origin: the office hands them out in order as
        bookings come in, about one number an hour, so boxes booked hours apart carry nearby
        numbers whoever ships them (the honest twin of a network's counterfeit batch)."""
        key = (carrier.code, origin.locode)
        base = self.seal_batches.setdefault(key, start - start % 2)
        hours = int((booked - self.start).total_seconds() // 3600)
        # even numbers: a shipper's own odd-numbered spares (twins.py) never meet them
        number = (base + 2 * hours) % 10**7
        issued = self.seals_issued.setdefault(key, set())
        while number in issued:  # one number, one seal
            number = (number + 2) % 10**7
        issued.add(number)
        return f"{carrier.code[:2]}{number % 10**7:07d}"

    def _terminal(self, carrier: Carrier, port: Port) -> Site:
        """Where the carrier's service calls at the port: its own terminal, now and then
        another (a berth window moved, a feeder)."""
        terminals = self.world.terminals[port.locode]
        other = self.rng.choice(terminals)
        if self.rng.random() < 0.15:
            return other
        return terminals[zlib.crc32(f"{carrier.code}:{port.locode}".encode()) % len(terminals)]

    def _call(
        self, carrier: Carrier, port: Port, bound: Port, when: datetime
    ) -> tuple[str, str, str]:
        """The carrier's vessel call at the port in the week of when, on the service bound for
        the next port: every box it loads there that week for that port goes on it."""
        week = (when - self.start).days // 7
        key = f"{self.c.seed}:{carrier.code}:{port.locode}:{bound.locode}:{week}"
        k = zlib.crc32(key.encode())
        imo, name = carrier.vessels[k % len(carrier.vessels)]
        return imo, name, f"{100 + (k >> 8) % 900}{'NSEW'[(k >> 4) % 4]}"

    def _where_stripped(self, t: Trip) -> tuple[float, float]:
        """The consignee's premises near its port (most are in no site register)."""
        key = (t.consignee, t.dest.locode)
        if key not in self.premises:
            rng = random.Random(f"{self.c.seed}:{key}")  # not the main stream: order-free
            self.premises[key] = (
                round(t.dest.lat + rng.uniform(-0.35, 0.35), 5),
                round(t.dest.lon + rng.uniform(-0.35, 0.35), 5),
            )
        return self.premises[key]

    def _schedule(self, t: Trip) -> None:
        rng = self.rng

        def h(lo: float, hi: float) -> timedelta:
            return _h(rng, lo, hi)

        carrier = t.carrier
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
        v1 = v2 = self._call(carrier, t.origin, t.hub or t.dest, load_at)
        moves.append(Move("LOAD", load_at, t.origin, t.o_term, seals, False, v1))
        now = load_at
        if t.hub is not None and t.h_term is not None:
            now += h(24 * 4, 24 * 10)
            moves.append(Move("DISC", now, t.hub, t.h_term, seals, False, v1))
            now += h(24, 24 * 4)
            v2 = self._call(carrier, t.hub, t.dest, now)
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
        # stripped at the consignee's premises; most carriers report where
        t.consignee_site = self._where_stripped(t)
        at = t.consignee_site if rng.random() < 0.7 else None
        moves.append(Move("STRP", now, t.dest, None, seals, False, at=at))
        lat, lon = t.consignee_site
        t.door_opens.append((now + h(0.2, 1), lat, lon, True))
        now += h(12, 60)
        moves.append(Move("GTIN", now, t.dest, depot_d, (), True))
        t.moves = moves

    # ------------------------------------------------------------ legitimate twins

    def _shift(self, t: Trip, i: int, delta: timedelta) -> None:
        """Move the i-th move and every later one (with openings and pick-up) by delta."""
        after = t.moves[i - 1].when if i else t.moves[0].when - timedelta(days=1)
        for m in t.moves[i:]:
            m.when += delta
        t.door_opens = [(w + delta if w > after else w, a, b, c) for w, a, b, c in t.door_opens]
        for key in ("at", "issued"):
            if t.pickup[key] > after:
                t.pickup[key] += delta

    def _index(self, t: Trip, code: str, port: Port | None) -> int:
        return next(i for i, m in enumerate(t.moves) if m.code == code and m.port is port)

    def _honest_twins(self, t: Trip) -> None:
        """The legitimate events that leave a crime's traces, each at its rate."""
        rng, moves = self.rng, t.moves
        device = t.device is not None
        gtot_i = self._index(t, "GTOT", t.dest)
        disc_i = self._index(t, "DISC", t.dest)
        if self.twin("long_inland_leg"):
            self._shift(t, 2, _h(rng, 6, 30))
        if self.twin("long_dwell"):
            self._shift(t, gtot_i, _h(rng, 48, 150))
        if self.twin("quick_pickup"):
            target = moves[disc_i].when + _h(rng, 1.5, 5.5)
            self._shift(t, gtot_i, target - moves[gtot_i].when)
            moves[gtot_i - 1].when = min(moves[gtot_i - 1].when, target - timedelta(minutes=40))
            t.pickup["issued"] = min(t.pickup["issued"], target - timedelta(minutes=50))
        if self.twin("carrier_reseal"):
            handovers = [3, gtot_i] + ([self._index(t, "LOAD", t.hub)] if t.hub else [])
            i = rng.choice(handovers)
            seal = f"{t.carrier.code[:2]}{rng.randrange(10**7):07d}"
            for m in moves[i:]:
                if m.seals:
                    m.seals = (seal,)
            if rng.random() < 0.5:  # reported as a reseal, or just a new number at the next move
                when = moves[i - 1].when + (moves[i].when - moves[i - 1].when) * rng.uniform(
                    0.3, 0.9
                )
                moves.insert(i, Move("RSEA", when, moves[i].port, moves[i].site, (seal,), False))
        if self.twin("seal_from_batch"):  # another seal of the shipper's batch
            # an odd number: the carrier's batches issue even ones, so no other box has it
            number = int(t.seal[2:]) + rng.choice((-1, 1)) * (2 * rng.randrange(5, 200) + 1)
            seal = f"{t.seal[:2]}{number % 10**7:07d}"
            for m in moves:
                if m.seals and m.seals[0] == t.seal:
                    m.seals = (seal, *m.seals[1:])
        if self.twin("seal_added"):
            i = rng.choice([3, gtot_i])
            extra = f"{t.carrier.code[:2]}{rng.randrange(10**7):07d}"
            for m in moves[i:]:
                if m.seals:
                    m.seals = (*m.seals, extra)
        if self.twin("number_misread"):  # a terminal keys another box's number for a visit
            other = next(
                (
                    r
                    for r in reversed(self.recent)
                    if r.container != t.container
                    and r.moves[0].when < moves[2].when
                    and r.moves[-1].when > moves[3].when
                ),
                None,
            )
            if other is not None:
                for m in moves[2:4]:
                    m.container = other.container
        if self.twin("size_type_misreported"):
            m = rng.choice([m for m in moves if not m.empty])
            m.iso = "22G1" if t.iso != "22G1" else "45G1"
        if self.twin("phyto_check"):  # a door opened in a terminal, no customs record
            stays = [(moves[2], moves[3]), (moves[disc_i], moves[gtot_i])]
            a, b = rng.choice(stays)
            assert a.site is not None
            t.door_opens.append((a.when + (b.when - a.when) * rng.uniform(0.2, 0.8), a.site.lat,
                                 a.site.lon, True))  # fmt: skip
        if rng.random() < 0.03 * self.level:  # tried before customs let it go: refused
            t.pickup["refused"] = True
            self.noise["refused_pickups"] += 1
        if self.twin("subcontracted_pickup"):
            if rng.random() < 0.3:  # a small firm nobody put in the register
                t.pickup["subcontractor"] = f"PS{rng.randrange(10**5):05d}"
            else:
                hauliers = self.world.hauliers_destination[t.dest.country]
                t.pickup["subcontractor"] = rng.choice([x for x in hauliers if x != t.haulier_d])
            # conditional on a subcontract (already scaled by the noise level): its own rate
            t.pickup["double_dispatch"] = rng.random() < TWINS["double_dispatch"].rate
            self.twins["double_dispatch"] += int(t.pickup["double_dispatch"])
        if self.twin("release_changed_by_agent"):
            brokers = [p.party_id for p in self.world.parties.values() if p.role == "FORWARDER"]
            t.pickup["agent"] = t.forwarder or rng.choice(brokers)
        if not device:
            return
        depot_o = self.world.depots[t.origin.locode]
        if self.twin("depot_check"):  # the empty box opened at or near the depot
            dlat, dlon = depot_o.lat, depot_o.lon
            off = rng.uniform(0.3, 3) / 111
            when = moves[0].when + (moves[1].when - moves[0].when) * rng.uniform(0.05, 0.3)
            t.door_opens.append((when, dlat + off * rng.choice((-1, 1)), dlon, True))
        if self.twin("unlisted_premises"):
            strp = self._index(t, "STRP", t.dest)
            if rng.random() < 0.5:
                moves[strp].at = None  # and the stripping is reported without a place ...
                t.door_opens = [
                    (w + (_h(rng, 3, 12) if w > moves[strp].when else timedelta(0)), a, b, c)
                    for w, a, b, c in t.door_opens
                ]  # ... hours away from the opening
            else:
                moves[strp].code = "STRP-UNREPORTED"
        legs = [(moves[1], moves[2])]
        strp_i = next(i for i, m in enumerate(moves) if m.code.startswith("STRP"))
        legs.append((moves[strp_i - 1], moves[strp_i]))
        for name, door in (("roadside_check", True), ("rest_stop", False)):
            if self.twin(name):
                a, b = rng.choice(legs)
                frm = a.when + (b.when - a.when) * rng.uniform(0.2, 0.7)
                to = frm + timedelta(minutes=rng.uniform(50, 180))
                la0 = a.site.lat if a.site else (a.at or (a.port.lat, a.port.lon))[0]
                lo0 = a.site.lon if a.site else (a.at or (a.port.lat, a.port.lon))[1]
                la, lo = la0 + rng.uniform(-0.2, 0.2), lo0 + rng.uniform(-0.2, 0.2)
                t.stops.append((frm, min(to, b.when - timedelta(minutes=10)), la, lo))
                if door:
                    t.door_opens.append((frm + (to - frm) / 2, la, lo, True))
        if self.twin("gps_outlier"):
            t.gps_outliers += rng.choice((1, 1, 2))

    # ------------------------------------------------------------ scenarios

    def _plant(self, t: Trip, campaign: dict[str, Any] | None = None) -> None:
        """Plant a crime on the trip: a campaign's next one, or a new crime that may open a
        campaign (the same network's next boxes follow on the next trips)."""
        rng, c = self.rng, self.c
        mo = (
            campaign["mo"]
            if campaign
            else rng.choices(list(c.mix), weights=list(c.mix.values()))[0]
        )
        if campaign is None and mo in CAMPAIGNS and self.side.random() < c.campaign_share:
            campaign = {"id": f"CP{len(self.campaigns) + 1:04d}", "mo": mo, "lead": t,
                        "left": self.side.choice(CAMPAIGN_MORE), "scenarios": [], "trip_keys": [],
                        "shared": {}}  # fmt: skip
            self.campaigns.append(campaign)
        elif campaign is not None:
            campaign["left"] -= 1
        truth: dict[str, Any] = {
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
        CRIMES[mo].plant(Planting(self, t, truth, campaign))
        if not truth["traces"]:
            truth["traces"].append("none")
        if campaign is not None:
            truth["campaign"] = campaign["id"]
            campaign["scenarios"].append(truth["id"])
            campaign["trip_keys"].append(truth["trip_key"])
        self.campaign = campaign if campaign and campaign["left"] > 0 else None
        t.scenario = truth
        self.scenarios.append(truth)

    def _join(self, t: Trip, lead: Trip) -> None:
        """A campaign's next box goes on the same vessel calls as its first, hours apart."""
        theirs = [m for m in lead.moves if m.code in ("LOAD", "DISC")]
        mine = [i for i, m in enumerate(t.moves) if m.code in ("LOAD", "DISC")]
        for n, (i, m) in enumerate(zip(mine, theirs, strict=False)):
            self._shift(t, 0 if n == 0 else i, m.when + _h(self.rng, -3, 3) - t.moves[i].when)
            t.moves[i].vessel = m.vessel

    # ------------------------------------------------------------ writing a trip

    def _emit(self, t: Trip) -> None:
        rng, c = self.rng, self.c
        self._inspection(t)  # before the moves are written: an inspection reseals the door
        for move in t.moves:
            if move.code == "STRP-UNREPORTED":
                move.code = "STRP"  # its place still drives the telemetry
                continue
            if not move.trace and rng.random() < c.missing_rate and move.code not in ("CUSR",):
                self.noise["missing_events"] += 1
                self.expected["moves_reported"] += 1  # counted among the moves it could have been
                continue
            self.write_move(t, move)
        self.write_manifest(t)
        self.write_release(t)
        if rng.random() < c.ebl_share:
            self.write_ebl(t)
        if t.device is not None:
            self.write_telemetry(t)
            if CARRIER_FORMAT[t.carrier.code] == "3.0":
                self.write_iot(t)

    def _seen(self, t: Trip, until: datetime) -> float:
        """How suspicious a trip looks to an officer at discharge, from what they can see."""
        w = self.world
        consignee = w.parties.get(t.consignee)
        young = consignee is not None and (t.booked_at.date() - consignee.registered_on).days < 365
        differs = any(
            m.seals and set(m.seals) - set(t.declared) for m in t.moves if m.when <= until
        )
        seen = {
            "seal_differs": differs,
            "young_consignee": young,
            "not_aeo": consignee is not None and not consignee.aeo,
            "hub": t.hub is not None,
        }
        return 1 + sum(INSPECTION_WEIGHTS[k] for k, v in seen.items() if v)

    def _inspection(self, t: Trip) -> None:
        """Customs inspects some trips: most for what an officer can see, some at random."""
        rng, c = self.rng, self.c
        disc = next(m for m in t.moves if m.code == "DISC" and m.port is t.dest)
        if disc.when >= self.outcomes_until:
            return
        weight = self._seen(t, disc.when) / INSPECTION_MEAN_WEIGHT
        chance = c.inspection_rate * (
            c.inspection_random_share + (1 - c.inspection_random_share) * weight
        )
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
        self.inspections_by["physical" if physical else "scan"] += 1
        self.csv["inspections"].row(
            (
                iso(when),
                t.container,
                t.booking,
                t.dest.locode,
                authority,
                "PHYSICAL" if physical else "SCAN",
                result,
                "cocaine" if found else None,
                rng.randrange(20, 400) if found else None,
                CRIMES[mo].concealment if found and mo else None,
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
        resealed = when + timedelta(minutes=50)
        if physical:  # a legitimate reseal: inspected, seal removed, customs seal put on
            seal = f"CUS{rng.randrange(10**6):06d}"
            extra += [
                Move("INSP", when, t.dest, t.d_term, disc.seals, False),
                Move("RMVD", when + timedelta(minutes=20), t.dest, t.d_term, disc.seals, False),
                Move("RSEA", resealed, t.dest, t.d_term, (seal,), False, seal_source="CUS"),
            ]
            for m in t.moves:
                if m.seals and m.when > resealed:
                    m.seals = (seal,)
            t.door_opens.append((when + timedelta(minutes=30), t.d_term.lat, t.d_term.lon, True))
            self.noise["legitimate_reseals_after_inspection"] += 1
        t.moves[i:i] = extra
        done = extra[-1].when + timedelta(minutes=rng.randrange(30, 240))
        gate_out = next((m.when for m in t.moves if m.code == "GTOT" and m.port is t.dest), None)
        for m in t.moves:  # customs releases the box after its inspection, under its seal
            if m.code == "CUSR" and m.when < done:
                m.when = min(done, gate_out - timedelta(minutes=20)) if gate_out else done
                m.seals = extra[-1].seals
        t.moves.sort(key=lambda m: m.when)

    def _empty_leg(self, n: int) -> None:
        """An empty box repositioned between depots: one or two events and no booking."""
        rng = self.rng
        carrier = rng.choice(self.world.carriers)
        port = rng.choice(self.origins + self.dests)
        depot = self.world.depots[port.locode]
        when = self.start + timedelta(
            seconds=rng.randrange(int((self.end - self.start).total_seconds()))
        )
        leg = Trip(
            n=n,
            container=self._box(n, rng.choice(carrier.prefixes)),
            iso="45R1" if rng.random() < 0.5 else "45G1",
            booking="",
            bl="",
            carrier=carrier,
            shipper="",
            consignee="",
            notify=None,
            forwarder=None,
            haulier_o="",
            haulier_d="",
            commodity=COMMODITIES[0],
            origin=port,
            o_term=depot,
            hub=None,
            h_term=None,
            dest=port,
            d_term=depot,
            packhouse=depot,
            booked_at=when,
            seal="",
            declared=[],
        )
        terminal = rng.choice(self.world.terminals[port.locode])
        leg.moves = [Move("GTOT", when, port, depot, (), True)]
        if rng.random() < 0.6:
            leg.moves.append(Move("GTIN", when + _h(rng, 2, 20), port, terminal, (), True))
        for move in leg.moves:
            self.write_move(leg, move)

    # ------------------------------------------------------------ the run

    def run(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Write everything; returns the truth (also written to truth.json)."""
        self._registers()
        rng = self.rng
        legs = 0
        # crimes that open a campaign bring more boxes: fewer first crimes keep the rate
        campaignable = sum(v for k, v in self.c.mix.items() if k in CAMPAIGNS) / sum(
            self.c.mix.values()
        )
        more = sum(CAMPAIGN_MORE) / len(CAMPAIGN_MORE)  # boxes a campaign adds, on average
        first_rate = self.c.scenario_rate / (1 + self.c.campaign_share * campaignable * more)
        for n in range(1, self.c.trips + 1):
            campaign = self.campaign
            lead = campaign["lead"] if campaign else None
            trip = self._trip(n, like=lead)
            if lead is not None:
                self._join(trip, lead)
            if rng.random() < self.c.smart_share:
                trip.device = f"TRX-{n:07d}"
                trip.eseal = f"ES-{n:07d}" if rng.random() < 0.5 else None
            if campaign is not None:
                self._plant(trip, campaign)
            elif rng.random() < first_rate:
                self._plant(trip)
            else:  # twins happen on honest trips: a crime's traces stay as its truth says
                self._honest_twins(trip)
            self._emit(trip)
            self.recent.append(trip)
            if self.twin("empty_leg"):
                legs += 1
                self._empty_leg(self.c.trips + legs)
            if progress is not None and n % 1000 == 0:
                progress(1000)
        self._shift_access()
        self._close()
        truth = self._truth()
        (self.root / "truth.json").write_text(dumps(truth))
        return truth

    def _insiders(self) -> list[dict[str, Any]]:
        """The corrupt insiders who served crimes, with the crimes they served."""
        pool = {p.person_id: p for staff in self.corrupt.values() for p in staff}
        served: dict[str, list[str]] = {}
        for s in self.scenarios:
            for person_id in s.get("persons", []):
                if person_id in pool:
                    served.setdefault(person_id, []).append(s["id"])
        return [
            {"person_id": pid, "badge_id": pool[pid].badge, "employer_party_id": pool[pid].employer,
             "facility": pool[pid].facility, "scenarios": ids}
            for pid, ids in sorted(served.items())
        ]  # fmt: skip

    def _campaigns(self) -> list[dict[str, Any]]:
        """The campaigns that planted more than one box, with what their boxes share."""
        return [
            {"id": c["id"], "mo": c["mo"], "scenarios": c["scenarios"],
             "trip_keys": c["trip_keys"], "shared": ["route", "vessel calls", *c["shared"]]}
            for c in self.campaigns if len(c["scenarios"]) > 1
        ]  # fmt: skip

    def _truth(self) -> dict[str, Any]:
        regs = {
            name: table.entry["records"] - table.entry["malformed"]
            for name, table in self.csv.items()
        }
        quarantined = sum(f["malformed"] for f in self.files.values())
        insiders = sum(1 for s in self.scenarios if s["insider"])
        config = {k: v for k, v in vars(self.c).items() if k not in ("start",)}
        return {
            "generator": "cargowatch simulate",
            "seed": self.c.seed,
            "trips": self.c.trips,
            "period": {
                "start": iso(self.start),
                "end": iso(self.end),
                "outcomes_until": iso(self.outcomes_until),
            },
            "config": config | {"start": self.c.start.isoformat()},
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
            "twins": {
                "level": self.c.noise,
                "multiplier": self.level,
                "planted": dict(sorted(self.twins.items())),
            },
            "inspections": dict(self.inspections_by),
            "scenarios": self.scenarios,
            "campaigns": self._campaigns(),
            "insiders": self._insiders(),
            "honest_staff_twins": {"late_revocation": sorted(self.late_badges)},
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
