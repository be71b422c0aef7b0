"""What a simulation is made of: its settings, a container's moves and its trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cargowatch.simulate.world import Carrier, Port, Site

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


def iso(t: datetime) -> str:
    """A UTC time as DCSA writes it."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mix() -> dict[str, float]:
    from cargowatch.simulate.scenarios import DEFAULT_MIX

    return dict(DEFAULT_MIX)


@dataclass
class SimConfig:
    """What a simulation makes; every rate is a share of trips (or of events, for event noise).

    noise scales every legitimate twin (twins.py): low, default or high; twin_rates overrides
    the default rate of some twins by name."""

    trips: int = 2_000
    seed: int = 1
    start: date = date(2025, 1, 1)
    days: int = 90
    origins: tuple[str, ...] | None = None
    destinations: tuple[str, ...] | None = None
    scenario_rate: float = 0.01
    # share of crimes that open a campaign: one or two more boxes of the same network follow
    campaign_share: float = 0.3
    mix: dict[str, float] = field(default_factory=_mix)
    trace_rate: float = 0.75
    smart_share: float = 0.2
    ebl_share: float = 0.3
    transship_share: float = 0.6
    inspection_rate: float = 0.02
    # share of inspections chosen at random; the rest follow what an officer can see
    inspection_random_share: float = 0.3
    outcome_share: float = 0.6
    malformed_rate: float = 0.0005
    missing_rate: float = 0.02
    duplicate_rate: float = 0.01
    late_rate: float = 0.03
    seal_typo_rate: float = 0.02
    late_gate_in_rate: float = 0.05
    haulier_change_rate: float = 0.05
    noise: str = "default"
    twin_rates: dict[str, float] = field(default_factory=dict)


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
    container: str | None = None  # reported under another number (a misread)
    iso: str | None = None  # reported with another size-type
    at: tuple[float, float] | None = None  # reported position when no site is named


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
    # door openings: when, where, and whether planned (stuffing, stripping, inspection)
    door_opens: list[tuple[datetime, float, float, bool]] = field(default_factory=list)
    stops: list[tuple[datetime, datetime, float, float]] = field(default_factory=list)
    gps_outliers: int = 0  # position fixes to throw kilometres away
    scenario: dict[str, Any] | None = None
    pickup: dict[str, Any] = field(default_factory=dict)
    reefer: bool = False
    consignee_site: tuple[float, float] | None = None  # where it is stripped
