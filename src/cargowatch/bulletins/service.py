"""Bulletins: written by one organisation, marked TLP 2.0, sent to its own organisation, a
sharing group, its community (every organisation sharing a group with it) or everyone here,
and TLP:RED only to the organisations named. A recipient may pass CLEAR and GREEN on, within
its community for GREEN; AMBER and AMBER+STRICT stay with the recipient organisation and RED
with those named. Every write and forward is audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.bulletins.models import (
    DISTRIBUTIONS,
    INDICATOR_KINDS,
    KINDS,
    TLP,
    Bulletin,
    BulletinRecipient,
    Indicator,
    Watch,
)
from cargowatch.db.base import utcnow
from cargowatch.exceptions import InvalidInput, NotFound, PermissionDenied
from cargowatch.orgs.models import Organisation
from cargowatch.orgs.service import get_org
from cargowatch.sharing.groups import community_of, groups_of, is_member
from cargowatch.sharing.models import SharingGroup

LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
SEAL = re.compile(r"^([A-Z]*)(\d+)$")


def _plain(value: str) -> str:
    return re.sub(r"[\s-]+", "", value).upper()


def normalised(kind: str, value: str, value_to: str = "") -> tuple[str, str]:
    """An indicator's value as stored and matched, or InvalidInput naming what is wrong."""
    if kind not in INDICATOR_KINDS:
        raise InvalidInput(f"indicator kind {kind!r}: expected one of {', '.join(INDICATOR_KINDS)}")
    value, value_to = value.strip(), value_to.strip()
    if not value or len(value) > 200 or len(value_to) > 200:
        raise InvalidInput(f"{kind} indicator: a value of 1 to 200 characters")
    if kind in ("container", "seal", "truck"):
        return _plain(value), ""
    if kind == "seal-range":
        a, b = SEAL.match(_plain(value)), SEAL.match(_plain(value_to))
        if not a or not b or a.group(1) != b.group(1) or int(a.group(2)) > int(b.group(2)):
            raise InvalidInput("seal-range indicator: two seal numbers with the same letters, "
                               "the first not above the second")  # fmt: skip
        return _plain(value), _plain(value_to)
    if kind == "place":
        place = value.upper()
        if not LOCODE.match(place.split(":", 1)[0]):
            raise InvalidInput(f"place indicator {value!r}: a UN/LOCODE or LOCODE:facility")
        return place, ""
    if kind == "route":
        ends = [p.strip().upper() for p in re.split(r"[>-]", value) if p.strip()]
        if len(ends) != 2 or not all(LOCODE.match(p) for p in ends):
            raise InvalidInput(f"route indicator {value!r}: two UN/LOCODEs, 'ECGYE-BEANR'")
        return "-".join(ends), ""
    return value, ""  # a party identifier, as the registers spell it


def readable(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause of the bulletins principal's organisation may read."""
    return readable_by(principal.org_id)


def readable_by(me: int) -> ColumnElement[bool]:
    """The WHERE clause of the bulletins organisation me may read."""
    named = select(BulletinRecipient.bulletin_id).where(BulletinRecipient.org_id == me)
    not_red = Bulletin.tlp != "RED"
    return or_(
        Bulletin.org_id == me,
        Bulletin.id.in_(named),
        and_(not_red, Bulletin.distribution == "all"),
        and_(not_red, Bulletin.distribution == "group", Bulletin.group_id.in_(groups_of(me))),
        and_(not_red, Bulletin.distribution == "community",
             Bulletin.org_id.in_(community_of(me))),
    )  # fmt: skip


def create(
    session: Session,
    *,
    principal: Principal,
    title: str,
    body: str = "",
    kind: str = "other",
    tlp: str = "AMBER",
    distribution: str = "group",
    group: str | None = None,
    recipients: Iterable[str] = (),
    indicators: Iterable[dict[str, Any]] = (),
    stix_id: str | None = None,
    author: str | None = None,
    author_ref: str = "",
    created_at: datetime | None = None,
    modified_at: datetime | None = None,
    source: str = "local",
) -> Bulletin:
    """Write a bulletin with its indicators. With a stix_id the organisation holds already,
    the stored one is returned unchanged (an import or a retry is idempotent)."""
    principal.require("events:write")
    if stix_id:
        found = session.scalar(select(Bulletin).where(
            Bulletin.org_id == principal.org_id, Bulletin.stix_id == stix_id))  # fmt: skip
        if found is not None:
            return found
    tlp = tlp.upper()
    if tlp not in TLP:
        raise InvalidInput(f"tlp {tlp!r}: expected one of {', '.join(TLP)}")
    if distribution not in DISTRIBUTIONS:
        raise InvalidInput(f"distribution {distribution!r}: expected one of "
                           f"{', '.join(DISTRIBUTIONS)}")  # fmt: skip
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not title.strip():
        raise InvalidInput("a bulletin needs a title")
    group_id = None
    if distribution == "group":
        if not group:
            raise InvalidInput("distribution 'group' needs the group")
        g = session.scalar(select(SharingGroup).where(SharingGroup.slug == group))
        if g is None or not is_member(session, principal.org_id, g.id):
            raise NotFound(f"no sharing group {group!r}")
        group_id = g.id
    names = sorted(set(recipients))
    if tlp == "RED" and not names and source == "local":  # an import is for the importer
        raise InvalidInput("TLP:RED goes only to the organisations named: name at least one")
    orgs = [get_org(session, slug=s) for s in names]
    now = utcnow()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # STIX keeps milliseconds
    b = Bulletin(
        org_id=principal.org_id, stix_id=stix_id or f"report--{uuid.uuid4()}",
        title=title.strip()[:300], body=body, kind=kind, tlp=tlp, distribution=distribution,
        group_id=group_id, author=(author or principal.org_slug)[:200], author_ref=author_ref[:64],
        source=source,
        created_at=created_at or now, modified_at=modified_at or created_at or now, added_at=now,
    )  # fmt: skip
    session.add(b)
    session.flush()
    for org in orgs:
        if org.id != principal.org_id:
            session.add(BulletinRecipient(bulletin_id=b.id, org_id=org.id))
    for i in indicators:
        value, value_to = normalised(str(i.get("kind", "")), str(i.get("value", "")),
                                     str(i.get("value_to") or ""))  # fmt: skip
        session.add(Indicator(
            bulletin_id=b.id, stix_id=str(i.get("stix_id") or f"indicator--{uuid.uuid4()}"),
            kind=str(i["kind"]), value=value, value_to=value_to,
            note=str(i.get("note") or "")[:500]))  # fmt: skip
    session.flush()
    audit.record(session, actor=principal, action="bulletin.create", entity_type="bulletin",
                 entity_id=b.id, after={"title": b.title, "tlp": tlp, "distribution": distribution,
                                        "group": group, "recipients": names,
                                        "source": source})  # fmt: skip
    return b


def get(session: Session, *, principal: Principal, bulletin_id: int) -> Bulletin:
    """One bulletin the caller may read, or NotFound (the same whether absent or not shared)."""
    principal.require("events:read")
    b = session.scalar(select(Bulletin).where(Bulletin.id == bulletin_id, readable(principal)))
    if b is None:
        raise NotFound(f"no bulletin {bulletin_id}")
    return b


def listed(session: Session, *, principal: Principal, limit: int = 100) -> list[Bulletin]:
    """The bulletins the caller may read, newest first."""
    principal.require("events:read")
    return list(session.scalars(
        select(Bulletin).where(readable(principal))
        .order_by(Bulletin.created_at.desc(), Bulletin.id.desc()).limit(limit)))  # fmt: skip


def indicators_of(session: Session, bulletin_id: int) -> list[Indicator]:
    """A bulletin's indicators in the order written."""
    query = select(Indicator).where(Indicator.bulletin_id == bulletin_id)
    return list(session.scalars(query.order_by(Indicator.id)))


def view(session: Session, b: Bulletin, principal: Principal) -> dict[str, Any]:
    """A bulletin as the API gives it: the named recipients only to its author."""
    group = session.get(SharingGroup, b.group_id) if b.group_id else None
    origin = session.get(Organisation, b.org_id)
    out: dict[str, Any] = {
        "id": b.id, "stix_id": b.stix_id, "title": b.title, "body": b.body, "kind": b.kind,
        "tlp": b.tlp, "distribution": b.distribution, "group": group.slug if group else None,
        "organisation": origin.slug if origin else None, "author": b.author, "source": b.source,
        "created_at": b.created_at.isoformat(), "modified_at": b.modified_at.isoformat(),
        "may_forward": may_forward(b, principal) is None,
        "indicators": [{"id": i.id, "stix_id": i.stix_id, "kind": i.kind, "value": i.value,
                        "value_to": i.value_to or None, "note": i.note}
                       for i in indicators_of(session, b.id)],
    }  # fmt: skip
    if b.org_id == principal.org_id:
        out["recipients"] = sorted(session.scalars(select(Organisation.slug).join(
            BulletinRecipient, BulletinRecipient.org_id == Organisation.id
        ).where(BulletinRecipient.bulletin_id == b.id)).all())  # fmt: skip
    return out


def may_forward(b: Bulletin, principal: Principal) -> str | None:
    """Why the caller may not pass the bulletin to other organisations (None: it may)."""
    if b.org_id == principal.org_id and b.source == "local":
        return None  # the author decides its own distribution; an import was received
    return {
        "RED": "TLP:RED: only the organisations the author named may read it",
        "AMBER+STRICT": "TLP:AMBER+STRICT: it stays within your organisation",
        "AMBER": "TLP:AMBER: your organisation and its clients only; ask the author to "
        "send it further",
    }.get(b.tlp)


def forward(
    session: Session, *, principal: Principal, bulletin_id: int, to: Iterable[str]
) -> list[str]:
    """Pass a bulletin to more organisations (named recipients from now on), as its marking
    allows: CLEAR to anyone here, GREEN within the caller's community; returns those added."""
    principal.require("shares:manage")
    b = get(session, principal=principal, bulletin_id=bulletin_id)
    why = may_forward(b, principal)
    if why:
        raise PermissionDenied(f"bulletin {bulletin_id} may not be passed on: {why}")
    added: list[str] = []
    community = set(session.scalars(community_of(principal.org_id)).all())
    for slug in sorted(set(to)):
        org = get_org(session, slug=slug)
        received = b.org_id != principal.org_id or b.source != "local"
        if b.tlp == "GREEN" and received and org.id not in community:
            raise PermissionDenied(f"TLP:GREEN: {slug!r} is outside your community "
                                   "(no sharing group in common)")  # fmt: skip
        known = session.scalar(select(BulletinRecipient.id).where(
            BulletinRecipient.bulletin_id == b.id, BulletinRecipient.org_id == org.id))  # fmt: skip
        if known is None and org.id != b.org_id:
            via = principal.org_id if received else None
            session.add(BulletinRecipient(bulletin_id=b.id, org_id=org.id, via_org_id=via))
            added.append(slug)
    audit.record(session, actor=principal, action="bulletin.forward", entity_type="bulletin",
                 entity_id=b.id, after={"to": added, "tlp": b.tlp})  # fmt: skip
    return added


def watch(session: Session, *, principal: Principal, bulletin_id: int) -> bool:
    """Turn a bulletin the caller may read into a watchlist of its organisation (the risk
    engine matches its indicators: `watchlist-hit`); its trips are rescored. False when it
    was watched already."""
    principal.require("events:write")
    b = get(session, principal=principal, bulletin_id=bulletin_id)
    known = session.scalar(select(Watch.id).where(
        Watch.org_id == principal.org_id, Watch.bulletin_id == b.id))  # fmt: skip
    if known is not None:
        return False
    session.add(Watch(org_id=principal.org_id, bulletin_id=b.id, created_by=principal.label))
    _rescore(session, principal, f"bulletin {b.id} watched")
    audit.record(session, actor=principal, action="bulletin.watch", entity_type="bulletin",
                 entity_id=b.id, after={"title": b.title})  # fmt: skip
    return True


def unwatch(session: Session, *, principal: Principal, bulletin_id: int) -> None:
    """Stop watching a bulletin; its trips are rescored."""
    principal.require("events:write")
    w = session.scalar(select(Watch).where(
        Watch.org_id == principal.org_id, Watch.bulletin_id == bulletin_id))  # fmt: skip
    if w is None:
        raise NotFound(f"bulletin {bulletin_id} is not on your watchlist")
    session.delete(w)
    _rescore(session, principal, f"bulletin {bulletin_id} no longer watched")
    audit.record(session, actor=principal, action="bulletin.unwatch", entity_type="bulletin",
                 entity_id=bulletin_id)  # fmt: skip


def _rescore(session: Session, principal: Principal, cause: str) -> None:
    from cargowatch.jobs.service import enqueue

    enqueue(session, org_id=principal.org_id, kind="risk.rescore-all", key=None,
            payload={"cause": cause}, created_by=principal.label)  # fmt: skip


def watchlist(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The organisation's watched bulletins it may still read, with their indicators."""
    principal.require("events:read")
    rows = session.scalars(
        select(Bulletin).join(Watch, Watch.bulletin_id == Bulletin.id)
        .where(Watch.org_id == principal.org_id, readable(principal))
        .order_by(Watch.created_at.desc())
    )  # fmt: skip
    return [view(session, b, principal) for b in rows]


def watched_indicators(org_id: int) -> Any:
    """The query of the indicators an organisation watches (bulletins it may still read):
    bulletin id, kind, value, value_to, the bulletin's creation."""
    return (
        select(Indicator.bulletin_id, Indicator.kind, Indicator.value, Indicator.value_to,
               Bulletin.created_at)
        .join(Bulletin, Bulletin.id == Indicator.bulletin_id)
        .join(Watch, Watch.bulletin_id == Bulletin.id)
        .where(Watch.org_id == org_id, readable_by(org_id))
    )  # fmt: skip
