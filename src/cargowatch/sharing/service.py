"""Sharing agreements, and who may read which records: the owner, and the organisations (or
members of sharing groups) it made an agreement with for that class of data, in its scope,
while it runs.

An agreement names the classes of data it covers (`DATA_CLASSES`), its purpose and legal
basis, optionally a scope (containers, ports, lanes) and its term. Expiry ends access by
itself: every read compares the term with the clock. Every grant, change and revocation is
audited, and so is every read of another organisation's records under one (by the read
paths, as `agreement.use`).

Personal data leaves its organisation only under an agreement that names `personal-data`
(and then to the roles it names); where a partner reads findings or analyses that mention
persons without it, they appear as pseudonyms keyed per agreement (`pseudonym`), so two
partners cannot join what they were shown."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import ROLES, Principal
from cargowatch.custody.models import Trip
from cargowatch.db.base import utcnow
from cargowatch.events.models import Event
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.orgs.service import get_org
from cargowatch.sharing.models import (
    DATA_CLASSES,
    SCOPE_KINDS,
    Agreement,
    AgreementClass,
    AgreementScope,
    GroupMember,
    SharingGroup,
)

PERSONAL = "personal-data"
CUSTOMS = "customs-selections"
CUSTOMS_CODES = frozenset({"CUSS", "CUSI", "CUSR"})  # selection, inspection, release
SHARE_CLASSES = ("events", "telemetry", "alerts", "risk")  # what a container share always meant
TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_CONTAINER = re.compile(r"^[A-Z]{4}\d{7}$")


# ---------------------------------------------------------------- terms


@dataclass(frozen=True)
class ScopeItem:
    """A container, a port or a lane an agreement is limited to."""

    kind: str
    value: str
    value2: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" + (f"-{self.value2}" if self.value2 else "")


def parse_scope(text: str) -> ScopeItem:
    """`container:MSKU1234565`, `port:ECGYE` or `lane:ECGYE-BEANR`; InvalidInput naming the
    item when it is none of them."""
    kind, sep, value = text.strip().partition(":")
    kind = kind.strip().lower()
    value = value.strip().upper().replace(" ", "")
    if not sep or kind not in SCOPE_KINDS:
        raise InvalidInput(f"scope {text!r}: expected container:NUMBER, port:LOCODE or "
                           "lane:LOCODE-LOCODE")  # fmt: skip
    if kind == "container":
        value = value.replace("-", "")
        if not _CONTAINER.match(value):
            raise InvalidInput(f"scope {text!r}: a container number is 4 letters and 7 digits")
        return ScopeItem(kind, value)
    if kind == "port":
        if not _LOCODE.match(value):
            raise InvalidInput(f"scope {text!r}: a port is a UN/LOCODE such as ECGYE")
        return ScopeItem(kind, value)
    origin, _, destination = value.partition("-")
    if not (_LOCODE.match(origin) and _LOCODE.match(destination)):
        raise InvalidInput(f"scope {text!r}: a lane is two UN/LOCODEs, as ECGYE-BEANR")
    return ScopeItem(kind, origin, destination)


def _check_classes(classes: Iterable[str]) -> list[str]:
    out = sorted({c.strip().lower() for c in classes if c.strip()})
    if not out:
        raise InvalidInput(
            f"an agreement names at least one class of data: {', '.join(DATA_CLASSES)}"
        )
    bad = [c for c in out if c not in DATA_CLASSES]
    if bad:
        raise InvalidInput(f"class {bad[0]!r}: expected one of {', '.join(DATA_CLASSES)}")
    return out


@dataclass
class Terms:
    """What an agreement grants, as its owner states it."""

    classes: list[str]
    purpose: str
    legal_basis: str
    scopes: list[ScopeItem]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    personal_roles: list[str] | None = None
    tlp: str = "AMBER"


def _validated(terms: Terms) -> Terms:
    classes = _check_classes(terms.classes)
    if not terms.purpose.strip():
        raise InvalidInput("an agreement states its purpose")
    if not terms.legal_basis.strip():
        raise InvalidInput("an agreement states its legal basis")
    tlp = terms.tlp.strip().upper()
    if tlp not in TLP_LEVELS:
        raise InvalidInput(f"tlp {terms.tlp!r}: expected one of {', '.join(TLP_LEVELS)}")
    roles = sorted({r.strip() for r in terms.personal_roles or [] if r.strip()})
    for role in roles:
        if role not in ROLES:
            raise InvalidInput(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if PERSONAL in classes and not roles:
        roles = ["admin", "analyst"]
    if PERSONAL not in classes and roles:
        raise InvalidInput("roles for personal data need the personal-data class")
    for at in (terms.valid_from, terms.valid_until):
        if at is not None and at.tzinfo is None:
            raise InvalidInput("an agreement's term needs times with their UTC offset")
    if terms.valid_from and terms.valid_until and terms.valid_until <= terms.valid_from:
        raise InvalidInput("an agreement ends after it starts")
    scopes = sorted(set(terms.scopes), key=str)
    return Terms(classes, terms.purpose.strip()[:500], terms.legal_basis.strip()[:500], scopes,
                 terms.valid_from, terms.valid_until, roles, tlp)  # fmt: skip


def classes_of(session: Session, agreement_id: int) -> list[str]:
    """The classes of data an agreement covers."""
    return sorted(session.scalars(
        select(AgreementClass.data_class).where(AgreementClass.agreement_id == agreement_id)
    ))  # fmt: skip


def scopes_of(session: Session, agreement_id: int) -> list[ScopeItem]:
    """What an agreement is limited to (nothing: all the owner's records of its classes)."""
    rows = session.execute(
        select(AgreementScope.kind, AgreementScope.value, AgreementScope.value2)
        .where(AgreementScope.agreement_id == agreement_id)
    ).all()  # fmt: skip
    return sorted((ScopeItem(k, v, v2) for k, v, v2 in rows), key=str)


def _same(session: Session, a: Agreement, terms: Terms) -> bool:
    return (
        classes_of(session, a.id) == terms.classes
        and scopes_of(session, a.id) == terms.scopes
        and a.purpose == terms.purpose
        and a.legal_basis == terms.legal_basis
        and a.valid_until == terms.valid_until
        and a.tlp == terms.tlp
        and sorted(filter(None, a.personal_roles.split(","))) == (terms.personal_roles or [])
    )


# ---------------------------------------------------------------- writing


def create_agreement(
    session: Session,
    *,
    principal: Principal,
    terms: Terms,
    grantee_slug: str | None = None,
    group_slug: str | None = None,
) -> Agreement:
    """An agreement of the caller's organisation with another organisation or a sharing group
    it belongs to. Making the same agreement again while it runs returns it (a retry is
    safe). Personal data is the admins' call alone."""
    principal.require("shares:manage")
    terms = _validated(terms)
    if PERSONAL in terms.classes:
        principal.require("users:manage")
    if (grantee_slug is None) == (group_slug is None):
        raise InvalidInput("an agreement is with one organisation or one sharing group")
    grantee_org_id: int | None = None
    group_id: int | None = None
    if grantee_slug is not None:
        grantee = get_org(session, slug=grantee_slug)
        if grantee.id == principal.org_id:
            raise InvalidInput("an organisation always sees its own records")
        grantee_org_id = grantee.id
    else:
        group = session.scalar(select(SharingGroup).where(SharingGroup.slug == group_slug))
        member = group is not None and session.scalar(select(GroupMember.id).where(
            GroupMember.group_id == group.id, GroupMember.org_id == principal.org_id))  # fmt: skip
        if group is None or not member:
            raise NotFound(f"no sharing group {group_slug!r}")
        group_id = group.id
    now = utcnow()
    for found in session.scalars(
        select(Agreement).where(
            Agreement.owner_org_id == principal.org_id,
            Agreement.grantee_org_id.is_(None) if grantee_org_id is None
            else Agreement.grantee_org_id == grantee_org_id,
            Agreement.grantee_group_id.is_(None) if group_id is None
            else Agreement.grantee_group_id == group_id,
            _running(now),
        )
    ):  # fmt: skip
        if _same(session, found, terms):
            return found
    agreement = Agreement(
        owner_org_id=principal.org_id, grantee_org_id=grantee_org_id, grantee_group_id=group_id,
        purpose=terms.purpose, legal_basis=terms.legal_basis, tlp=terms.tlp,
        personal_roles=",".join(terms.personal_roles or []),
        valid_from=terms.valid_from or now, valid_until=terms.valid_until,
        pseudonym_key=secrets.token_hex(32), created_by=principal.label,
    )  # fmt: skip
    session.add(agreement)
    session.flush()
    session.add_all(AgreementClass(agreement_id=agreement.id, data_class=c) for c in terms.classes)
    session.add_all(AgreementScope(agreement_id=agreement.id, kind=s.kind, value=s.value,
                                   value2=s.value2) for s in terms.scopes)  # fmt: skip
    session.flush()
    audit.record(
        session, actor=principal, action="agreement.grant", entity_type="agreement",
        entity_id=agreement.id, after=describe(session, agreement),
    )  # fmt: skip
    return agreement


def _owned(session: Session, principal: Principal, agreement_id: int) -> Agreement:
    principal.require("shares:manage")
    agreement = session.get(Agreement, agreement_id)
    if agreement is None or agreement.owner_org_id != principal.org_id:
        raise NotFound(f"no agreement {agreement_id}")
    if PERSONAL in classes_of(session, agreement.id):
        principal.require("users:manage")  # who may read staff records is the admins' call
    return agreement


def amend(
    session: Session,
    *,
    principal: Principal,
    agreement_id: int,
    valid_until: datetime | str | None = "keep",
    classes: Sequence[str] | None = None,
    personal_roles: Sequence[str] | None = None,
) -> Agreement:
    """Change an agreement's end, classes or personal-data roles; audited with before and
    after. Scope and parties do not change: make a new agreement."""
    agreement = _owned(session, principal, agreement_id)
    if agreement.revoked_at is not None:
        raise InvalidInput(f"agreement {agreement_id} was revoked")
    before = describe(session, agreement)
    terms = Terms(
        classes=list(classes) if classes is not None else classes_of(session, agreement.id),
        purpose=agreement.purpose, legal_basis=agreement.legal_basis,
        scopes=scopes_of(session, agreement.id), valid_from=agreement.valid_from,
        valid_until=agreement.valid_until if isinstance(valid_until, str) else valid_until,
        personal_roles=list(personal_roles) if personal_roles is not None
        else [r for r in agreement.personal_roles.split(",") if r],
        tlp=agreement.tlp,
    )  # fmt: skip
    if classes is not None and PERSONAL not in classes and personal_roles is None:
        terms.personal_roles = []  # personal data dropped: its roles go with it
    terms = _validated(terms)
    if PERSONAL in terms.classes:
        principal.require("users:manage")
    agreement.valid_until = terms.valid_until
    agreement.personal_roles = ",".join(terms.personal_roles or [])
    if classes is not None:
        session.query(AgreementClass).filter(AgreementClass.agreement_id == agreement.id).delete()
        session.add_all(AgreementClass(agreement_id=agreement.id, data_class=c)
                        for c in terms.classes)  # fmt: skip
    session.flush()
    after = describe(session, agreement)
    if after != before:
        audit.record(session, actor=principal, action="agreement.amend",
                     entity_type="agreement", entity_id=agreement.id, before=before,
                     after=after)  # fmt: skip
    return agreement


def revoke_agreement(session: Session, *, principal: Principal, agreement_id: int) -> Agreement:
    """End an agreement now (revoking twice is a no-op); audited."""
    agreement = _owned(session, principal, agreement_id)
    if agreement.revoked_at is None:
        agreement.revoked_at = utcnow()
        agreement.revoked_by = principal.label
        audit.record(session, actor=principal, action="agreement.revoke",
                     entity_type="agreement", entity_id=agreement.id,
                     before=describe(session, agreement))  # fmt: skip
    return agreement


# ---------------------------------------------------------------- reading agreements


def status(agreement: Agreement, now: datetime | None = None) -> str:
    """revoked, expired, pending (starts later) or active."""
    now = now or utcnow()
    if agreement.revoked_at is not None:
        return "revoked"
    if agreement.valid_until is not None and agreement.valid_until <= now:
        return "expired"
    if agreement.valid_from > now:
        return "pending"
    return "active"


def describe(session: Session, a: Agreement) -> dict[str, Any]:
    """An agreement as the API and the audit trail show it (never its pseudonym key)."""
    from cargowatch.orgs.models import Organisation

    def slug(org_id: int | None) -> str | None:
        return None if org_id is None else session.scalar(
            select(Organisation.slug).where(Organisation.id == org_id))  # fmt: skip

    group = None if a.grantee_group_id is None else session.scalar(
        select(SharingGroup.slug).where(SharingGroup.id == a.grantee_group_id))  # fmt: skip
    return {
        "id": a.id, "owner": slug(a.owner_org_id), "grantee": slug(a.grantee_org_id),
        "group": group, "classes": classes_of(session, a.id),
        "scopes": [str(s) for s in scopes_of(session, a.id)],
        "purpose": a.purpose, "legal_basis": a.legal_basis, "tlp": a.tlp,
        "personal_roles": [r for r in a.personal_roles.split(",") if r],
        "valid_from": a.valid_from.isoformat(),
        "valid_until": a.valid_until.isoformat() if a.valid_until else None,
        "status": status(a), "created_by": a.created_by,
        "revoked_by": a.revoked_by,
    }  # fmt: skip


def _my_groups(org_id: int) -> Any:
    return select(GroupMember.group_id).where(GroupMember.org_id == org_id).scalar_subquery()


def _to(org_id: int) -> ColumnElement[bool]:
    return or_(
        Agreement.grantee_org_id == org_id, Agreement.grantee_group_id.in_(_my_groups(org_id))
    )


def _running(now: datetime) -> ColumnElement[bool]:
    return and_(
        Agreement.revoked_at.is_(None),
        Agreement.valid_from <= now,
        or_(Agreement.valid_until.is_(None), Agreement.valid_until > now),
    )


def list_agreements(session: Session, *, principal: Principal) -> list[Agreement]:
    """Agreements the caller's organisation made, and those made with it or its groups
    (running or not)."""
    principal.require("events:read")
    return list(session.scalars(
        select(Agreement)
        .where(or_(Agreement.owner_org_id == principal.org_id, _to(principal.org_id)))
        .order_by(Agreement.id)
    ))  # fmt: skip


def get_agreement(session: Session, *, principal: Principal, agreement_id: int) -> Agreement:
    """One agreement the caller's organisation made or received."""
    principal.require("events:read")
    found = session.scalar(select(Agreement).where(
        Agreement.id == agreement_id,
        or_(Agreement.owner_org_id == principal.org_id, _to(principal.org_id))))  # fmt: skip
    if found is None:
        raise NotFound(f"no agreement {agreement_id}")
    return found


# ---------------------------------------------------------------- reading records


def granted(org_id: int, data_class: str, now: datetime | None = None) -> Any:
    """Ids of the agreements running now that let org_id read data_class."""
    if data_class not in DATA_CLASSES:
        raise ValueError(f"unknown class of data {data_class!r}")
    return (
        select(Agreement.id)
        .join(AgreementClass, AgreementClass.agreement_id == Agreement.id)
        .where(AgreementClass.data_class == data_class, _running(now or utcnow()), _to(org_id))
    )


def whole_owners(org_id: int, data_class: str) -> Any:
    """Organisations that let org_id read all their records of data_class."""
    return select(Agreement.owner_org_id).where(
        Agreement.id.in_(granted(org_id, data_class).scalar_subquery()),
        ~exists(select(AgreementScope.id).where(AgreementScope.agreement_id == Agreement.id)),
    )


def any_owners(org_id: int, data_class: str) -> Any:
    """Organisations that let org_id read some of their records of data_class."""
    return select(Agreement.owner_org_id).where(
        Agreement.id.in_(granted(org_id, data_class).scalar_subquery())
    )


def _scoped_pairs(org_id: int, data_class: str) -> Any:
    """(owner organisation, container) pairs that scoped agreements let org_id read: the
    containers named, and those of the owner's trips from or to a port or along a lane."""
    ids = granted(org_id, data_class).scalar_subquery()
    s = AgreementScope
    boxes = (
        select(Agreement.owner_org_id.label("org"), s.value.label("box"))
        .join(s, s.agreement_id == Agreement.id)
        .where(Agreement.id.in_(ids), s.kind == "container")
    )
    on_trip = or_(
        and_(s.kind == "port", or_(Trip.origin == s.value, Trip.destination == s.value)),
        and_(s.kind == "lane", Trip.origin == s.value, Trip.destination == s.value2),
    )
    places = (
        select(Agreement.owner_org_id, Trip.container)
        .join(s, s.agreement_id == Agreement.id)
        .join(Trip, and_(Trip.org_id == Agreement.owner_org_id, on_trip))
        .where(Agreement.id.in_(ids), s.kind.in_(("port", "lane")))
    )
    return union_all(boxes, places)


def has_scoped(session: Session, principal: Principal, data_class: str) -> bool:
    """Whether some agreement lets the caller read data_class of only some containers."""
    return bool(session.scalar(select(func.count()).select_from(AgreementScope).where(
        AgreementScope.agreement_id.in_(granted(principal.org_id, data_class).scalar_subquery())
    )))  # fmt: skip


def visible(
    principal: Principal, org_id: Any, container: Any, data_class: str = "events"
) -> ColumnElement[bool]:
    """WHERE clause for container records (events, trips, telemetry, alerts, scores) of
    data_class the principal may read: its own organisation's, and those another
    organisation's running agreements let it read (all of them, or in their scope).

    The agreements are read by subqueries that do not depend on the row (the store reads them
    once), so a page of the queue walks the score index instead of testing every trip."""
    return or_(
        org_id == principal.org_id,
        org_id.in_(whole_owners(principal.org_id, data_class).scalar_subquery()),
        tuple_(org_id, container).in_(_scoped_pairs(principal.org_id, data_class)),
    )


def visible_events(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause of events principal may read: customs selections and inspections of
    another organisation only under an agreement that names them."""
    customs = Event.event_code.in_(CUSTOMS_CODES)
    return or_(
        Event.org_id == principal.org_id,
        and_(or_(Event.event_code.is_(None), ~customs),
             visible(principal, Event.org_id, Event.container, "events")),
        and_(customs, visible(principal, Event.org_id, Event.container, CUSTOMS)),
    )  # fmt: skip


def governing(
    session: Session, principal: Principal, owner_org_id: int, data_class: str = "events"
) -> Agreement | None:
    """The agreement under which the caller reads owner_org_id's data_class (the oldest
    running one), to show with what it reads; None for its own records or without one."""
    if owner_org_id == principal.org_id:
        return None
    return session.scalar(
        select(Agreement)
        .where(Agreement.owner_org_id == owner_org_id,
               Agreement.id.in_(granted(principal.org_id, data_class).scalar_subquery()))
        .order_by(Agreement.id).limit(1)
    )  # fmt: skip


def record_use(
    session: Session, principal: Principal, owners: Iterable[int], what: str, count: int
) -> None:
    """Audit that the caller read records of other organisations under their agreements."""
    others = sorted({o for o in owners if o != principal.org_id})
    if others:
        audit.record(session, actor=principal, action="agreement.use", entity_type=what,
                     entity_id=",".join(map(str, others)), after={"records": count})  # fmt: skip


# ---------------------------------------------------------------- personal data


def _personal_agreements(
    session: Session, principal: Principal, owner_org_id: int
) -> list[Agreement]:
    return list(session.scalars(
        select(Agreement).where(
            Agreement.owner_org_id == owner_org_id,
            Agreement.id.in_(granted(principal.org_id, PERSONAL).scalar_subquery()),
        )
    ))  # fmt: skip


def may_read_personal(session: Session, principal: Principal, owner_org_id: int) -> bool:
    """Whether principal may read personal data owned by owner_org_id: its own organisation's
    admins and analysts, and the roles an agreement naming personal data lets read it."""
    if principal.org_id == owner_org_id:
        return principal.role in ("admin", "analyst")
    return any(principal.role in a.personal_roles.split(",")
               for a in _personal_agreements(session, principal, owner_org_id))  # fmt: skip


def personal_owners(session: Session, principal: Principal) -> list[int]:
    """Organisations whose personal data principal may read."""
    owners = {principal.org_id} if principal.role in ("admin", "analyst") else set()
    for a in session.scalars(
        select(Agreement).where(
            Agreement.id.in_(granted(principal.org_id, PERSONAL).scalar_subquery())
        )
    ):
        if principal.role in a.personal_roles.split(","):
            owners.add(a.owner_org_id)
    return sorted(owners)


def pseudonym_key(session: Session, principal: Principal, owner_org_id: int) -> str | None:
    """The key that pseudonymises owner_org_id's persons for the caller: the oldest running
    agreement of that owner with the caller (any class); None without one."""
    if owner_org_id == principal.org_id:
        return None
    return session.scalar(
        select(Agreement.pseudonym_key)
        .where(Agreement.owner_org_id == owner_org_id, _to(principal.org_id),
               _running(utcnow()))
        .order_by(Agreement.id).limit(1)
    )  # fmt: skip


def pseudonym(key: str, kind: str, value: object) -> str:
    """A stable pseudonym of a person or badge under one agreement's key: the same person is
    the same pseudonym for that partner, and a different one for any other."""
    digest = hmac.new(bytes.fromhex(key), f"{kind}:{value}".encode(), hashlib.sha256)
    return f"{kind[:1]}-{digest.hexdigest()[:12]}"


# ---------------------------------------------------------------- shares (shortcuts)


def share_view(session: Session, a: Agreement) -> dict[str, Any]:
    """An agreement seen as a share: container (one container), all-events or personal-data."""
    classes = classes_of(session, a.id)
    scopes = scopes_of(session, a.id)
    if classes == [PERSONAL]:
        scope, value = PERSONAL, a.personal_roles
    elif len(scopes) == 1 and scopes[0].kind == "container":
        scope, value = "container", scopes[0].value
    elif not scopes:
        scope, value = "all-events", ""
    else:
        scope, value = "agreement", ",".join(map(str, scopes))
    return {"id": a.id, "owner_org_id": a.owner_org_id, "grantee_org_id": a.grantee_org_id or 0,
            "scope": scope, "value": value}  # fmt: skip


def grant(
    session: Session, *, principal: Principal, grantee_slug: str, scope: str, value: str = ""
) -> Agreement:
    """Let grantee read the caller's organisation's events (with their trips, telemetry,
    alerts and scores) of one container, or all of them: an agreement with those classes."""
    principal.require("shares:manage")
    if scope == PERSONAL:
        principal.require("users:manage")
        raise InvalidInput(
            "personal data is shared per role: 'cargowatch shares grant-personal' (admins only)"
        )
    if scope not in ("container", "all-events"):
        raise InvalidInput(f"scope {scope!r}: expected one of container, all-events, {PERSONAL}")
    if scope == "container" and not value:
        raise InvalidInput("a container share needs the container number")
    scopes = [parse_scope(f"container:{value}")] if scope == "container" else []
    what = f"container {scopes[0].value}" if scopes else "all events"
    terms = Terms(classes=list(SHARE_CLASSES), purpose=f"Share of {what}",
                  legal_basis="the owner's consent", scopes=scopes)  # fmt: skip
    return create_agreement(session, principal=principal, terms=terms, grantee_slug=grantee_slug)


def grant_personal(
    session: Session, *, principal: Principal, grantee_slug: str, role: str
) -> Agreement:
    """Let users of grantee_slug in role read the caller's organisation's personal data: the
    running personal-data agreement with that organisation gains the role, or one is made."""
    principal.require("users:manage")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r}: expected one of {', '.join(ROLES)}")
    grantee = get_org(session, slug=grantee_slug)
    for found in session.scalars(
        select(Agreement).where(
            Agreement.owner_org_id == principal.org_id, Agreement.grantee_org_id == grantee.id,
            _running(utcnow()),
        ).order_by(Agreement.id)
    ):  # fmt: skip
        if classes_of(session, found.id) == [PERSONAL]:
            roles = [r for r in found.personal_roles.split(",") if r]
            if role in roles:
                return found
            return amend(session, principal=principal, agreement_id=found.id,
                         personal_roles=[*roles, role])  # fmt: skip
    terms = Terms(classes=[PERSONAL], purpose="Personal data for joint analysis",
                  legal_basis="the owner's decision", scopes=[],
                  personal_roles=[role])  # fmt: skip
    return create_agreement(session, principal=principal, terms=terms, grantee_slug=grantee_slug)


def revoke(session: Session, *, principal: Principal, share_id: int) -> None:
    """Withdraw one of the caller's organisation's shares (its agreement)."""
    revoke_agreement(session, principal=principal, agreement_id=share_id)


def list_shares(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """Running agreements between the caller's organisation and another, as shares."""
    now = utcnow()
    rows = session.scalars(
        select(Agreement).where(
            or_(Agreement.owner_org_id == principal.org_id,
                Agreement.grantee_org_id == principal.org_id),
            Agreement.grantee_org_id.is_not(None), _running(now),
        ).order_by(Agreement.id)
    )  # fmt: skip
    return [share_view(session, a) for a in rows]
