"""How post-incident analysis and the insider ranking fare on a simulated world: every planted
crime is recorded as a seizure when its trip ends (our simulator's inspections find too few of
them to judge on), then three figures against the truth: the share of seizures whose analysis
lists a planted insider of that crime among its first 10 persons, the share whose windows
contain the planted act's time, the share of the other boxes of a seizure's campaign that its
sibling list names (of 50, and among the first 20), and how many of the top 20 of the insider
ranking are planted corrupt insiders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.incidents import service
from cargowatch.incidents.analysis import access, context, siblings, windows
from cargowatch.incidents.insiders import rank
from cargowatch.incidents.models import Incident


def judge(
    engine: Engine, principal: Principal, truth: dict[str, Any], *, plant: bool = True
) -> dict[str, Any]:
    """Judge the analysis and the ranking: with plant, every planted crime is recorded as a
    seizure when its trip ends; without, the seizures are the world's own (inspections.csv,
    taken in by `incidents.service.sync`)."""
    scenarios = {s["trip_key"]: s for s in truth.get("scenarios", []) if s.get("trip_key")}
    with unit_of_work(engine) as s:
        trips = {t.trip_key: t for t in s.scalars(
            select(Trip).where(Trip.org_id == principal.org_id,
                               Trip.trip_key.in_(sorted(scenarios))))}  # fmt: skip
        if not plant:
            service.sync(s, org_id=principal.org_id)
        for key, sc in scenarios.items() if plant else ():
            t = trips.get(key)
            if t is None or t.started_at is None:
                continue
            found = (t.ended_at or t.started_at) + timedelta(hours=6)
            service.record(s, principal=principal, container=t.container,
                           booking_ref=t.booking_ref, found_at=found,
                           reference=f"planted {sc['id']}")  # fmt: skip
    campaign_of = {key: sc["campaign"] for key, sc in scenarios.items() if sc.get("campaign")}
    listed = in_window = seizures = with_insider = 0
    pairs = pairs_listed = pairs_first_20 = 0
    ranks: list[int] = []  # where the campaign's other boxes stand in a seizure's sibling list
    with unit_of_work(engine) as s:
        ctx = context(s, principal.org_id)
        key_of = {t.id: t.trip_key for t in trips.values()}
        for inc in s.scalars(select(Incident).where(Incident.org_id == principal.org_id)):
            sc = scenarios.get(key_of.get(inc.trip_id or -1, ""))
            if sc is None or inc.trip_id is None:
                continue
            spans = windows(ctx, inc.trip_id, inc.found_at)
            if sc.get("when"):  # a truth may not say when the act was
                seizures += 1
                act = datetime.fromisoformat(str(sc["when"]).replace("Z", "+00:00"))
                in_window += any(w["from"] <= act <= w["until"] for w in spans)
            mine = sc.get("campaign")
            mates = {tid for tid, key in key_of.items()
                     if mine and tid != inc.trip_id and campaign_of.get(key) == mine}  # fmt: skip
            if mates:
                order = [x["trip_id"] for x in siblings(ctx, inc.trip_id, spans)]
                pairs += len(mates)
                pairs_listed += len(mates & set(order))
                pairs_first_20 += len(mates & set(order[:20]))
                ranks += [order.index(m) + 1 for m in mates if m in order]
            if not sc.get("persons"):
                continue
            with_insider += 1
            who = access(ctx, spans, [a["at"] for w in spans for a in w["alerts"]])
            top = set(who.head(10)["person_id"].to_list()) if who.height else set()
            listed += bool(top & set(sc["persons"]))
        ranked = rank(s, principal=principal, limit=20, ctx=ctx)
    corrupt = {i["person_id"] for i in truth.get("insiders", [])}
    named = {p for sc in scenarios.values() for p in sc.get("persons", [])}
    return {
        "seizures_from": "planted crimes" if plant else "the world's inspections",
        "seizures": seizures,
        "windows_contain_act": round(in_window / seizures, 3) if seizures else None,
        "seizures_with_insider": with_insider,
        "insider_in_first_10": round(listed / with_insider, 3) if with_insider else None,
        "campaign_sibling_pairs": pairs,
        "campaign_siblings_listed": round(pairs_listed / pairs, 3) if pairs else None,
        "campaign_siblings_in_first_20": round(pairs_first_20 / pairs, 3) if pairs else None,
        "campaign_sibling_median_rank": sorted(ranks)[len(ranks) // 2] if ranks else None,
        "top20_corrupt_insiders": sum(1 for r in ranked if r["person_id"] in corrupt),
        "top20_planted_persons": sum(1 for r in ranked if r["person_id"] in named),
        "planted_corrupt_insiders": len(corrupt),
    }


def judge_world(world: Path, store: Path, progress: Callable[[str], None] | None = None
                ) -> dict[str, Any]:  # fmt: skip
    """A world from any generator (its files and truth.json) ingested into the SQLite store
    at store, its seizures taken from its inspections.csv, and judged."""
    from cargowatch.risk.backtest import load_world

    loaded, truth = load_world(world, store, progress)
    try:
        if progress:
            progress("judging the post-incident analysis and the insider ranking")
        return judge(loaded.engine, loaded.principal, truth, plant=False)
    finally:
        loaded.engine.dispose()
