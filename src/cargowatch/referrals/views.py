"""A referral whole, as its caller may see it: the report, its files, each copy the caller
may see with its state, feedback and thread. One place for the API, the pages and the
command line."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.referrals import attachments, service, thread


def full(session: Session, *, principal: Principal, referral_id: int) -> dict[str, Any]:
    """The referral: its referrer sees every copy with the feedback released to it; a
    Customs organisation sees its own copy with all its feedback. Both see the files and the
    thread between them."""
    row, copies = service.get(session, principal=principal, referral_id=referral_id)
    customs = row.org_id != principal.org_id
    ids = [c.id for c in copies]
    said = service.feedback_of(session, ids, released_only=not customs)
    files = [attachments.view(a) for a in attachments.of(session, [row.id]).get(row.id, [])]
    return service.public_view(
        row, copies, customs=customs, feedback=said, files=files,
        threads=thread.messages(session, ids),
    )  # fmt: skip
