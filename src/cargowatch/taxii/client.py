"""Pulling a partner's TAXII 2.1 collection into our bulletins (taxii2-client): what was added
since the last pull, page after page, taken in as a STIX bundle (idempotent on the ids,
markings kept); the newest date_added read is kept per organisation and collection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.bulletins import stix
from cargowatch.db.base import utcnow
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import InvalidInput
from cargowatch.taxii.models import TaxiiPull

PER_REQUEST = 500


def pull(
    engine: Engine,
    *,
    principal: Principal,
    api_root: str,
    collection_id: str,
    auth: Any = None,
    user: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """Read what the collection added since the last pull and take it in; returns counts."""
    from requests.exceptions import RequestException
    from taxii2client.exceptions import TAXIIServiceException  # type: ignore[import-untyped]
    from taxii2client.v21 import Collection, as_pages  # type: ignore[import-untyped]

    principal.require("events:write")
    from cargowatch.outbound import check_address

    root = api_root.rstrip("/") + "/"
    if not root.startswith(("https://", "http://")):
        raise InvalidInput(f"{api_root}: a TAXII API root's URL (https://...)")
    check_address(root)
    with unit_of_work(engine) as s:
        state = s.scalar(select(TaxiiPull).where(
            TaxiiPull.org_id == principal.org_id, TaxiiPull.api_root == root,
            TaxiiPull.collection_id == collection_id))  # fmt: skip
        since = state.last_added if state else ""
    url = f"{root}collections/{collection_id}/"
    collection = Collection(url, user=user, password=password, auth=auth)
    after = {"added_after": since} if since else {}
    objects: list[dict[str, Any]] = []
    newest = since
    try:
        for page in as_pages(collection.get_objects, per_request=PER_REQUEST, **after):
            objects += page.get("objects", [])
        for page in as_pages(collection.get_manifest, per_request=PER_REQUEST, **after):
            for record in page.get("objects", []):
                newest = max(newest, str(record.get("date_added") or ""))
    except (TAXIIServiceException, RequestException) as exc:
        raise InvalidInput(f"{url}: {exc}") from None
    with unit_of_work(engine) as s:
        got = stix.import_bundle(s, principal=principal,
                                 bundle={"type": "bundle", "objects": objects})  # fmt: skip
        state = s.scalar(select(TaxiiPull).where(
            TaxiiPull.org_id == principal.org_id, TaxiiPull.api_root == root,
            TaxiiPull.collection_id == collection_id))  # fmt: skip
        if state is None:
            state = TaxiiPull(org_id=principal.org_id, api_root=root, collection_id=collection_id)
            s.add(state)
        state.last_added = newest
        state.objects = (state.objects or 0) + len(objects)
        state.bulletins = (state.bulletins or 0) + int(got["bulletins"])
        state.pulled_at = utcnow()
        audit.record(s, actor=principal, action="taxii.pull", entity_type="taxii-collection",
                     entity_id=collection_id, after={"api_root": root, "objects": len(objects),
                                                     "bulletins": got["bulletins"],
                                                     "added_after": since or None})  # fmt: skip
    return {"objects": len(objects), "added_after": since or None, "newest": newest or None,
            **got}  # fmt: skip
