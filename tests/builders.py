"""Builders of test data: organisations, users, tokens and DCSA events."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from sqlalchemy import Engine

from cargowatch.auth.principal import Principal
from cargowatch.auth.service import create_token, create_user, principal_for_username
from cargowatch.db.engine import unit_of_work
from cargowatch.orgs.service import create_org


def org_with_user(
    engine: Engine, slug: str, *, role: str = "analyst", kind: str = "CUSTOMS"
) -> Principal:
    """A new organisation with one user named '<slug>-user'; returns that user as a principal."""
    with unit_of_work(engine) as s:
        create_org(s, actor="test", slug=slug, name=slug.title(), kind=kind)
        create_user(s, actor="test", org_slug=slug, username=f"{slug}-user", role=role)
    with unit_of_work(engine) as s:
        return principal_for_username(s, f"{slug}-user")


def user_in(engine: Engine, org_slug: str, username: str, role: str) -> Principal:
    """Another user of an existing organisation."""
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug=org_slug, username=username, role=role)
    with unit_of_work(engine) as s:
        return principal_for_username(s, username)


def token_for(engine: Engine, username: str) -> str:
    """A fresh API token for username."""
    with unit_of_work(engine) as s:
        _tok, plain = create_token(s, actor="test", username=username, name="test")
    return plain


EQUIPMENT_22: dict[str, Any] = {
    "eventID": "00000000-0000-4000-8000-000000000001",
    "eventCreatedDateTime": "2025-03-01T04:10:00Z",
    "eventType": "EQUIPMENT",
    "eventClassifierCode": "ACT",
    "eventDateTime": "2025-03-01T02:10:00-02:00",
    "equipmentEventTypeCode": "GTIN",
    "equipmentReference": "CSQU3054383",
    "ISOEquipmentCode": "45R1",
    "emptyIndicatorCode": "LADEN",
    "eventLocation": {"UNLocationCode": "ECGYE", "facilityCode": "CGSA", "latitude": "-2.2866",
                      "longitude": "-79.9050"},
    "documentReferences": [{"documentReferenceType": "BKG", "documentReferenceValue": "BKG1"}],
    "seals": [{"sealNumber": "ML123456", "sealSource": "CAR", "sealType": "BLT"}],
}  # fmt: skip

EQUIPMENT_30: dict[str, Any] = {
    "eventID": "evt-30-0001",
    "eventDateTime": "2025-03-02T10:00:00+01:00",
    "eventUpdatedDateTime": "2025-03-02T09:05:00Z",
    "eventLocation": {"UNLocationCode": "BEANR", "facilityTypeCode": "POTE"},
    "eventClassification": {"eventTypeCode": "EQUIPMENT", "eventClassifierCode": "ACT",
                            "equipmentEventTypeCode": "DISC"},
    "equipmentDetails": {"equipmentReference": "CSQU3054383", "emptyIndicatorCode": "LADEN",
                         "seals": [{"number": "ML123456", "source": "CAR", "type": "BLT"}]},
}  # fmt: skip


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    ev = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            ev.pop(key, None)
        else:
            ev[key] = value
    return ev


def uuid_for(name: str) -> str:
    """The UUID a test's short event name stands for (DCSA 2.2 event ids are UUIDs)."""
    try:
        return str(uuid.UUID(name))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cargowatch-test:{name}"))


def event22(**changes: Any) -> dict[str, Any]:
    """A valid DCSA 2.2 equipment event with changes applied (None removes a field); a short
    eventID ('c1') becomes the UUID uuid_for gives it."""
    if isinstance(changes.get("eventID"), str):
        changes["eventID"] = uuid_for(changes["eventID"])
    return _changed(EQUIPMENT_22, changes)


def event30(**changes: Any) -> dict[str, Any]:
    """A valid DCSA 3.0 equipment event with changes applied (None removes a field)."""
    return _changed(EQUIPMENT_30, changes)


def ndjson(events: list[dict[str, Any]]) -> bytes:
    """Events as NDJSON bytes."""
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)
