"""What happens around a referral, in one transaction each: sending it (stored, routed, its
trips rescored, its points of contact notified), moving it along, escalating what was not
acknowledged in time (the backup, then the organisation's admins), and feedback released when
its hold date has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from cargowatch.audit import service as audit
from cargowatch.auth.models import User
from cargowatch.auth.principal import Principal
from cargowatch.config import get_settings
from cargowatch.db.base import utcnow
from cargowatch.db.engine import get_engine, unit_of_work
from cargowatch.jobs.runner import tick
from cargowatch.jobs.service import enqueue
from cargowatch.referrals import attachments, notify, service, views
from cargowatch.referrals.models import ENDED, Feedback, Referral, ReferralCopy, Spoc
from cargowatch.referrals.sla import add_working

RESCORE = "risk.rescore"  # the risk domain's job: rescore some containers' trips


def _rescore(session: Any, row: Referral, copies: list[ReferralCopy], cause: str, by: str) -> None:
    """Rescore the trips of a referral's containers for its referrer and the Customs
    organisations of these copies."""
    boxes = [b for b in row.containers.split(",") if b]
    if not boxes:
        return
    for org_id in sorted({row.org_id, *(c.customs_org_id for c in copies)}):
        enqueue(session, org_id=org_id, kind=RESCORE, created_by=by,
                payload={"containers": boxes, "cause": cause})  # fmt: skip


def send(
    *,
    principal: Principal,
    engine: Engine | None = None,
    files: list[tuple[str, bytes]] | None = None,
    **fields: Any,
) -> tuple[dict[str, Any], bool]:
    """Store and route a referral with its files (every file checked first: one refused
    refuses the referral, nothing stored); its containers' trips are rescored for the
    referrer and every Customs organisation it reached, and each point of contact is mailed
    and, with a webhook, called. Returns the referrer's view and whether it is new."""
    for name, data in files or []:
        attachments.check(name, data)
    with unit_of_work(engine or get_engine()) as session:
        row, copies, new = service.submit(session, principal=principal, **fields)
        for name, data in files or []:
            attachments.attach(session, principal=principal, referral_id=row.id, name=name,
                               data=data)  # fmt: skip
        if new:
            _rescore(session, row, copies, f"referral {row.id} ({row.category})", principal.label)
            for copy in copies:
                _tell_spoc(session, row, copy, "referral.submitted", principal.label)
        return views.full(session, principal=principal, referral_id=row.id), new


def send_many(
    *, principal: Principal, bodies: list[dict[str, Any]], engine: Engine | None = None
) -> list[service.Sent]:
    """Store and route a batch of referrals in one transaction (a bulk import): each body
    checked on its own, a refused one reported and the others stored; the trips of the new
    ones' containers rescored (one job per organisation), every point of contact told."""
    with unit_of_work(engine or get_engine()) as session:
        results = service.submit_many(session, principal=principal, bodies=bodies)
        boxes: dict[int, set[str]] = {}
        for sent in results:
            if not (sent.new and sent.referral):
                continue
            row = sent.referral
            for org_id in {row.org_id, *(c.customs_org_id for c in sent.copies)}:
                boxes.setdefault(org_id, set()).update(b for b in row.containers.split(",") if b)
            for copy in sent.copies:
                _tell_spoc(session, row, copy, "referral.submitted", principal.label)
        for org_id, some in sorted(boxes.items()):
            if some:
                enqueue(session, org_id=org_id, kind=RESCORE, created_by=principal.label,
                        payload={"containers": sorted(some),
                                 "cause": f"{len(results)} referrals received"})  # fmt: skip
        session.flush()
        for thing in {id(x): x for r in results for x in (r.referral, *r.copies) if x}.values():
            session.expunge(thing)  # the caller reads them after the commit
        return results


def _tell_spoc(session: Any, row: Referral, copy: ReferralCopy, event: str, by: str) -> None:
    spoc = session.get(Spoc, copy.spoc_id) if copy.spoc_id else None
    if spoc is None:
        return
    subject = f"[cargowatch] {row.urgency} referral {row.id}: {row.category} ({row.tlp})"
    text = (
        f"A referral was routed to {spoc.name} ({copy.routed_by}).\n"
        f"Containers: {row.containers or '-'}\nAcknowledge by {copy.due_at:%Y-%m-%d %H:%M} UTC.\n"
        f"{get_settings().base_url}/referrals/{row.id}\n"
    )
    notify.tell_spoc(session, spoc=spoc, referral=row, copy=copy, subject=subject, text=text,
                     event=event, created_by=by)  # fmt: skip


def move(
    *, principal: Principal, referral_id: int, engine: Engine | None = None, **fields: Any
) -> dict[str, Any]:
    """A step of the workflow; when a copy ends, its trips are rescored (the open referral
    no longer weighs on them)."""
    with unit_of_work(engine or get_engine()) as session:
        copy = service.move(session, principal=principal, referral_id=referral_id, **fields)
        row, copies = service.get(session, principal=principal, referral_id=referral_id)
        if copy.state in ENDED:
            _rescore(session, row, copies, f"referral {row.id} {copy.state}", principal.label)
        return views.full(session, principal=principal, referral_id=referral_id)


def escalate_due(engine: Engine, now: datetime | None = None) -> int:
    """Escalate every copy still not acknowledged when due: first to the point of contact's
    backup, then to the Customs organisation's admins (in-app, and mailed where they have an
    address); each step audited, each with a new due time. Returns how many were escalated."""
    at = now or utcnow()
    done = 0
    with unit_of_work(engine) as session:
        due = session.scalars(
            select(ReferralCopy)
            .where(
                ReferralCopy.state == "submitted",
                ReferralCopy.due_at < at,
                ReferralCopy.escalation < 2,
            )
            .order_by(ReferralCopy.due_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        ).all()
        for copy in due:
            row = session.get(Referral, copy.referral_id)
            spoc = session.get(Spoc, copy.spoc_id) if copy.spoc_id else None
            if row is None or spoc is None:
                continue
            copy.escalation += 1
            minutes = spoc.urgent_minutes if row.urgency == "urgent" else spoc.routine_minutes
            copy.due_at = add_working(at, minutes, service.hours_of(spoc))
            subject = (
                f"[cargowatch] NOT ACKNOWLEDGED in time: referral {row.id} ({row.urgency}, "
                f"{row.category})"
            )
            text = (
                f"Referral {row.id} routed to {spoc.name} was due for acknowledgement and is "
                f"not acknowledged. Escalation level {copy.escalation}.\n"
                f"{get_settings().base_url}/referrals/{row.id}\n"
            )
            targets: list[tuple[str, str]] = []
            if copy.escalation == 1 and spoc.backup_email:
                targets.append(("email", spoc.backup_email))
            if copy.escalation == 2 or not spoc.backup_email:
                admins = session.scalars(
                    select(User).where(
                        User.org_id == copy.customs_org_id,
                        User.role == "admin",
                        User.active.is_(True),
                    )
                ).all()
                targets += [("app", str(u.id)) for u in admins]
            for channel, target in targets:
                notify.queue(
                    session,
                    org_id=copy.customs_org_id,
                    channel=channel,
                    target=target,
                    subject=subject,
                    body=text,
                    referral_id=row.id,
                    spoc_id=spoc.id,
                    created_by="escalation",
                )
            audit.record(
                session,
                actor="cargowatch (escalation)",
                action="referral.escalate",
                entity_type="referral",
                entity_id=row.id,
                after={
                    "copy": copy.id,
                    "level": copy.escalation,
                    "to": [t for _, t in targets],
                    "due_at": copy.due_at.isoformat(),
                },
            )
            done += 1
    return done


def give_feedback(
    *, principal: Principal, referral_id: int, engine: Engine | None = None, **fields: Any
) -> Feedback:
    """Feedback for the referrer (released by the worker when due)."""
    with unit_of_work(engine or get_engine()) as session:
        row = service.give_feedback(session, principal=principal, referral_id=referral_id, **fields)
        session.expunge(row)
        return row


def release_due(engine: Engine, now: datetime | None = None) -> int:
    """Release the feedback whose hold date has passed (and that was reviewed when its point
    of contact asks for a review); the referrer is told in-app. Returns how many."""
    with unit_of_work(engine) as session:
        return service.release_due(session, now=now or utcnow())


@tick("referrals")
def _referrals_tick(engine: Engine) -> None:
    """On every pass of the worker: escalate what is overdue, release feedback that is due."""
    escalate_due(engine)
    release_due(engine)
