"""The static world of a simulation: ports, terminals and sites, companies, carriers and their
vessels on rotations, and the staff of the terminals. Deterministic for a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

# (UN/LOCODE, name, latitude, longitude, country)
ORIGINS = (
    ("ECGYE", "Guayaquil", -2.2866, -79.9050, "EC"),
    ("ECPSJ", "Posorja", -2.7018, -80.2443, "EC"),
    ("ECPBO", "Puerto Bolivar", -3.2667, -80.0000, "EC"),
    ("COCTG", "Cartagena", 10.3910, -75.5144, "CO"),
    ("COSMR", "Santa Marta", 11.2472, -74.2017, "CO"),
    ("COBUN", "Buenaventura", 3.8801, -77.0312, "CO"),
    ("PECLL", "Callao", -12.0464, -77.1428, "PE"),
    ("PEPAI", "Paita", -5.0892, -81.1144, "PE"),
    ("BRSSZ", "Santos", -23.9608, -46.3336, "BR"),
    ("BRPNG", "Paranagua", -25.5005, -48.5079, "BR"),
    ("CRMOB", "Moin", 10.0010, -83.0500, "CR"),
    ("GTSTC", "Santo Tomas de Castilla", 15.6956, -88.6167, "GT"),
    ("VEPBL", "Puerto Cabello", 10.4806, -68.0125, "VE"),
    ("CLSAI", "San Antonio", -33.5933, -71.6136, "CL"),
)
HUBS = (
    ("PAMIT", "Manzanillo", 9.3622, -79.8800, "PA"),
    ("PABLB", "Balboa", 8.9500, -79.5667, "PA"),
    ("JMKIN", "Kingston", 17.9714, -76.7931, "JM"),
    ("DOCAU", "Caucedo", 18.4250, -69.6311, "DO"),
    ("ESALG", "Algeciras", 36.1408, -5.4372, "ES"),
    ("MAPTM", "Tanger Med", 35.8917, -5.5000, "MA"),
    ("PTSIE", "Sines", 37.9500, -8.8667, "PT"),
)
DESTINATIONS = (
    ("BEANR", "Antwerp", 51.2700, 4.3500, "BE"),
    ("NLRTM", "Rotterdam", 51.9500, 4.0500, "NL"),
    ("DEHAM", "Hamburg", 53.5300, 9.9400, "DE"),
    ("DEBRV", "Bremerhaven", 53.5800, 8.5500, "DE"),
    ("FRLEH", "Le Havre", 49.4800, 0.1300, "FR"),
    ("ESVLC", "Valencia", 39.4400, -0.3200, "ES"),
    ("ESBCN", "Barcelona", 41.3400, 2.1600, "ES"),
    ("ITGOA", "Genoa", 44.4100, 8.9200, "IT"),
    ("GBFXT", "Felixstowe", 51.9500, 1.3100, "GB"),
    ("PLGDN", "Gdansk", 54.4000, 18.6700, "PL"),
    ("PTLEI", "Leixoes", 41.1800, -8.7000, "PT"),
    ("ITGIT", "Gioia Tauro", 38.4500, 15.9000, "IT"),
    ("IEDUB", "Dublin", 53.3500, -6.2100, "IE"),
)
CARRIERS = (
    ("MSCU", "MSC", ("MSCU", "MEDU", "TGHU")),
    ("MAEU", "Maersk", ("MSKU", "MRKU", "TCNU")),
    ("CMDU", "CMA CGM", ("CMAU", "TRLU")),
    ("HLCU", "Hapag-Lloyd", ("HLXU", "HLBU")),
    ("ONEY", "ONE", ("ONEU", "SEGU")),
    ("EGLV", "Evergreen", ("EGHU", "EITU")),
)
COMMODITIES = (
    ("080390", "Fresh bananas", 21_000),
    ("030617", "Frozen shrimps", 24_000),
    ("090111", "Green coffee beans", 19_000),
    ("060311", "Fresh cut roses", 9_000),
    ("180100", "Cocoa beans", 22_000),
    ("080450", "Fresh mangoes", 20_000),
    ("081010", "Fresh strawberries", 17_000),
)
WORDS = (
    "Andes",
    "Pacifico",
    "Costa",
    "Sol",
    "Verde",
    "Oro",
    "Rio",
    "Monte",
    "Luna",
    "Palma",
    "Norte",
    "Sur",
    "Mar",
    "Tierra",
    "Valle",
    "Cruz",
    "Delta",
    "Nova",
    "Prime",
    "Euro",
    "Hansa",
    "Fresh",
    "Global",
    "Atlas",
    "Orion",
    "Vega",
    "Iris",
    "Azul",
    "Condor",
    "Puma",
)
ZONES = ("GATE", "YARD-A", "YARD-B", "YARD-C", "REEFER-RACK-1", "REEFER-RACK-2", "QUAY", "OFFICE")
SHIFTS = ((6, 14), (14, 22), (22, 6))
STAFF_ROLES = (
    ("straddle carrier driver", ("YARD-A", "YARD-B", "YARD-C", "QUAY")),
    ("gate clerk", ("GATE", "OFFICE")),
    ("planner", ("OFFICE",)),
    ("reefer technician", ("REEFER-RACK-1", "REEFER-RACK-2", "YARD-A")),
    ("security guard", ("GATE", "YARD-A", "YARD-B", "YARD-C", "QUAY")),
    ("lasher", ("QUAY",)),
    ("crane operator", ("QUAY",)),
)


@dataclass(frozen=True)
class Port:
    """A seaport and what part it plays in the trade."""

    locode: str
    name: str
    lat: float
    lon: float
    country: str
    kind: str  # origin, hub, destination


@dataclass
class Site:
    """A terminal, depot, packhouse or farm: where a container may be opened or kept."""

    site_id: str
    party_id: str
    kind: str
    locode: str
    lat: float
    lon: float
    radius_m: float
    authorised_for: str
    code: str = ""  # a terminal's code (facility of the access log, SMDG-like)


@dataclass
class Party:
    """A company in the chain."""

    party_id: str
    name: str
    role: str
    country: str
    registered_on: date
    aeo: bool
    address: str


@dataclass
class Person:
    """A member of a terminal's staff, with a badge."""

    person_id: str
    employer: str
    role: str
    badge: str
    site: str  # terminal site id
    facility: str  # LOCODE:CODE
    zones: tuple[str, ...]
    shift: tuple[int, int]
    vetting: str
    vetting_until: date
    employed_from: date
    employed_until: date | None


@dataclass
class Carrier:
    """An ocean carrier with its container prefixes, vessels and services."""

    code: str
    name: str
    party_id: str
    prefixes: tuple[str, ...]
    vessels: list[tuple[str, str]] = field(default_factory=list)  # (IMO, name)
    edifact_terminals: frozenset[str] = frozenset()


@dataclass
class World:
    """Everything static in a simulation."""

    ports: dict[str, Port]
    terminals: dict[str, list[Site]]  # by LOCODE
    sites: list[Site]
    parties: dict[str, Party]
    carriers: list[Carrier]
    persons: list[Person]
    staff_by_site: dict[str, list[Person]]
    exporters: list[str]
    packhouses: dict[str, list[Site]]  # by origin LOCODE
    depots: dict[str, Site]  # by LOCODE
    consignees: list[str]
    hauliers_origin: dict[str, list[str]]  # by country
    hauliers_destination: dict[str, list[str]]
    forwarders: list[str]
    authorities: dict[str, str]  # customs party by destination country
    edifact_terminals: set[str]  # terminal site ids that report in EDIFACT


def imo_number(rng: random.Random) -> str:
    """A 7-digit IMO ship number with a valid check digit."""
    digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(5)]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return "".join(map(str, digits)) + str(check)


def _name(rng: random.Random, suffix: str) -> str:
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)} {suffix}"


def _near(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    return (round(lat + rng.uniform(-km, km) / 111, 5), round(lon + rng.uniform(-km, km) / 111, 5))


def build_world(
    rng: random.Random,
    start: date,
    origins: tuple[str, ...] | None = None,
    destinations: tuple[str, ...] | None = None,
) -> World:
    """A world around the chosen origin and destination ports (all of them by default)."""
    ports: dict[str, Port] = {}
    for group, kind in ((ORIGINS, "origin"), (HUBS, "hub"), (DESTINATIONS, "destination")):
        wanted = origins if kind == "origin" else destinations if kind == "destination" else None
        for code, name, lat, lon, country in group:
            if wanted is None or code in wanted:
                ports[code] = Port(code, name, lat, lon, country, kind)
    parties: dict[str, Party] = {}
    counter = [0]

    def party(
        role: str, country: str, name: str, *, age_days: int | None = None, aeo: bool | None = None
    ) -> str:
        counter[0] += 1
        pid = f"P{counter[0]:05d}"
        age = age_days if age_days is not None else rng.randrange(400, 9000)
        parties[pid] = Party(
            pid,
            name,
            role,
            country,
            date.fromordinal(start.toordinal() - age),
            aeo if aeo is not None else rng.random() < 0.6,
            f"{rng.randrange(1, 400)} {rng.choice(WORDS)} Street",
        )
        return pid

    terminals: dict[str, list[Site]] = {}
    sites: list[Site] = []
    depots: dict[str, Site] = {}
    for port in ports.values():
        for t in range(1 if port.kind == "origin" and rng.random() < 0.5 else 2):
            operator = party("TERMINAL", port.country, _name(rng, "Terminals"), aeo=True)
            code = f"{port.locode[2:]}{chr(65 + t)}T"
            lat, lon = _near(rng, port.lat, port.lon, 2)
            site = Site(
                f"S-{port.locode}-T{t}",
                operator,
                "TERMINAL",
                port.locode,
                lat,
                lon,
                1500,
                "STORAGE;INSPECTION;STUFFING;STRIPPING",
                code,
            )
            terminals.setdefault(port.locode, []).append(site)
            sites.append(site)
        depot_op = party("DEPOT", port.country, _name(rng, "Container Depot"), aeo=True)
        lat, lon = _near(rng, port.lat, port.lon, 6)
        depots[port.locode] = Site(
            f"S-{port.locode}-DEP", depot_op, "DEPOT", port.locode, lat, lon, 800, "STORAGE"
        )
        sites.append(depots[port.locode])

    exporters: list[str] = []
    packhouses: dict[str, list[Site]] = {}
    for port in (p for p in ports.values() if p.kind == "origin"):
        for _ in range(6):
            pid = party("SHIPPER", port.country, _name(rng, "Export S.A."))
            exporters.append(pid)
            lat, lon = _near(rng, port.lat, port.lon, 60)
            ph = Site(f"S-{pid}-PH", pid, "PACKHOUSE", port.locode, lat, lon, 300, "STUFFING")
            packhouses.setdefault(port.locode, []).append(ph)
            sites.append(ph)
            if rng.random() < 0.5:
                farm_owner = party("FARM", port.country, _name(rng, "Farms"))
                flat, flon = _near(rng, lat, lon, 30)
                sites.append(
                    Site(
                        f"S-{farm_owner}-FARM",
                        farm_owner,
                        "FARM",
                        port.locode,
                        flat,
                        flon,
                        2000,
                        "STUFFING;STORAGE",
                    )
                )
    consignees = [
        party("CONSIGNEE", p.country, _name(rng, "Import B.V."))
        for p in ports.values()
        if p.kind == "destination"
        for _ in range(5)
    ]
    hauliers_origin: dict[str, list[str]] = {}
    hauliers_destination: dict[str, list[str]] = {}
    for port in ports.values():
        target = hauliers_origin if port.kind == "origin" else hauliers_destination
        if port.kind != "hub":
            target.setdefault(port.country, []).extend(
                party("HAULIER", port.country, _name(rng, "Transport")) for _ in range(3)
            )
    forwarders = [party("FORWARDER", "NL", _name(rng, "Logistics")) for _ in range(6)]
    authorities = {
        p.country: party("CUSTOMS", p.country, f"Customs {p.country}", aeo=True)
        for p in ports.values()
        if p.kind == "destination"
    }

    carriers = []
    for code, name, prefixes in CARRIERS:
        pid = party("CARRIER", "CH" if code == "MSCU" else "DK", name, aeo=True)
        carrier = Carrier(code, name, pid, prefixes)
        carrier.vessels = [
            (imo_number(rng), f"{name.split()[0]} {rng.choice(WORDS)}") for _ in range(4)
        ]
        carriers.append(carrier)

    persons: list[Person] = []
    staff_by_site: dict[str, list[Person]] = {}
    n = 0
    for site in (s for s in sites if s.kind == "TERMINAL"):
        for _ in range(rng.randrange(12, 25)):
            n += 1
            role, zones = rng.choice(STAFF_ROLES)
            vetting = rng.choices(("CLEARED", "PENDING", "EXPIRED"), (0.9, 0.05, 0.05))[0]
            hired = date.fromordinal(start.toordinal() - rng.randrange(60, 4000))
            left = None
            if rng.random() < 0.04:  # left before the period: their badge must be dead
                left = date.fromordinal(start.toordinal() - rng.randrange(5, 50))
            person = Person(
                f"E{n:06d}",
                site.party_id,
                role,
                f"B{n:06d}",
                site.site_id,
                f"{site.locode}:{site.code}",
                zones,
                rng.choice(SHIFTS),
                vetting,
                date.fromordinal(start.toordinal() + rng.randrange(-60, 700)),
                hired,
                left,
            )
            persons.append(person)
            staff_by_site.setdefault(site.site_id, []).append(person)
    edifact = {s.site_id for s in sites if s.kind == "TERMINAL" and rng.random() < 0.35}
    return World(
        ports,
        terminals,
        sites,
        parties,
        carriers,
        persons,
        staff_by_site,
        exporters,
        packhouses,
        depots,
        consignees,
        hauliers_origin,
        hauliers_destination,
        forwarders,
        authorities,
        edifact,
    )
