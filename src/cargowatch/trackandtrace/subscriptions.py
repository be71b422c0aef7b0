"""DCSA Track & Trace 2.2 event subscriptions: a partner registers a callback URL, a Base64
secret and filters (the subscription body's fields); every event it may read that matches is
POSTed to the callback as DCSA writes it, in batches, oldest first, signed as DCSA specifies
(`Notification-Signature: sha256=<HMAC-SHA256 of the body under the secret>`, with
`Subscription-ID` and `API-Version`). Delivery runs on the job queue: a worker check finds
subscriptions with new events and queues one job each; a failed POST is retried with backoff
(the subscription records the error and when it tries next). Delivery is at least once: the
receiver may see a batch again after a crash, and tells them apart by eventID.

The secret is kept encrypted (Fernet, under a key derived from the installation's secret),
never returned; it reads events with the rights of the user who made the subscription, so a
revoked agreement or a deactivated user stops what it receives."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import urllib.request
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event, TransportCall
from cargowatch.exceptions import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from cargowatch.jobs.runner import handler, tick
from cargowatch.jobs.service import enqueue
from cargowatch.sealed import seal, unseal
from cargowatch.sharing.service import record_use, visible_events
from cargowatch.trackandtrace.models import EventSubscription
from cargowatch.trackandtrace.serialize import v22
from cargowatch.trackandtrace.service import Query, where

NOTIFY = "tnt.notify"
PURPOSE = "tnt-subscriptions"
BATCH = 100  # events a notification carries at most
TIMEOUT = 10  # seconds for a receiver to answer
BACKOFF = timedelta(seconds=10)  # doubled after each failure, up to MAX_BACKOFF
MAX_BACKOFF = timedelta(hours=1)
LISTS = ("eventType", "shipmentEventTypeCode", "documentTypeCode", "transportEventTypeCode",
         "equipmentEventTypeCode")  # fmt: skip
SINGLES = ("carrierBookingReference", "bookingReference", "transportDocumentReference",
           "transportDocumentID", "transportCallID", "vesselIMONumber", "carrierVoyageNumber",
           "exportVoyageNumber", "carrierServiceCode", "UNLocationCode",
           "equipmentReference")  # fmt: skip
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def _secret_bytes(secret: str) -> bytes:
    try:
        raw = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("secret: expected Base64 (the shared secret, encoded)") from None
    if len(raw) < 16:
        raise InvalidInput("secret: at least 16 bytes once decoded")
    if len(raw) > 1024:
        raise InvalidInput("secret: at most 1,024 bytes once decoded")
    return raw


def signature(secret: bytes, body: bytes) -> str:
    """The Notification-Signature header's value for body: sha256=<hex HMAC>."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _filters(body: dict[str, Any]) -> dict[str, str]:
    """The subscription body's filters as the T&T query's parameters; every one checked."""
    out: dict[str, str] = {}
    for name in LISTS:
        value = body.get(name)
        if value in (None, [], ""):
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"{name}: expected a list of codes")
        out[name] = ",".join(value)
    for name in SINGLES:
        value = body.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > 100:
            raise InvalidInput(f"{name}: expected text of at most 100 characters")
        out[name] = value
    where(Query(version="2", filters=out))  # a code that is not one is named now
    return out


def _callback(url: object) -> str:
    if not isinstance(url, str) or not _URL.match(url) or len(url) > 2000:
        raise InvalidInput("callbackUrl: expected an http or https address")
    return url


def view(sub: EventSubscription) -> dict[str, Any]:
    """A subscription as DCSA writes it (never its secret)."""
    body: dict[str, Any] = {"subscriptionID": sub.subscription_id,
                            "callbackUrl": sub.callback_url}  # fmt: skip
    for name, value in json.loads(sub.filters).items():
        body[name] = value.split(",") if name in LISTS else value
    return body


def status(sub: EventSubscription) -> dict[str, Any]:
    """A subscription's delivery state, for its owner's pages and commands."""
    return {**view(sub), "delivered": sub.delivered, "failures": sub.failures,
            "lastError": sub.last_error,
            "lastDeliveryDateTime": sub.last_delivery_at.isoformat()
            if sub.last_delivery_at else None,
            "nextAttemptDateTime": sub.next_attempt_at.isoformat()}  # fmt: skip


def create(session: Session, *, principal: Principal, body: dict[str, Any]) -> EventSubscription:
    """A subscription of the caller's organisation, from a DCSA subscription body with its
    secret; it receives the events that arrive from now on."""
    principal.require("events:read")
    secret = body.get("secret")
    if not isinstance(secret, str):
        raise InvalidInput("secret: required (Base64)")
    raw = _secret_bytes(secret)
    sub = EventSubscription(
        subscription_id=str(uuid.uuid4()), org_id=principal.org_id, created_by=principal.username,
        callback_url=_callback(body.get("callbackUrl")),
        filters=json.dumps(_filters(body), sort_keys=True),
        secret_enc=seal(PURPOSE, raw),
        cursor=int(session.scalar(select(func.max(Event.id))) or 0),
    )  # fmt: skip
    session.add(sub)
    session.flush()
    audit.record(session, actor=principal, action="subscription.create",
                 entity_type="event-subscription", entity_id=sub.subscription_id,
                 after=view(sub))  # fmt: skip
    return sub


def listed(
    session: Session, *, principal: Principal, limit: int = 100, offset: int = 0
) -> list[EventSubscription]:
    """The caller's organisation's subscriptions, oldest first."""
    principal.require("events:read")
    return list(session.scalars(
        select(EventSubscription).where(EventSubscription.org_id == principal.org_id)
        .order_by(EventSubscription.id).limit(limit).offset(offset)
    ))  # fmt: skip


def get(session: Session, *, principal: Principal, subscription_id: str) -> EventSubscription:
    """One of the caller's organisation's subscriptions (404 for anyone else's)."""
    principal.require("events:read")
    found = session.scalar(select(EventSubscription).where(
        EventSubscription.subscription_id == subscription_id.strip().lower(),
        EventSubscription.org_id == principal.org_id))  # fmt: skip
    if found is None:
        raise NotFound(f"no subscription {subscription_id}")
    return found


def update(
    session: Session, *, principal: Principal, subscription_id: str, body: dict[str, Any]
) -> EventSubscription:
    """New callback and filters (DCSA's PUT: the whole body; the secret is not changed here)."""
    sub = get(session, principal=principal, subscription_id=subscription_id)
    given = body.get("subscriptionID")
    if given not in (None, sub.subscription_id):
        raise InvalidInput("subscriptionID: differs from the subscription in the path")
    if "secret" in body:
        raise InvalidInput("secret: change it with PUT .../secret")
    before = view(sub)
    sub.callback_url = _callback(body.get("callbackUrl"))
    sub.filters = json.dumps(_filters(body), sort_keys=True)
    audit.record(session, actor=principal, action="subscription.update",
                 entity_type="event-subscription", entity_id=sub.subscription_id,
                 before=before, after=view(sub))  # fmt: skip
    return sub


def reset_secret(
    session: Session, *, principal: Principal, subscription_id: str, secret: object
) -> None:
    """A new shared secret (audited; the secret itself never is)."""
    sub = get(session, principal=principal, subscription_id=subscription_id)
    if not isinstance(secret, str):
        raise InvalidInput("secret: required (Base64)")
    sub.secret_enc = seal(PURPOSE, _secret_bytes(secret))
    audit.record(session, actor=principal, action="subscription.secret",
                 entity_type="event-subscription", entity_id=sub.subscription_id)  # fmt: skip


def delete(session: Session, *, principal: Principal, subscription_id: str) -> None:
    """Stop a subscription (audited)."""
    sub = get(session, principal=principal, subscription_id=subscription_id)
    audit.record(session, actor=principal, action="subscription.delete",
                 entity_type="event-subscription", entity_id=sub.subscription_id,
                 before=view(sub))  # fmt: skip
    session.delete(sub)


# ---------------------------------------------------------------- delivery


def queue_due(engine: Engine) -> int:
    """Queue a delivery job for each subscription with events past its cursor whose next
    attempt is due (one waiting job per subscription at most); how many were queued."""
    with unit_of_work(engine) as session:
        newest = int(session.scalar(select(func.max(Event.id))) or 0)
        due = session.execute(
            select(EventSubscription.id, EventSubscription.org_id).where(
                EventSubscription.cursor < newest, EventSubscription.next_attempt_at <= utcnow()
            )
        ).all()
        for sub_id, org_id in due:
            enqueue(session, org_id=org_id, kind=NOTIFY, key=f"tnt-sub-{sub_id}",
                    payload={"subscription": sub_id}, created_by="tnt-subscriptions")  # fmt: skip
    return len(due)


@tick("tnt-subscriptions")
def _queue_due(engine: Engine) -> None:
    queue_due(engine)


@handler(NOTIFY)
def _notify(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Send the next batch of one subscription; a failure is written on the subscription
    (error, next attempt) and raised, so the job is tried again with backoff."""
    from cargowatch.auth.service import principal_for_username

    with unit_of_work(engine) as session:
        sub = session.get(EventSubscription, int(payload["subscription"]))
        if sub is None:
            return  # deleted since
        try:
            principal = principal_for_username(session, sub.created_by)
            principal.require("events:read")
        except (NotAuthenticated, PermissionDenied):
            sub.last_error = f"its user {sub.created_by} may no longer read events: nothing is sent"
            sub.next_attempt_at = utcnow() + MAX_BACKOFF
            return
        rows = session.execute(
            select(Event, TransportCall)
            .outerjoin(TransportCall, TransportCall.id == Event.transport_call_id)
            .where(Event.id > sub.cursor, visible_events(principal),
                   *where(Query(version="2", filters=json.loads(sub.filters))))
            .order_by(Event.id).limit(BATCH)
        ).all()  # fmt: skip
        if not rows:
            sub.cursor = max(sub.cursor, int(session.scalar(select(func.max(Event.id))) or 0))
            return
        events = [x for x in (v22(e, c) for e, c in rows) if x is not None]
        body = json.dumps(events, separators=(",", ":")).encode()
        try:
            secret = unseal(PURPOSE, sub.secret_enc)
        except InvalidInput:
            sub.last_error = "its secret cannot be read with this installation's key: reset it"
            sub.next_attempt_at = utcnow() + MAX_BACKOFF
            return
        error = _post(sub, body, secret) if events else None
        if error is None:
            sub.cursor = rows[-1][0].id
            sub.delivered += len(events)
            sub.failures, sub.last_error = 0, None
            sub.last_delivery_at = sub.next_attempt_at = utcnow()
            record_use(session, principal, (e.org_id for e, _ in rows), "event-subscription",
                       len(events))  # fmt: skip
            if len(rows) == BATCH:  # more waiting: the next batch at once
                enqueue(
                    session,
                    org_id=org_id,
                    kind=NOTIFY,
                    key=f"tnt-sub-{sub.id}",
                    payload={"subscription": sub.id},
                    created_by="tnt-subscriptions",
                )
            return
        sub.failures += 1
        sub.last_error = error[:2000]
        sub.next_attempt_at = utcnow() + min(BACKOFF * 2 ** (sub.failures - 1), MAX_BACKOFF)
    raise RuntimeError(f"subscription {payload['subscription']}: {error}")


def _post(sub: EventSubscription, body: bytes, secret: bytes) -> str | None:
    """POST one notification; None when the receiver took it, else why not."""
    from cargowatch.outbound import check_address

    try:
        check_address(sub.callback_url)
    except InvalidInput as exc:
        return exc.message
    request = urllib.request.Request(
        sub.callback_url, data=body, method="POST",
        headers={"Content-Type": "application/json", "API-Version": "2.2.0",
                 "Subscription-ID": sub.subscription_id,
                 "Notification-Signature": signature(secret, body)},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            if 200 <= answer.status < 300:
                return None
            return f"the receiver answered {answer.status}"
    except OSError as exc:  # refused, timed out, HTTP errors (HTTPError is one)
        return f"{type(exc).__name__}: {exc}"
