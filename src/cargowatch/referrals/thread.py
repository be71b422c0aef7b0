"""The conversation about a referral: a Customs organisation asks the referrer a question on
its own copy, the referrer answers there. Each Customs organisation has its own thread with
the referrer; none reads another's. Each message is audited and its recipient is told
(in-app, and by mail to the referrer's contact or the point of contact's address and webhook),
without the words of the message leaving cargowatch."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.models import User
from cargowatch.auth.principal import Principal
from cargowatch.config import get_settings
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.orgs.models import Organisation
from cargowatch.referrals import notify, service
from cargowatch.referrals.models import Message, Referral, ReferralCopy, Spoc

TEXT_MAX = 4000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def post(
    session: Session,
    *,
    principal: Principal,
    referral_id: int,
    text: str,
    customs_org_id: int | None = None,
) -> Message:
    """A message on a referral's thread: from a Customs organisation it reached (a question,
    on its own copy), or from the referrer (an answer, on the copy of the Customs
    organisation it names; the only one when there is one)."""
    principal.require("events:write")
    said = text.strip()
    if not said:
        raise InvalidInput("text: write the question or the answer")
    if len(said) > TEXT_MAX:
        raise InvalidInput(f"text: at most {TEXT_MAX} characters")
    row, copies = service.get(session, principal=principal, referral_id=referral_id)
    referrer = row.org_id == principal.org_id
    if referrer:
        if customs_org_id is None and len(copies) == 1:
            customs_org_id = copies[0].customs_org_id
        chosen = [c for c in copies if c.customs_org_id == customs_org_id]
        if not chosen:
            reached = ", ".join(str(c.customs_org_id) for c in copies) or "none"
            raise InvalidInput(
                f"customs_org_id: name the Customs organisation you answer (reached: {reached})"
            )
    else:
        chosen = [c for c in copies if c.customs_org_id == principal.org_id]
        if not chosen:
            raise NotFound(f"no referral {referral_id} routed to your organisation")
    copy = chosen[0]
    message = Message(
        copy_id=copy.id,
        org_id=principal.org_id,
        author=principal.label,
        kind="answer" if referrer else "question",
        text=said,
    )
    session.add(message)
    session.flush()
    audit.record(
        session,
        actor=principal,
        action=f"referral.{message.kind}",
        entity_type="referral",
        entity_id=row.id,
        after={"copy": copy.id, "message": message.id},
    )
    if referrer:
        _tell_customs(session, row, copy, message)
    else:
        _tell_referrer(session, row, copy, message)
    return message


def _tell_referrer(session: Session, row: Referral, copy: ReferralCopy, message: Message) -> None:
    org = session.get(Organisation, copy.customs_org_id)
    who = org.name if org else "Customs"
    link = f"{get_settings().base_url}/referrals/{row.id}"
    subject = f"[cargowatch] {who} asks about your referral {row.client_ref}"
    username = row.created_by.rsplit("@", 1)[0]
    users = session.scalars(
        select(User).where(User.org_id == row.org_id, User.active.is_(True),
                           User.username == username)
    ).all() or session.scalars(
        select(User).where(User.org_id == row.org_id, User.active.is_(True), User.role == "admin")
    ).all()  # fmt: skip
    for user in users:
        notify.queue(session, org_id=row.org_id, channel="app", target=str(user.id),
                     subject=subject, body=f"{message.text}\n\nAnswer at {link}",
                     referral_id=row.id, created_by=message.author)  # fmt: skip
    if EMAIL.match(row.contact or ""):
        notify.queue(session, org_id=row.org_id, channel="email", target=row.contact,
                     subject=subject, body=f"Read and answer the question at {link}\n",
                     referral_id=row.id, created_by=message.author)  # fmt: skip


def _tell_customs(session: Session, row: Referral, copy: ReferralCopy, message: Message) -> None:
    link = f"{get_settings().base_url}/referrals/{row.id}"
    subject = f"[cargowatch] the referrer answered on referral {row.id}"
    asked = {
        a.rsplit("@", 1)[0]
        for a in session.scalars(
            select(Message.author).where(Message.copy_id == copy.id, Message.kind == "question")
        )
    }
    users = session.scalars(
        select(User).where(
            User.org_id == copy.customs_org_id,
            User.active.is_(True),
            User.username.in_(sorted(asked)),
        )
    ).all()
    for user in users:
        notify.queue(session, org_id=copy.customs_org_id, channel="app",
                     target=str(user.id), subject=subject,
                     body=f"{message.text}\n\nRead at {link}", referral_id=row.id,
                     created_by=message.author)  # fmt: skip
    spoc = session.get(Spoc, copy.spoc_id) if copy.spoc_id else None
    if spoc is not None:
        notify.tell_spoc(session, spoc=spoc, referral=row, copy=copy, subject=subject,
                         text=f"Read the answer at {link}\n", event="referral.answered",
                         created_by=message.author)  # fmt: skip


def messages(session: Session, copy_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The thread of each copy, oldest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    if copy_ids:
        for m in session.scalars(
            select(Message).where(Message.copy_id.in_(copy_ids)).order_by(Message.id)
        ):
            out.setdefault(m.copy_id, []).append(
                {"id": m.id, "kind": m.kind, "author": m.author, "text": m.text,
                 "created_at": m.created_at}
            )  # fmt: skip
    return out
