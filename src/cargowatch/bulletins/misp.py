"""Bulletins as MISP events (PyMISP's event model), and back: the title is the event's info,
the body a `text` attribute of category `Other` commented "description", each indicator an
attribute with a `cargowatch:indicator` tag naming its kind (a seal range as `FIRST..LAST`),
the marking a `tlp:` tag, the kind a `cargowatch:kind` tag, the author the creator
organisation, the creation the publish timestamp (MISP keeps seconds, and sets an event's
own timestamp on its server), the ids the UUIDs of the STIX ids. Distribution levels map both ways:
organisation 0, community 1, all 3, a sharing group 4 (its name); taken in, a level wider
than the marking allows a recipient (AMBER, AMBER+STRICT, RED) is the importer's alone."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.bulletins import service, stix
from cargowatch.bulletins.models import KINDS, TLP, Bulletin
from cargowatch.exceptions import InvalidInput
from cargowatch.sharing.groups import is_member
from cargowatch.sharing.models import SharingGroup

LEVEL = {"organisation": 0, "community": 1, "all": 3, "group": 4}
FROM_LEVEL = {0: "organisation", 1: "community", 2: "community", 3: "all", 4: "group"}
KIND_TAG = re.compile(r'^cargowatch:indicator="([a-z-]+)"$')
BULLETIN_KIND_TAG = re.compile(r'^cargowatch:kind="([a-z-]+)"$')
DESCRIPTION = "description"


def _uuid(stix_id: str) -> str:
    return stix_id.split("--", 1)[-1]


def event_of(session: Session, b: Bulletin) -> dict[str, Any]:
    """One bulletin as a MISP event (the JSON PyMISP writes)."""
    from pymisp import MISPAttribute, MISPEvent, MISPOrganisation, MISPSharingGroup

    e = MISPEvent()
    e.uuid = _uuid(b.stix_id)
    e.info = b.title
    e.distribution = LEVEL[b.distribution]
    e.threat_level_id = 2
    e.analysis = 2
    created = b.created_at if b.created_at.tzinfo else b.created_at.replace(tzinfo=UTC)
    e.date = created.date()
    e.publish_timestamp = created  # MISP sets an event's timestamp itself, on its server
    orgc = MISPOrganisation()
    orgc.name = b.author
    e.Orgc = orgc
    group = session.get(SharingGroup, b.group_id) if b.group_id else None
    if b.distribution == "group" and group is not None:
        shared = MISPSharingGroup()
        shared.name = group.slug
        e.sharing_group_id = group.id
        e.SharingGroup = shared
    e.add_tag(f"tlp:{b.tlp.lower()}")
    e.add_tag(f'cargowatch:kind="{b.kind}"')
    if b.body:
        e.add_attribute("text", b.body, category="Other", comment=DESCRIPTION,
                        to_ids=False)  # fmt: skip
    for i in service.indicators_of(session, b.id):
        value = f"{i.value}..{i.value_to}" if i.kind == "seal-range" else i.value
        a = e.add_attribute("text", value, category="Other", comment=i.note, to_ids=True,
                            uuid=_uuid(i.stix_id))  # fmt: skip
        assert isinstance(a, MISPAttribute)
        a.add_tag(f'cargowatch:indicator="{i.kind}"')
    out: dict[str, Any] = json.loads(e.to_json())
    return {"Event": out}


def export(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The bulletins the caller may share, as MISP events; audited."""
    principal.require("events:read")
    chosen = stix.shareable(session, principal, None)
    audit.record(session, actor=principal, action="misp.export", entity_type="organisation",
                 entity_id=principal.org_id, after={"bulletins": len(chosen)})  # fmt: skip
    return [event_of(session, b) for b in chosen]


def _tags(obj: dict[str, Any]) -> list[str]:
    return [str(t.get("name", "")) for t in obj.get("Tag") or [] if isinstance(t, dict)]


def _moment(value: Any) -> datetime:
    """A PyMISP timestamp (a datetime, or seconds since 1970) as a UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and value:
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)


def _creator(raw: dict[str, Any]) -> str:
    orgc = raw.get("Orgc") or {}
    return str(orgc.get("name") or "unknown") if isinstance(orgc, dict) else "unknown"


def import_events(
    session: Session, *, principal: Principal, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """Several MISP events; one that cannot be read is refused by name, the others kept."""
    made, refused = 0, []
    for n, event in enumerate(events, start=1):
        try:
            with session.begin_nested():
                import_event(session, principal=principal, event=event)
            made += 1
        except InvalidInput as exc:
            refused.append(f"event {n}: {exc.message}")
    return {"events": made, "refused": refused}


def import_event(session: Session, *, principal: Principal, event: dict[str, Any]) -> Bulletin:
    """One MISP event as a bulletin of the importing organisation (idempotent on its UUID)."""
    from pymisp import MISPEvent

    event = copy.deepcopy(event)  # PyMISP takes the keys it reads out of what it is given
    raw = copy.deepcopy(event.get("Event", event))
    e = MISPEvent()
    try:
        e.from_dict(**event)
    except Exception as exc:  # PyMISP raises its own errors and KeyErrors on bad shapes
        raise InvalidInput(f"not a MISP event: {exc}") from None
    where = f"event {e.uuid}"
    tags = _tags(raw)
    levels = [t.removeprefix("tlp:").upper() for t in tags if t.startswith("tlp:")]
    levels = ["CLEAR" if x == "WHITE" else x for x in levels if x in (*TLP, "WHITE")]
    if not levels:
        raise InvalidInput(f"{where}: no tlp: tag (refused rather than guessed)")
    tlp = max(levels, key=TLP.index)
    kind = next((m.group(1) for t in tags if (m := BULLETIN_KIND_TAG.match(t))), "other")
    distribution = FROM_LEVEL.get(int(e.distribution or 0), "organisation")
    group = None
    if distribution == "group":
        name = str((raw.get("SharingGroup") or {}).get("name") or "")
        g = session.scalar(select(SharingGroup).where(SharingGroup.slug == name))
        if g is not None and is_member(session, principal.org_id, g.id):
            group = g.slug
        else:
            distribution = "organisation"
    if tlp in ("AMBER", "AMBER+STRICT", "RED"):  # a recipient may not send it further
        distribution, group = "organisation", None
    body, indicators = "", []
    for a in e.attributes:
        if a.comment == DESCRIPTION and a.type == "text" and not a.to_ids:
            body = str(a.value)
            continue
        kinds = [m.group(1) for t in a.tags if (m := KIND_TAG.match(t.name))]
        if not kinds:
            continue  # an attribute we do not model
        value, value_to = str(a.value), ""
        if kinds[0] == "seal-range":
            value, _, value_to = value.partition("..")
        indicators.append({"kind": kinds[0], "value": value, "value_to": value_to,
                           "note": a.comment or "", "stix_id": f"indicator--{a.uuid}"})  # fmt: skip
    created = _moment(getattr(e, "publish_timestamp", None) or getattr(e, "timestamp", None))
    modified = _moment(getattr(e, "timestamp", None) or created)
    b = service.create(
        session, principal=principal, title=str(e.info or where), body=body,
        kind=kind if kind in KINDS else "other", tlp=tlp, distribution=distribution,
        group=group, indicators=indicators, stix_id=f"report--{e.uuid}",
        author=_creator(raw),
        created_at=created, modified_at=modified, source="misp",
    )  # fmt: skip
    audit.record(session, actor=principal, action="misp.import", entity_type="bulletin",
                 entity_id=b.id, after={"uuid": str(e.uuid)})  # fmt: skip
    return b
