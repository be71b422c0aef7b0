"""Notifications of referrals: e-mail over SMTP, webhooks signed with HMAC-SHA256 over a
timestamp and the body, and in-app messages; each a delivery row, sent by a job of the durable
queue (retried with backoff when the server or the receiver is away) and logged per attempt.

A webhook's key is derived from the installation's secret and the point of contact's id, so it
is never stored; its administrator reads it from the API (`GET /api/v1/spocs/{id}/webhook-key`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import urllib.request
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.config import get_settings
from cargowatch.db.base import utcnow
from cargowatch.db.engine import unit_of_work
from cargowatch.jobs.runner import handler
from cargowatch.jobs.service import enqueue
from cargowatch.referrals.models import Delivery

DELIVER = "notify.deliver"
TIMEOUT = 10  # seconds for an SMTP server or a webhook receiver to answer


def webhook_key(spoc_id: int) -> str:
    """The key that signs a point of contact's webhooks (hex)."""
    secret = get_settings().session_key().encode()
    return hmac.new(secret, f"webhook:{spoc_id}".encode(), hashlib.sha256).hexdigest()


def signature(key: str, timestamp: str, body: bytes) -> str:
    """The signature a receiver checks: HMAC-SHA256 of "timestamp." and the body, hex."""
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def queue(
    session: Session,
    *,
    org_id: int,
    channel: str,
    target: str,
    subject: str,
    body: str,
    referral_id: int | None = None,
    spoc_id: int | None = None,
    created_by: str = "",
) -> Delivery:
    """A delivery and the job that sends it, in the caller's transaction."""
    row = Delivery(
        org_id=org_id,
        channel=channel,
        target=target[:500],
        subject=subject[:300],
        body=body,
        referral_id=referral_id,
        spoc_id=spoc_id,
    )
    session.add(row)
    session.flush()
    enqueue(
        session,
        org_id=org_id,
        kind=DELIVER,
        payload={"delivery": row.id},
        key=f"delivery-{row.id}",
        created_by=created_by,
    )
    return row


def tell_spoc(
    session: Session, *, spoc: Any, referral: Any, copy: Any, subject: str, text: str,
    event: str, created_by: str,
) -> None:  # fmt: skip
    """Mail a point of contact (when it has an address) and call its webhook (when it has
    one) about a referral copy routed to it; the webhook carries the signed payload."""
    common = {"org_id": copy.customs_org_id, "subject": subject, "referral_id": referral.id,
              "spoc_id": spoc.id, "created_by": created_by}  # fmt: skip
    if spoc.email:
        queue(session, channel="email", target=spoc.email, body=text, **common)
    if spoc.webhook_url:
        queue(session, channel="webhook", target=spoc.webhook_url,
              body=payload_of(referral, copy, event), **common)  # fmt: skip


@handler(DELIVER)
def _deliver(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Send one delivery; a failure is written down and raised, so the job is tried again."""
    with unit_of_work(engine) as session:
        row = session.get(Delivery, int(payload["delivery"]))
        if row is None or row.status == "sent":
            return  # sent already (a retry after the send, before the job was closed)
        row.attempts += 1
        error: Exception | None = None
        try:
            if row.channel == "email":
                _mail(row)
            elif row.channel == "webhook":
                _post(row)
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
        except Exception as exc:
            row.status, row.last_error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            error = exc
    if error is not None:
        raise RuntimeError(f"delivery {payload['delivery']} failed: {error}") from error


def _mail(row: Delivery) -> None:
    settings = get_settings()
    url = urlparse(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.target
    message["Subject"] = row.subject
    message.set_content(row.body)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(url.hostname or "127.0.0.1", url.port or 25, timeout=TIMEOUT) as smtp:
        if url.username:
            smtp.login(url.username, url.password or "")
        smtp.send_message(message)


def _post(row: Delivery) -> None:
    if row.spoc_id is None:
        raise ValueError("a webhook delivery names its point of contact")
    from cargowatch.outbound import check_address

    check_address(row.target)
    body = row.body.encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        row.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Cargowatch-Timestamp": stamp,
            "X-Cargowatch-Signature": "sha256=" + signature(webhook_key(row.spoc_id), stamp, body),
            "X-Cargowatch-Delivery": str(row.id),
        },
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        if not 200 <= answer.status < 300:
            raise ValueError(f"the receiver answered {answer.status}")


def payload_of(referral: Any, copy: Any, event: str) -> str:
    """A webhook's JSON body: what happened and where to read it, no more than the
    recipient (the Customs organisation the copy is routed to) may see."""
    return json.dumps(
        {
            "event": event,
            "referral": referral.id,
            "category": referral.category,
            "urgency": referral.urgency,
            "tlp": referral.tlp,
            "containers": [x for x in referral.containers.split(",") if x],
            "state": copy.state,
            "due_at": copy.due_at.isoformat() if copy.due_at else None,
            "url": f"{get_settings().base_url}/referrals/{referral.id}",
        },
        separators=(",", ":"),
    )


def for_user(
    session: Session, *, principal: Principal, unread_only: bool = False, limit: int = 100
) -> list[Delivery]:
    """The caller's in-app notifications, newest first."""
    query = select(Delivery).where(
        Delivery.channel == "app",
        Delivery.target == str(principal.user_id),
        Delivery.org_id == principal.org_id,
    )
    if unread_only:
        query = query.where(Delivery.read_at.is_(None))
    return list(session.scalars(query.order_by(Delivery.id.desc()).limit(limit)))


def unread(session: Session, *, principal: Principal) -> int:
    """How many in-app notifications the caller has not read."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.channel == "app",
                Delivery.target == str(principal.user_id),
                Delivery.read_at.is_(None),
                Delivery.org_id == principal.org_id,
            )
        )
        or 0
    )


def mark_read(session: Session, *, principal: Principal, ids: list[int] | None = None) -> int:
    """Mark the caller's notifications read (these, or all); returns how many changed."""
    query = select(Delivery).where(
        Delivery.channel == "app",
        Delivery.target == str(principal.user_id),
        Delivery.org_id == principal.org_id,
        Delivery.read_at.is_(None),
    )
    if ids is not None:
        query = query.where(Delivery.id.in_(ids[:500]))
    rows = session.scalars(query.limit(1000)).all()
    at = utcnow()
    for row in rows:
        row.read_at = at
    session.flush()
    if rows:
        from cargowatch.audit import service as audit

        audit.record(session, actor=principal, action="notification.read",
                     entity_type="user", entity_id=principal.user_id,
                     after={"notifications": [r.id for r in rows]})  # fmt: skip
    return len(rows)


def view(row: Delivery) -> dict[str, Any]:
    """An in-app notification as the API shows it."""
    return {
        "id": row.id,
        "subject": row.subject,
        "body": row.body,
        "referral_id": row.referral_id,
        "created_at": row.created_at,
        "read_at": row.read_at,
    }
