"""Planted crimes, one plug-in per modus operandi (../shared/docs/domain-primer.md).

Each crime declares the traces it may leave and, for each, the legitimate twins (twins.py) that
leave the same trace on honest trips; a test holds every trace to at least one twin or a reason
why none exists. plant() changes the trip's moves, seals, release, telemetry and staff swipes
and notes in the scenario's truth what it left."""

from __future__ import annotations

import abc
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from cargowatch.simulate.model import Move, Trip, iso
from cargowatch.simulate.world import Site

if TYPE_CHECKING:
    from cargowatch.simulate.generator import Simulation

T = TypeVar("T")

# traces that no honest twin leaves, and why
UNTWINNED = {
    "cloned_seal": "a seal number is made once; only a copy puts it on two boxes",
    "seal_also_on": "as cloned_seal",
    "none": "a crime that left no trace",
    "no_twin_available": "a cloning scenario that found no box to copy",
}


@dataclass
class Planting:
    """What a crime plug-in works with: the simulation, the trip and its scenario's truth."""

    sim: Simulation
    trip: Trip
    truth: dict[str, Any]
    campaign: dict[str, Any] | None = None  # the network's campaign this crime belongs to

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """What the boxes of one campaign share (the network's truck, front company, seal
        batch): made by the first, taken by the next; made anew outside a campaign."""
        if self.campaign is None:
            return make()
        kept: dict[str, Any] = self.campaign["shared"]
        if key not in kept:
            kept[key] = make()
        value: T = kept[key]
        return value

    @property
    def rng(self) -> random.Random:
        """The simulation's random source (one stream: the same seed, the same world)."""
        return self.sim.rng

    @property
    def traces(self) -> list[str]:
        """The traces left so far."""
        traces: list[str] = self.truth["traces"]
        return traces

    def maybe(self) -> bool:
        """Whether an optional trace is left (--trace-rate)."""
        return self.rng.random() < self.sim.c.trace_rate

    def new_seal(self) -> str:
        """A seal number that no carrier issued for this trip."""
        return f"{self.rng.choice(('ML', 'MS', 'HL', 'CM', 'EG'))}{self.rng.randrange(10**7):07d}"

    def reseal_from(self, i: int, seal: str) -> None:
        """Every move from the i-th on shows seal instead of the one before."""
        for m in self.trip.moves[i:]:
            if m.seals:
                m.seals = (seal,)
        self.trip.moves[i].trace = True

    def index(self, code: str, where: str) -> int:
        """The index of the first move with code at the origin, hub or destination."""
        t = self.trip
        port = {"origin": t.origin, "hub": t.hub, "destination": t.dest}[where]
        return next(i for i, m in enumerate(t.moves) if m.code == code and m.port is port)

    def insider(self, site: Site, when: datetime, why: str) -> None:
        """A member of the site's staff swipes in around when, breaking their pattern."""
        rng, sim = self.rng, self.sim
        staff = [
            p for p in sim.world.staff_by_site.get(site.site_id, []) if p.employed_until is None
        ] or sim.world.staff_by_site.get(site.site_id, [])
        if not staff:
            return
        person = rng.choice(staff)
        pool = sim.corrupt.get(site.site_id)
        if pool and sim.side.random() < 0.85:  # the network's own insider there
            person = sim.side.choice(pool)
        self.truth["insider"] = True
        self.truth["persons"].append(person.person_id)
        self.truth["companies"].append(person.employer)
        at = when.replace(minute=rng.randrange(60), second=rng.randrange(60))
        kind = rng.choice(("off_shift", "unauthorised_zone", "denied_then_granted"))
        zone = rng.choice(person.zones)
        if kind == "unauthorised_zone":
            zone = next(
                (z for z in ("YARD-C", "REEFER-RACK-2", "YARD-B", "QUAY") if z not in person.zones),
                "YARD-C",
            )
        if kind == "denied_then_granted":
            sim.swipe(at - timedelta(minutes=7), person, zone, "IN", False)
        sim.swipe(at, person, zone, "IN", True)
        sim.swipe(at + timedelta(minutes=rng.randrange(15, 70)), person, zone, "OUT", True)
        self.traces.append(f"insider_access:{why}:{person.badge}:{kind}")


class Crime(abc.ABC):
    """One modus operandi: how often, with an insider how often, and what it leaves."""

    name: ClassVar[str]
    share: ClassVar[float]  # of contaminated trips, by default
    insider_share: ClassVar[float]
    concealment: ClassVar[str]  # inspections.csv concealment when a seizure is made
    # trace -> the legitimate twins that leave it too (names in twins.TWINS)
    traces: ClassVar[dict[str, tuple[str, ...]]]

    @abc.abstractmethod
    def plant(self, p: Planting) -> None:
        """Change the trip and note the traces left in p.truth."""


class RipOnRipOff(Crime):
    name = "rip_on_rip_off"
    share = 0.30
    insider_share = 1.0
    concealment = "RIP_ON_RIP_OFF"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "insider_access": ("overtime", "zone_cover", "badge_glitch"),
        "door_opened_in_terminal_yard": ("phyto_check",),
        "seal_changed_before_load": ("carrier_reseal",),
        "long_dwell_at_destination": ("long_dwell",),
        "seal_changed_between_discharge_and_gate_out": ("carrier_reseal",),
        "door_opened_at_destination_terminal": ("phyto_check",),
    }

    def plant(self, p: Planting) -> None:
        """Bags in at the origin terminal, out at the destination terminal, insiders at both."""
        t, rng = p.trip, p.rng
        gtin, load = t.moves[2], t.moves[3]
        when = gtin.when + (load.when - gtin.when) * rng.uniform(0.2, 0.8)
        p.truth["where"] = {
            "origin": f"{t.origin.locode}:{t.o_term.code}",
            "destination": f"{t.dest.locode}:{t.d_term.code}",
        }
        p.truth["when"] = iso(when)
        p.insider(t.o_term, when, "origin")
        if t.device and p.maybe():
            t.door_opens.append((when, t.o_term.lat, t.o_term.lon, False))
            p.traces.append("door_opened_in_terminal_yard")
        if p.maybe():
            p.reseal_from(3, p.new_seal())
            p.traces.append("seal_changed_before_load")
        disc_i, gtot_i = p.index("DISC", "destination"), p.index("GTOT", "destination")
        dwell = timedelta(hours=rng.uniform(48, 120))
        for m in t.moves[gtot_i:]:
            m.when += dwell
        t.pickup["at"] += dwell
        p.traces.append("long_dwell_at_destination")
        rip = t.moves[disc_i].when + dwell * rng.uniform(0.3, 0.9)
        p.insider(t.d_term, rip, "destination")
        if p.maybe():
            p.reseal_from(gtot_i, p.new_seal())
            p.traces.append("seal_changed_between_discharge_and_gate_out")
        if t.device and p.maybe():
            t.door_opens.append((rip, t.d_term.lat, t.d_term.lon, False))
            p.traces.append("door_opened_at_destination_terminal")


class SealSwitch(Crime):
    name = "seal_switch"
    share = 0.15
    insider_share = 0.6
    concealment = "RIP_ON_RIP_OFF"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "seal_mismatch_at_handover": ("seal_from_batch", "seal_added", "carrier_reseal"),
        "cloned_seal": (),
        "seal_also_on": (),
        "insider_access": ("overtime", "zone_cover", "badge_glitch"),
    }

    def plant(self, p: Planting) -> None:
        """The carrier's seal is replaced at a hand-over, sometimes by a copy of another's."""
        t, rng = p.trip, p.rng
        i = rng.choice([2, 3] + ([4] if t.hub else []))
        donor = next((r for r in reversed(p.sim.recent) if r.seal != t.seal), None)
        # a campaign's boxes get seals of the network's own counterfeit batch, one after another
        cloned = donor is not None and p.campaign is None and rng.random() < 0.5
        # a copy of the seal really on the donor's door (not the number its B/L declares)
        seen = next((m.seals[0] for m in donor.moves if m.seals), donor.seal) if donor else ""
        seal = seen if cloned else p.new_seal()
        if p.campaign is not None:
            kept = p.campaign["shared"]
            if "seal batch" in kept:  # the next numbers of the batch the first box used
                prefix, last = kept["seal batch"]
                seal = f"{prefix}{(last + rng.randrange(1, 4)) % 10**7:07d}"
            kept["seal batch"] = (seal[:2], int(seal[2:]))
        p.reseal_from(i, seal)
        p.truth["when"], p.truth["where"] = iso(t.moves[i].when), {"at": t.moves[i].port.locode}
        p.traces.append("cloned_seal" if cloned else "seal_mismatch_at_handover")
        if cloned and donor:
            p.truth["companies"].append(donor.shipper)
            p.traces.append(f"seal_also_on:{donor.container}")
        handover = t.moves[i].site
        if rng.random() < self.insider_share and handover is not None:
            p.insider(handover, t.moves[i].when - timedelta(hours=1), "handover")


class ReleaseFraud(Crime):
    name = "release_fraud"
    share = 0.15
    insider_share = 1.0
    concealment = "RIP_ON_RIP_OFF"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "pickup_by_party_without_release_right": ("subcontracted_pickup",),
        "early_pickup_after_discharge": ("quick_pickup",),
        "pickup_attempt_after_container_gone": ("double_dispatch",),
        "release_modified_by_unusual_actor": ("release_changed_by_agent",),
        "insider_access": ("overtime", "zone_cover", "badge_glitch"),
    }

    def plant(self, p: Planting) -> None:
        """A stolen release: an extraction team's truck collects before the real haulier."""
        t, rng = p.trip, p.rng
        disc_i, gtot_i = p.index("DISC", "destination"), p.index("GTOT", "destination")
        disc = t.moves[disc_i].when
        fraud_at = max(
            disc + timedelta(hours=rng.uniform(2, 8)),
            t.pickup["issued"] + timedelta(minutes=rng.randrange(20, 90)),
        )
        # a haulier nobody registered, and its truck (the same for a campaign's boxes)
        criminal = p.shared("haulier", lambda: f"PX{rng.randrange(10**5):05d}")
        plate = p.shared("truck", lambda: f"{rng.choice('ABCDEFGH')}-{rng.randrange(1000):03d}-XY")
        t.pickup.update({"fraud_by": criminal, "fraud_at": fraud_at, "plate": plate})
        t.moves[gtot_i].when = fraud_at
        t.moves[gtot_i].trace = True
        for m in t.moves[gtot_i + 1 :]:
            m.when = fraud_at + (m.when - t.pickup["at"]) * 0.3 + timedelta(hours=2)
        t.moves[gtot_i - 1].when = min(t.moves[gtot_i - 1].when, fraud_at - timedelta(minutes=30))
        p.truth["when"] = iso(fraud_at)
        p.truth["where"] = {"terminal": f"{t.dest.locode}:{t.d_term.code}"}
        p.truth["companies"].append(criminal)
        p.traces.extend(
            [
                "pickup_by_party_without_release_right",
                "early_pickup_after_discharge",
                "pickup_attempt_after_container_gone",
            ]
        )
        if p.maybe():
            t.pickup["modified_by"] = rng.choice(list(p.sim.world.parties))
            p.traces.append("release_modified_by_unusual_actor")
        p.insider(t.d_term, fraud_at - timedelta(hours=rng.uniform(1, 5)), "release")


class InlandContamination(Crime):
    name = "inland_contamination"
    share = 0.12
    insider_share = 0.4
    concealment = "STRUCTURAL"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "late_gate_in_after_long_inland_leg": ("long_inland_leg",),
        "unplanned_stop_on_inland_leg": ("rest_stop", "roadside_check"),
        "door_opened_outside_any_site": (
            "roadside_check",
            "depot_check",
            "unlisted_premises",
            "gps_outlier",
        ),
        "seal_at_gate_in_differs_from_declared": ("seal_from_batch",),
    }

    def plant(self, p: Planting) -> None:
        """The truck from the packhouse stops where no site is; the box is opened there."""
        t, rng = p.trip, p.rng
        stuf, gtin_i = t.moves[1], 2
        assert stuf.site is not None
        t.haulier_o = p.shared("haulier", lambda: t.haulier_o)  # a campaign's own haulier
        stop_from = stuf.when + (t.moves[gtin_i].when - stuf.when) * rng.uniform(0.3, 0.6)
        stop_to = stop_from + timedelta(hours=rng.uniform(1, 3))
        lat = (stuf.site.lat + t.o_term.lat) / 2 + rng.uniform(0.15, 0.3) * rng.choice((-1, 1))
        lon = (stuf.site.lon + t.o_term.lon) / 2 + rng.uniform(0.15, 0.3) * rng.choice((-1, 1))
        t.stops.append((stop_from, stop_to, lat, lon))
        t.door_opens.append((stop_from + (stop_to - stop_from) / 2, lat, lon, False))
        delay = timedelta(hours=rng.uniform(6, 20))
        for m in t.moves[gtin_i:]:
            m.when += delay
        t.pickup["at"] += delay
        t.pickup["issued"] += delay
        t.moves[gtin_i].trace = True
        p.truth["when"] = iso(stop_from)
        p.truth["where"] = {
            "lat": round(lat, 4),
            "lon": round(lon, 4),
            "leg": "packhouse to origin terminal",
        }
        p.traces.append("late_gate_in_after_long_inland_leg")
        if t.device:
            p.traces.extend(["unplanned_stop_on_inland_leg", "door_opened_outside_any_site"])
        if p.maybe():
            p.reseal_from(gtin_i, p.new_seal())
            p.traces.append("seal_at_gate_in_differs_from_declared")
        p.truth["companies"].append(t.haulier_o)
        if rng.random() < self.insider_share:
            p.insider(t.o_term, t.moves[gtin_i].when + timedelta(hours=rng.uniform(1, 8)), "gate")


class FrontCompany(Crime):
    name = "front_company"
    share = 0.10
    insider_share = 0.0
    concealment = "IN_CARGO"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "recently_registered_consignee": ("new_importer",),
        "not_aeo_certified": ("new_importer",),
        "first_trade_on_lane": ("new_importer",),
        "notify_party_is_consignee": ("notify_is_consignee",),
    }

    def plant(self, p: Planting) -> None:
        """The drugs are in the load itself, sent to a company set up for one or two loads."""
        t, rng = p.trip, p.rng
        front = p.shared("consignee", lambda: p.sim.new_consignee(
            t,
            prefix="PF",
            name=f"{rng.choice(('Nova', 'Prime', 'Euro'))} Trading {len(p.sim.scenarios):03d} Ltd",
            age_days=rng.randrange(10, 60),
            aeo=False,
            address="PO Box",
        ))  # fmt: skip
        t.consignee = front
        p.truth["companies"].append(front)
        p.truth["when"], p.truth["where"] = iso(t.booked_at), {"consignee": front}
        p.traces.extend(
            ["recently_registered_consignee", "not_aeo_certified", "first_trade_on_lane"]
        )
        if p.maybe():
            t.notify = front
            p.traces.append("notify_party_is_consignee")


class ClonedContainer(Crime):
    name = "cloned_container"
    share = 0.08
    insider_share = 0.2
    concealment = "OTHER"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "same_number_in_two_places": ("number_misread",),
        "different_size_type": ("size_type_misreported",),
        "no_twin_available": (),
    }

    def plant(self, p: Planting) -> None:
        """A second box carries the number of one in service elsewhere at the same time."""
        t, rng = p.trip, p.rng
        twin = next((r for r in reversed(p.sim.recent) if r.dest is not t.dest), None)
        if twin is None:
            p.traces.append("no_twin_available")
            return
        t.container = twin.container
        t.iso = "22G1" if twin.iso != "22G1" else "45G1"
        shift = twin.moves[2].when - t.moves[2].when + timedelta(hours=rng.uniform(-48, 48))
        for m in t.moves:
            m.when += shift
        t.booked_at += shift
        t.pickup["at"] += shift
        t.pickup["issued"] += shift
        t.door_opens = [(w + shift, la, lo, ok) for w, la, lo, ok in t.door_opens]
        p.truth["container"], p.truth["trip_key"] = t.container, f"{t.container}/{t.booking}"
        p.traces.extend(["same_number_in_two_places", "different_size_type"])
        p.truth["where"] = {"clone_at": t.origin.locode, "genuine_at": twin.origin.locode}
        p.truth["when"] = iso(t.moves[2].when)
        p.truth["genuine_booking_ref"] = twin.booking
        if rng.random() < self.insider_share:
            p.insider(t.o_term, t.moves[2].when + timedelta(hours=rng.uniform(1, 10)), "gate")


class TransshipmentTamper(Crime):
    name = "transshipment_tamper"
    share = 0.10
    insider_share = 1.0
    concealment = "RIP_ON_RIP_OFF"
    traces: ClassVar[dict[str, tuple[str, ...]]] = {
        "insider_access": ("overtime", "zone_cover", "badge_glitch"),
        "seal_changed_at_transshipment": ("carrier_reseal", "seal_added"),
        "reseal_without_inspection": ("carrier_reseal",),
        "door_opened_at_hub": ("phyto_check",),
    }

    def plant(self, p: Planting) -> None:
        """Opened and resealed at the transshipment hub (a direct trip gets a rip-on instead)."""
        t = p.trip
        if t.hub is None or t.h_term is None:
            p.truth["mo"] = RipOnRipOff.name
            CRIMES[RipOnRipOff.name].plant(p)
            return
        i_disc = p.index("DISC", "hub")
        when = t.moves[i_disc].when + (t.moves[i_disc + 1].when - t.moves[i_disc].when) * 0.5
        p.truth["when"], p.truth["where"] = iso(when), {"hub": f"{t.hub.locode}:{t.h_term.code}"}
        p.insider(t.h_term, when, "hub")
        p.reseal_from(i_disc + 1, p.new_seal())
        p.traces.append("seal_changed_at_transshipment")
        if p.maybe():
            t.moves.insert(
                i_disc + 1,
                Move("RSEA", when, t.hub, t.h_term, t.moves[i_disc + 1].seals, False, trace=True),
            )
            p.traces.append("reseal_without_inspection")
        if t.device and p.maybe():
            t.door_opens.append((when, t.h_term.lat, t.h_term.lon, False))
            p.traces.append("door_opened_at_hub")


CRIMES: dict[str, Crime] = {
    c.name: c
    for c in (
        RipOnRipOff(),
        SealSwitch(),
        ReleaseFraud(),
        InlandContamination(),
        FrontCompany(),
        ClonedContainer(),
        TransshipmentTamper(),
    )
}
# the crimes a network repeats on a run of boxes (a campaign): the same terminal gang on the
# same vessel calls, the same extraction truck, front company, seal batch or inland haulier;
# a cloned number is used once
CAMPAIGNS = frozenset(CRIMES) - {ClonedContainer.name}
# Shares of the modus operandi among contaminated trips; with the insider share of each this
# gives about two thirds of seizures with an insider (WCO 2025: 68 %).
DEFAULT_MIX = {name: crime.share for name, crime in CRIMES.items()}
