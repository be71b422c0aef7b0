"""The CSV registers cargowatch reads, as data: columns, types, keys, references.

Each register becomes one table (built here from the spec, so the CSV contract, the checks and
the schema cannot drift apart). Column names are the CSV's, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from cargowatch.db.base import Base, UTCDateTime

Kind = Literal["text", "enum", "date", "datetime", "bool", "float", "list", "locode"]
PARTY_ROLES = (
    "SHIPPER", "CONSIGNEE", "NOTIFY", "FORWARDER", "HAULIER", "CARRIER", "TERMINAL", "DEPOT",
    "PACKHOUSE", "FARM", "CUSTOMS_BROKER", "PORT_AUTHORITY", "CUSTOMS",
)  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One CSV column: its type, whether a row needs it, what it refers to."""

    name: str
    kind: Kind = "text"
    required: bool = False
    values: tuple[str, ...] = ()
    ref: Literal["party", "container", "badge"] | None = None


@dataclass(frozen=True)
class Register:
    """One CSV register: its columns, the key that stores a row once, whether it is personal."""

    name: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    update: bool  # a register of things (newest row wins) rather than a log of happenings
    personal: bool = False
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV header, in order."""
        return tuple(f.name for f in self.fields)


REGISTERS: dict[str, Register] = {
    r.name: r
    for r in (
        Register("parties", (
            Field("party_id", required=True), Field("name"),
            Field("role", "enum", values=PARTY_ROLES), Field("country"),
            Field("registered_on", "date"), Field("aeo_certified", "bool"), Field("address"),
        ), key=("party_id",), update=True),
        Register("sites", (
            Field("site_id", required=True), Field("party_id", ref="party"),
            Field("kind", "enum", values=("FARM", "PACKHOUSE", "DEPOT", "TERMINAL", "CFS",
                                          "WAREHOUSE")),
            Field("locode", "locode"), Field("latitude", "float"), Field("longitude", "float"),
            Field("radius_m", "float"), Field("authorised_for", "list",
                                              values=("STUFFING", "STRIPPING", "STORAGE",
                                                      "INSPECTION")),
        ), key=("site_id",), update=True),
        Register("manifest", (
            Field("booking_ref", required=True), Field("bl_number"),
            Field("container", required=True, ref="container"), Field("iso_type"),
            Field("shipper_id", ref="party"), Field("consignee_id", ref="party"),
            Field("notify_id", ref="party"), Field("forwarder_id", ref="party"),
            Field("carrier_code"), Field("commodity_hs"), Field("commodity_desc"),
            Field("gross_kg", "float"), Field("place_of_receipt", "locode"),
            Field("pol", "locode"), Field("pod", "locode"), Field("place_of_delivery", "locode"),
            Field("transshipment_ports", "list"), Field("vessel_imo"), Field("voyage"),
            Field("declared_seals", "list"), Field("booked_at", "datetime"),
        ), key=("booking_ref", "container"), update=True,
           indexes=(("container",), ("bl_number",), ("shipper_id",), ("consignee_id",),
                    ("forwarder_id",), ("vessel_imo", "voyage"))),
        Register("persons", (
            Field("person_id", required=True), Field("employer_party_id", required=True,
                                                     ref="party"),
            Field("role"), Field("badge_id"),
            Field("vetting_status", "enum", values=("CLEARED", "PENDING", "EXPIRED", "REFUSED")),
            Field("vetting_valid_until", "date"), Field("employed_from", "date"),
            Field("employed_until", "date"), Field("authorised_zones", "list"),
        ), key=("person_id",), update=True, personal=True, indexes=(("badge_id",),)),
        Register("access", (
            Field("ts", "datetime", required=True), Field("badge_id", required=True, ref="badge"),
            Field("facility", required=True), Field("zone"),
            Field("direction", "enum", values=("IN", "OUT")), Field("granted", "bool"),
        ), key=("ts", "badge_id", "facility", "zone", "direction"), update=False, personal=True,
           indexes=(("facility", "ts"), ("badge_id", "ts"))),
        Register("releases", (
            Field("ts", "datetime", required=True), Field("container", required=True,
                                                          ref="container"),
            Field("bl_number"), Field("release_ref"),
            Field("action", "enum", required=True,
                  values=("ISSUED", "MODIFIED", "CANCELLED", "PICKUP_ATTEMPT", "PICKED_UP")),
            Field("authorised_party_id", ref="party"), Field("actor_party_id", ref="party"),
            Field("truck_plate"), Field("channel", "enum", values=("PIN", "CPU", "PAPER")),
        ), key=("ts", "container", "action", "release_ref"), update=False,
           indexes=(("container",), ("truck_plate", "ts"))),
        Register("inspections", (
            Field("ts", "datetime", required=True), Field("container", required=True,
                                                          ref="container"),
            Field("booking_ref"), Field("locode", "locode"),
            Field("authority_party_id", ref="party"),
            Field("method", "enum", values=("SCAN", "PHYSICAL", "DOG", "SEAL_CHECK")),
            Field("result", "enum", required=True, values=("NO_FINDING", "SEIZURE",
                                                           "IRREGULARITY")),
            Field("substance"), Field("quantity_kg", "float"),
            Field("concealment", "enum", values=("RIP_ON_RIP_OFF", "STRUCTURAL", "REEFER_UNIT",
                                                 "IN_CARGO", "OTHER")),
            Field("insider_suspected", "enum", values=("YES", "NO", "UNKNOWN")),
            Field("reference"),
        ), key=("ts", "container", "method", "reference"), update=False,
           indexes=(("container",),)),
    )
}  # fmt: skip


def _column(f: Field, in_key: bool) -> Column[Any]:
    kind: TypeEngine[Any]
    if f.kind == "date":
        kind = Date()
    elif f.kind == "datetime":
        kind = UTCDateTime()
    elif f.kind == "bool":
        kind = Boolean()
    elif f.kind == "float":
        kind = Float()
    elif f.kind == "list":
        kind = Text()
    else:
        kind = String(5 if f.kind == "locode" else 200)
    # key columns hold '' for an empty cell, so that a retried row meets its twin
    return Column(f.name, kind, nullable=not (in_key or f.required))


def _table(reg: Register) -> Table:
    cols: list[SchemaItem] = [
        Column("id", Integer, primary_key=True),
        Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
        *(_column(f, f.name in reg.key) for f in reg.fields),
        Column("flags", Text, nullable=True),
        Column("run_id", Integer, nullable=True),
        UniqueConstraint("org_id", *reg.key, name=f"uq_{reg.name}_key"),
        *(Index(f"ix_{reg.name}_{'_'.join(ix)}", *ix) for ix in reg.indexes),
    ]
    return Table(reg.name, Base.metadata, *cols)


TABLES: dict[str, Table] = {name: _table(reg) for name, reg in REGISTERS.items()}
