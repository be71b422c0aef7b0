"""Bulletins and their indicators as STIX 2.1: a bulletin is a `report` whose objects are its
`indicator`s, its author an `identity`, its marking one of the TLP 2.0 `marking-definition`s
published by OASIS (referenced by their fixed ids, carried in every bundle). What STIX has no
object for (containers, seals, trucks, parties, places and routes as we name them) is defined
by our extension definition (EXTENSION) as new cyber-observable types used in the indicators'
patterns, so a partner's system parses every pattern. Import keeps the ids, the times and the
marking, and is idempotent on the ids; exported again, the objects are the same."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.bulletins import service
from cargowatch.bulletins.models import KINDS, TLP, Bulletin
from cargowatch.exceptions import InvalidInput
from cargowatch.incidents.models import Incident
from cargowatch.orgs.models import Organisation

# OASIS's TLP 2.0 marking definitions (extension-definition--60a3c5c5-...; ids and dates fixed
# by that publication: consumers recognise the markings by id)
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_OF = {v: k for k, v in TLP_IDS.items()}
TLP_CREATED = "2022-10-01T00:00:00.000Z"

# our extension: the maritime observables, and the project identity that publishes it
NAMESPACE = uuid.UUID("6f0e8f1c-4a3e-5b8e-9c1d-2a7b3c4d5e6f")
PROJECT = "identity--" + str(uuid.uuid5(NAMESPACE, "cargowatch project"))
EXTENSION = "extension-definition--" + str(uuid.uuid5(NAMESPACE, "maritime observables 1.0"))
PUBLISHED = "2026-11-30T00:00:00.000Z"
SCHEMA = "https://github.com/cargowatch/cargowatch/blob/main/docs/stix.md"
SCO = {  # indicator kind -> (observable type, the pattern over it)
    "container": ("cargowatch-container", "[cargowatch-container:number = {v}]"),
    "seal": ("cargowatch-seal", "[cargowatch-seal:number = {v}]"),
    "seal-range": ("cargowatch-seal", "[cargowatch-seal:prefix = {p} AND "
                   "cargowatch-seal:serial >= {a} AND cargowatch-seal:serial <= {b}]"),
    "party": ("cargowatch-party", "[cargowatch-party:party_id = {v}]"),
    "truck": ("cargowatch-truck", "[cargowatch-truck:plate = {v}]"),
    "place": ("cargowatch-place", "[cargowatch-place:locode = {v}]"),
    "route": ("cargowatch-route", "[cargowatch-route:origin = {a} AND "
              "cargowatch-route:destination = {b}]"),
}  # fmt: skip


def stamp(t: datetime) -> str:
    """A STIX timestamp: UTC, milliseconds, Z."""
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_stamp(value: Any, where: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise InvalidInput(f"{where}: {value!r} is not a STIX timestamp") from None


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern(kind: str, value: str, value_to: str = "") -> str:
    """The STIX pattern of an indicator."""
    _, shape = SCO[kind]
    if kind == "seal-range":
        a, b = service.SEAL.match(value), service.SEAL.match(value_to)
        assert a and b  # normalised() checked both
        return shape.format(p=_quoted(a.group(1)), a=int(a.group(2)), b=int(b.group(2)))
    if kind == "route":
        origin, destination = value.split("-", 1)
        return shape.format(a=_quoted(origin), b=_quoted(destination))
    return shape.format(v=_quoted(value))


def marking_definitions() -> list[dict[str, Any]]:
    """The five TLP 2.0 marking definitions as OASIS publishes them."""
    return [
        {"type": "marking-definition", "spec_version": "2.1", "id": mid,
         "created": TLP_CREATED, "name": f"TLP:{level}",
         "extensions": {TLP_EXTENSION: {"extension_type": "property-extension",
                                        "tlp_2_0": level.lower()}}}
        for level, mid in TLP_IDS.items()
    ]  # fmt: skip


def extension_definition() -> list[dict[str, Any]]:
    """Our extension definition and the identity that publishes it."""
    return [
        {"type": "identity", "spec_version": "2.1", "id": PROJECT, "created": PUBLISHED,
         "modified": PUBLISHED, "name": "cargowatch", "identity_class": "organization"},
        {"type": "extension-definition", "spec_version": "2.1", "id": EXTENSION,
         "created_by_ref": PROJECT, "created": PUBLISHED, "modified": PUBLISHED,
         "name": "cargowatch maritime observables",
         "description": "Cyber-observable types for maritime container security: "
                        "cargowatch-container (number), cargowatch-seal (number, prefix, "
                        "serial), cargowatch-party (party_id), cargowatch-truck (plate), "
                        "cargowatch-place (locode), cargowatch-route (origin, destination).",
         "schema": SCHEMA, "version": "1.0.0", "extension_types": ["new-sco"]},
    ]  # fmt: skip


def identity_of(session: Session, org_id: int) -> tuple[str, str]:
    """The STIX identity id and name of one of our organisations."""
    org = session.get(Organisation, org_id)
    slug = org.slug if org else str(org_id)
    return "identity--" + str(uuid.uuid5(NAMESPACE, f"organisation {slug}")), (
        org.name if org else slug
    )


def shareable(session: Session, principal: Principal, since: datetime | None) -> list[Bulletin]:
    """The bulletins the caller may pass on: its own, and those it received as CLEAR or
    GREEN (AMBER, AMBER+STRICT and RED stay where they were sent)."""
    query = select(Bulletin).where(service.readable(principal))
    if since is not None:
        query = query.where(Bulletin.modified_at >= since)
    found = session.scalars(query.order_by(Bulletin.created_at, Bulletin.id))
    return [b for b in found if service.may_forward(b, principal) is None]


def author_of(session: Session, b: Bulletin) -> dict[str, Any]:
    """The identity object of a bulletin's author."""
    author_ref, author = b.author_ref, b.author
    if not author_ref:
        author_ref, author = identity_of(session, b.org_id)
    return {"type": "identity", "spec_version": "2.1", "id": author_ref, "created": PUBLISHED,
            "modified": PUBLISHED, "name": author, "identity_class": "organization"}  # fmt: skip


def objects_of(
    session: Session, b: Bulletin, author_ref: str | None = None
) -> list[dict[str, Any]]:
    """A bulletin as STIX objects: its report first, then its indicators."""
    author_ref = author_ref or str(author_of(session, b)["id"])
    marking = [TLP_IDS[b.tlp]]
    created, modified = stamp(b.created_at), stamp(b.modified_at)
    indicators = []
    for i in service.indicators_of(session, b.id):
        obj: dict[str, Any] = {
            "type": "indicator", "spec_version": "2.1", "id": i.stix_id,
            "created_by_ref": author_ref, "created": created, "modified": modified,
            "name": f"{i.kind} {i.value}" + (f" to {i.value_to}" if i.value_to else ""),
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(i.kind, i.value, i.value_to), "pattern_type": "stix",
            "pattern_version": "2.1", "valid_from": created, "object_marking_refs": marking,
        }  # fmt: skip
        if i.note:
            obj["description"] = i.note
        indicators.append(obj)
    report: dict[str, Any] = {
        "type": "report", "spec_version": "2.1", "id": b.stix_id, "created_by_ref": author_ref,
        "created": created, "modified": modified, "name": b.title,
        "report_types": ["threat-report"], "published": created,
        "object_refs": [o["id"] for o in indicators] or [author_ref], "labels": [b.kind],
        "object_marking_refs": marking,
    }  # fmt: skip
    if b.body:
        report["description"] = b.body
    return [report, *indicators]


def bundle_of(
    session: Session, bulletins: list[Bulletin], incidents: list[Incident] | None = None
) -> dict[str, Any]:
    """A STIX 2.1 bundle of bulletins (with their indicators) and incidents, their authors and
    markings."""
    from cargowatch.incidents import stix as seizures

    objects: dict[str, dict[str, Any]] = {}
    for b in bulletins:
        author = author_of(session, b)
        objects.setdefault(str(author["id"]), author)
        for obj in objects_of(session, b, str(author["id"])):
            objects[str(obj["id"])] = obj
    for row in incidents or []:
        ref, name = (row.author_ref, row.author or "") if row.author_ref else identity_of(
            session, row.org_id)  # fmt: skip
        objects.setdefault(ref, {"type": "identity", "spec_version": "2.1", "id": ref,
                                 "created": PUBLISHED, "modified": PUBLISHED, "name": name,
                                 "identity_class": "organization"})  # fmt: skip
        obj = seizures.object_of(session, row, ref)
        objects[str(obj["id"])] = obj
    definitions = extension_definition()
    if incidents:
        definitions.append(seizures.extension_definition(PROJECT, PUBLISHED, SCHEMA))
    body = [*marking_definitions(), *definitions, *objects.values()]
    digest = uuid.uuid5(NAMESPACE, json.dumps(body, sort_keys=True))
    return {"type": "bundle", "id": f"bundle--{digest}", "objects": body}


def export(
    session: Session, *, principal: Principal, since: datetime | None = None
) -> dict[str, Any]:
    """A bundle of what the caller may share (bulletins and incidents); audited."""
    from cargowatch.incidents import stix as seizures

    principal.require("events:read")
    chosen = shareable(session, principal, since)
    incidents = seizures.shareable(session, principal, since)
    after = {"bulletins": len(chosen), "incidents": len(incidents),
             "since": since.isoformat() if since else None}  # fmt: skip
    audit.record(session, actor=principal, action="stix.export", entity_type="organisation",
                 entity_id=principal.org_id, after=after)  # fmt: skip
    return bundle_of(session, chosen, incidents)


def _checked(obj: dict[str, Any]) -> None:
    """The object as the STIX 2.1 library reads it (properties, types, timestamps), or
    InvalidInput naming the object and what is wrong."""
    import stix2  # type: ignore[import-untyped]
    import stix2.exceptions  # type: ignore[import-untyped]

    try:
        stix2.parse(obj, allow_custom=True, version="2.1")
    except (stix2.exceptions.STIXError, ValueError) as exc:
        raise InvalidInput(f"{obj.get('id')}: {exc}") from None


def _indicator(obj: dict[str, Any]) -> dict[str, Any]:
    """Our indicator of a STIX indicator, from its pattern (InvalidInput for one we do not
    model: its id names it)."""
    from stix2patterns.pattern import Pattern  # type: ignore[import-untyped]

    _checked(obj)
    where = f"{obj.get('id')}: pattern"
    if obj.get("pattern_type") != "stix":
        raise InvalidInput(f"{obj.get('id')}: pattern_type {obj.get('pattern_type')!r}: only stix")
    try:
        seen = Pattern(str(obj.get("pattern", ""))).inspect().comparisons
    except Exception as exc:  # the pattern library raises its parser's errors
        raise InvalidInput(f"{where}: {exc}") from None
    kinds = {sco: kind for kind, (sco, _) in SCO.items() if kind != "seal-range"}
    if len(seen) != 1:
        raise InvalidInput(f"{where}: one observable type per indicator")
    [(sco, comparisons)] = seen.items()
    values = {(".".join(map(str, path)), op): str(v).strip("'") for path, op, v in comparisons}
    note = str(obj.get("description") or "")
    if sco == "cargowatch-seal" and ("prefix", "=") in values:
        prefix = values[("prefix", "=")]
        low, high = values.get(("serial", ">=")), values.get(("serial", "<="))
        if low is None or high is None:
            raise InvalidInput(f"{where}: a seal range needs serial >= and <=")
        return {"kind": "seal-range", "value": f"{prefix}{low}", "value_to": f"{prefix}{high}",
                "stix_id": obj["id"], "note": note}  # fmt: skip
    if sco == "cargowatch-route":
        a, b = values.get(("origin", "=")), values.get(("destination", "="))
        if not a or not b:
            raise InvalidInput(f"{where}: a route needs origin and destination")
        return {"kind": "route", "value": f"{a}-{b}", "stix_id": obj["id"], "note": note}
    if sco not in kinds or len(values) != 1:
        raise InvalidInput(f"{where}: {sco!r} is not an observable cargowatch matches")
    [((_, op), value)] = values.items()
    if op != "=":
        raise InvalidInput(f"{where}: only '=' on {sco}")
    return {"kind": kinds[sco], "value": value, "stix_id": obj["id"], "note": note}


def _take_in(
    session: Session,
    principal: Principal,
    obj: dict[str, Any],
    where: str,
    tlp: str,
    indicators: list[dict[str, Any]],
    author: dict[str, Any],
    labels: list[str],
) -> None:
    """One report as a bulletin of the importing organisation."""
    service.create(
        session, principal=principal, title=str(obj.get("name") or where),
        body=str(obj.get("description") or ""), kind=labels[0] if labels else "other",
        tlp=tlp, distribution="organisation", indicators=indicators, stix_id=where,
        author=str(author.get("name") or obj.get("created_by_ref") or "unknown"),
        author_ref=str(obj.get("created_by_ref") or ""),
        created_at=parse_stamp(obj.get("created"), f"{where}: created"),
        modified_at=parse_stamp(obj.get("modified"), f"{where}: modified"), source="stix",
    )  # fmt: skip


def import_bundle(
    session: Session, *, principal: Principal, bundle: dict[str, Any]
) -> dict[str, Any]:
    """Take in a bundle's reports and their indicators as bulletins of the caller's
    organisation (for it alone: the marking travels with them, the distribution is the
    importer's to choose), idempotent on the report ids. Objects we do not model are counted
    and left; an indicator we cannot read is refused by name with the rest kept."""
    principal.require("events:write")
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise InvalidInput("not a STIX bundle: expected an object with type 'bundle'")
    objects = bundle.get("objects") or []
    if not isinstance(objects, list):
        raise InvalidInput("bundle: objects must be a list")
    by_id = {str(o.get("id")): o for o in objects if isinstance(o, dict)}
    made = kept = 0
    refused: list[str] = []
    seized = _take_in_incidents(session, principal, by_id, refused)
    for obj in by_id.values():
        if obj.get("type") != "report":
            continue
        where = str(obj.get("id"))
        try:
            _checked(obj)
        except InvalidInput as exc:
            refused.append(exc.message)
            continue
        markings = [TLP_OF[m] for m in obj.get("object_marking_refs") or [] if m in TLP_OF]
        if not markings:
            refused.append(f"{where}: no TLP 2.0 marking (refused rather than guessed)")
            continue
        tlp = max(markings, key=TLP.index)  # the strictest, when several
        indicators = []
        for ref in obj.get("object_refs") or []:
            target = by_id.get(str(ref))
            if target is None or target.get("type") != "indicator":
                continue
            try:
                indicators.append(_indicator(target))
            except InvalidInput as exc:
                refused.append(exc.message)
        author = by_id.get(str(obj.get("created_by_ref")), {})
        labels = [x for x in obj.get("labels") or [] if x in KINDS]
        before = session.scalar(select(Bulletin.id).where(
            Bulletin.org_id == principal.org_id, Bulletin.stix_id == where))  # fmt: skip
        if before is not None:
            kept += 1
            continue
        try:
            with session.begin_nested():  # one report refused leaves the others
                _take_in(session, principal, obj, where, tlp, indicators, author, labels)
        except InvalidInput as exc:
            refused.append(f"{where}: {exc.message}")
            continue
        made += 1
    modelled = ("report", "indicator", "identity", "marking-definition", "extension-definition",
                "incident")  # fmt: skip
    skipped = sum(1 for o in by_id.values() if o.get("type") not in modelled)
    audit.record(session, actor=principal, action="stix.import", entity_type="organisation",
                 entity_id=principal.org_id, after={"bulletins": made, "known": kept,
                                                    "incidents": seized[0],
                                                    "refused": len(refused)})  # fmt: skip
    return {"bulletins": made, "known": kept + seized[1], "incidents": seized[0],
            "other_objects": skipped, "refused": refused}  # fmt: skip


def _marking(obj: dict[str, Any]) -> str | None:
    """The strictest TLP 2.0 marking of an object, or None without one."""
    markings = [TLP_OF[m] for m in obj.get("object_marking_refs") or [] if m in TLP_OF]
    return max(markings, key=TLP.index) if markings else None


def _take_in_incidents(
    session: Session, principal: Principal, by_id: dict[str, dict[str, Any]], refused: list[str]
) -> tuple[int, int]:
    """The bundle's seizure incidents as incidents of the importer: (made, known)."""
    from cargowatch.incidents import stix as seizures

    made = known = 0
    for obj in by_id.values():
        if obj.get("type") != "incident":
            continue
        where = str(obj.get("id"))
        tlp = _marking(obj)
        if tlp is None:
            refused.append(f"{where}: no TLP 2.0 marking (refused rather than guessed)")
            continue
        author = by_id.get(str(obj.get("created_by_ref")), {})
        try:
            _checked(obj)
            with session.begin_nested():  # one incident refused leaves the others
                new = seizures.take_in(
                    session, principal=principal, obj=obj, tlp=tlp,
                    author=str(author.get("name") or obj.get("created_by_ref") or "unknown"),
                )  # fmt: skip
        except InvalidInput as exc:
            refused.append(exc.message if exc.message.startswith(where) else
                           f"{where}: {exc.message}")  # fmt: skip
            continue
        made, known = made + new, known + (not new)
    return made, known
