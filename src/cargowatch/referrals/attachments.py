"""Photos and PDFs sent with a referral: capped in size and number, their type told by their
content (JPEG, PNG and WebP must open as images, a PDF must look like one and carry no
scripts or launch actions), stored with their SHA-256 (the same file twice is kept once), and
served only as downloads to the referrer and the Customs organisations the referral reached.

Nothing here renders or runs a file: images are checked by decoding their header with Pillow,
PDFs by their markers."""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.config import get_settings
from cargowatch.exceptions import InvalidInput, NotFound, PermissionDenied
from cargowatch.referrals import service
from cargowatch.referrals.models import ATTACHMENT_TYPES, ENDED, Attachment

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# PDF names that make a reader run something or carry other files
PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA")


class TooLarge(InvalidInput):
    """A file over the size cap."""

    http_status = 413


def sniff(data: bytes, name: str = "file") -> str:
    """The media type of a file, found in its content; a file of any other type, or one
    that does not decode as what it claims to be, is refused with its name and why."""
    if data[:5] == b"%PDF-":
        if b"%%EOF" not in data[-2048:]:
            raise InvalidInput(f"{name}: a PDF that does not end as one (truncated?)")
        for token in PDF_ACTIVE:
            if re.search(re.escape(token) + rb"[\s/<\[(]", data):
                raise InvalidInput(
                    f"{name}: a PDF with active content ({token.decode()[1:]}); "
                    "print it to PDF again, or send photos"
                )
        return "application/pdf"
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = IMAGE_FORMATS.get(image.format or "")
                if kind is None:
                    raise InvalidInput(
                        f"{name}: {image.format} images are not taken; send JPEG, PNG, WebP or PDF"
                    )
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError,
            OSError, SyntaxError, ValueError) as exc:  # fmt: skip
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(
            f"{name}: not a JPEG, PNG, WebP or PDF file by its content ({type(exc).__name__})"
        ) from None
    return kind


def clean_name(name: str, media_type: str) -> str:
    """A file name safe to show and to offer for download: its last part, letters, digits,
    dots, dashes and spaces only, with the extension of its real type."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem = re.sub(r"[^A-Za-z0-9 ._-]", "_", base.rsplit(".", 1)[0]).strip(" ._")[:80]
    return f"{stem or 'attachment'}{ATTACHMENT_TYPES[media_type]}"


def read_capped(stream: BinaryIO, name: str) -> tuple[str, bytes]:
    """A file's name and content, read no further than one byte past the cap."""
    cap = get_settings().attachment_max_bytes
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise TooLarge(f"{name}: over {cap:,} bytes; a file may have at most {cap:,}")
    return name, data


def check(name: str, data: bytes) -> tuple[str, str]:
    """(media type, clean name) of a file that may be attached; refused otherwise."""
    cap = get_settings().attachment_max_bytes
    if len(data) > cap:
        raise TooLarge(f"{name}: {len(data):,} bytes; a file may have at most {cap:,}")
    if not data:
        raise InvalidInput(f"{name}: empty file")
    kind = sniff(data, name)
    return kind, clean_name(name, kind)


def attach(
    session: Session, *, principal: Principal, referral_id: int, name: str, data: bytes
) -> tuple[Attachment, bool]:
    """Attach a file to a referral the caller's organisation sent (while a copy is still
    open); the same file again returns the stored one (new False). Audited."""
    principal.require("events:write")
    row, copies = service.get(session, principal=principal, referral_id=referral_id)
    if row.org_id != principal.org_id:
        raise PermissionDenied(f"{principal.label}: only the referrer attaches files")
    if copies and all(c.state in ENDED for c in copies):
        raise InvalidInput(f"referral {referral_id} is ended; send a new referral")
    kind, clean = check(name, data)
    digest = hashlib.sha256(data).hexdigest()
    stored = session.scalar(
        select(Attachment).where(Attachment.referral_id == row.id, Attachment.sha256 == digest)
    )
    if stored is not None:
        return stored, False
    count = session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.referral_id == row.id)
    )
    limit = get_settings().attachments_per_referral
    if (count or 0) >= limit:
        raise InvalidInput(f"referral {referral_id}: at most {limit} attachments")
    item = Attachment(
        referral_id=row.id,
        name=clean,
        media_type=kind,
        size=len(data),
        sha256=digest,
        data=data,
        added_by=principal.label,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="referral.attach",
        entity_type="referral",
        entity_id=row.id,
        after={"attachment": item.id, "name": clean, "type": kind, "size": len(data),
               "sha256": digest},
    )  # fmt: skip
    return item, True


def listed(session: Session, *, principal: Principal, referral_id: int) -> list[dict[str, Any]]:
    """The files of a referral the caller may see (its referrer, and the Customs
    organisations it was routed to), without their content."""
    row, _ = service.get(session, principal=principal, referral_id=referral_id)
    return [view(a) for a in of(session, [row.id]).get(row.id, [])]


def of(session: Session, referral_ids: list[int]) -> dict[int, list[Attachment]]:
    """Files per referral, without their content."""
    out: dict[int, list[Attachment]] = {}
    if referral_ids:
        for a in session.scalars(
            select(Attachment)
            .where(Attachment.referral_id.in_(referral_ids))
            .order_by(Attachment.id)
        ):
            out.setdefault(a.referral_id, []).append(a)
    return out


def view(a: Attachment) -> dict[str, Any]:
    """A file as the API lists it."""
    return {
        "id": a.id,
        "name": a.name,
        "media_type": a.media_type,
        "size": a.size,
        "sha256": a.sha256,
        "added_by": a.added_by,
        "created_at": a.created_at,
    }


def read(
    session: Session, *, principal: Principal, referral_id: int, attachment_id: int
) -> Attachment:
    """One file with its content, for a caller who may see its referral; the read is audited
    (evidence leaves the store)."""
    row, _ = service.get(session, principal=principal, referral_id=referral_id)
    item = session.get(Attachment, attachment_id)
    if item is None or item.referral_id != row.id:
        raise NotFound(f"no attachment {attachment_id} on referral {referral_id}")
    audit.record(
        session,
        actor=principal,
        action="referral.attachment-read",
        entity_type="referral",
        entity_id=row.id,
        after={"attachment": item.id, "sha256": item.sha256},
    )
    return item


def download_headers(item: Attachment, *, inline: bool = False) -> dict[str, str]:
    """Headers that keep a browser from running or sniffing a file: the type found in its
    content, a sandbox with nothing allowed, and a download unless an image is asked inline."""
    show = inline and item.media_type.startswith("image/")
    return {
        "Content-Disposition": f'{"inline" if show else "attachment"}; filename="{item.name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "X-Content-SHA256": item.sha256,
    }
