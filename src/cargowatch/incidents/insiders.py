"""Insider link analysis across incidents: a graph of persons, badges, employers, facilities,
trips and incidents (rustworkx), built from the windows of every seizure; a person ranks higher
the more incidents' windows their badge broke its own pattern in, the closer those swipes came
to the trips' custody alerts, and when their vetting lapsed or their badge outlived their job.
Presence alone (working there) weighs little: most staff of a terminal are present in every
window there. Each reason carries the path through the graph that supports it."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import pairwise
from typing import Any

import rustworkx as rx
from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.incidents.analysis import (
    FLOOR,
    access,
    context,
    days_of,
    incidents_of,
    odd_day_rates,
    require_personal,
    windows,
)
from cargowatch.registers.specs import TABLES
from cargowatch.risk.rules.insider import KIND_TEXT

PRESENCE = 0.05  # each incident window a badge was in, without breaking its pattern
NEAR_ALERT = 0.5  # an odd swipe within hours of a custody alert of the seized trip
LAPSED = 0.3
AFTER_JOB = 0.5


def tail(days: int, rate: float, k: int) -> float:
    """P(at least k of `days` days carry an odd swipe) when each does with chance `rate`."""
    from scipy.stats import binom

    return max(float(binom.sf(k - 1, max(days, k), rate)), 1e-12)


class Links:
    """The link graph: one node per person, badge, employer, facility, trip and incident."""

    def __init__(self) -> None:
        self.graph: rx.PyGraph = rx.PyGraph()
        self.nodes: dict[str, int] = {}

    def node(self, key: str) -> int:
        if key not in self.nodes:
            self.nodes[key] = self.graph.add_node(key)
        return self.nodes[key]

    def link(self, a: str, b: str, what: str) -> None:
        ia, ib = self.node(a), self.node(b)
        if not self.graph.has_edge(ia, ib):
            self.graph.add_edge(ia, ib, what)

    def path(self, a: str, b: str) -> list[str]:
        """The shortest chain of links between two nodes, as 'node -what-> node' steps."""
        if a not in self.nodes or b not in self.nodes:
            return []
        found = rx.dijkstra_shortest_paths(self.graph, self.nodes[a], self.nodes[b])
        if self.nodes[b] not in found:
            return []
        hops = list(found[self.nodes[b]])
        out = [self.graph[hops[0]]]
        for x, y in pairwise(hops):
            out.append(f"-{self.graph.get_edge_data(x, y)}-> {self.graph[y]}")
        return out


def rank(
    session: Session, *, principal: Principal, limit: int = 50, ctx: Any = None
) -> list[dict[str, Any]]:
    """Persons ranked by what links them to the organisation's seizures, best first: each
    with person_id, badge_id, employer_party_id, score and reasons (rule, score, reason,
    evidence with the graph path). Needs the personal-data grant; audited."""
    require_personal(session, principal)
    org = principal.org_id
    ctx = ctx if ctx is not None else context(session, org)
    ps = TABLES["persons"]
    employer = dict(session.execute(
        select(ps.c.person_id, ps.c.employer_party_id).where(ps.c.org_id == org)
    ).all())  # fmt: skip
    links = Links()
    hits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    badge_of: dict[str, str] = {}
    flags: dict[str, dict[str, bool]] = defaultdict(lambda: {"lapsed": False, "after": False})
    # first every incident's windows, so that a badge's ordinary rate of odd days can be
    # read from the days outside all of them
    seized: list[tuple[Any, list[dict[str, Any]]]] = []
    windows_at: dict[str, set[Any]] = defaultdict(set)
    for inc in incidents_of(session, org):
        assert inc.trip_id is not None
        spans = windows(ctx, inc.trip_id, inc.found_at)
        seized.append((inc, spans))
        for w in spans:
            if w["facility"]:
                windows_at[w["facility"]] |= days_of([(w["from"], w["until"])])
    rates = odd_day_rates(ctx, windows_at)
    for inc, spans in seized:
        who = access(ctx, spans, [a["at"] for w in spans for a in w["alerts"]])
        if who.height == 0:
            continue
        links.link(f"trip {inc.trip_id}", f"incident {inc.id}", "seized in")
        spans_at: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
        for w in spans:
            if w["facility"]:
                spans_at[w["facility"]].append((w["from"], w["until"]))
        for r in who.to_dicts():
            person = r["person_id"] or f"unknown holder of {r['badge_id']}"
            r["spans"] = spans_at.get(r["facility"], [])
            days = len(days_of(r["spans"])) or 1
            r["chance"] = 1 - (1 - rates.get(r["badge_id"], FLOOR)) ** days
            badge_of[person] = r["badge_id"]
            links.link(f"person {person}", f"badge {r['badge_id']}", "holds")
            if person in employer:
                links.link(f"person {person}", f"employer {employer[person]}", "employed by")
            links.link(f"badge {r['badge_id']}", f"facility {r['facility']}",
                       "odd swipes at" if r["odd"] > 0 else "swiped at")  # fmt: skip
            links.link(f"facility {r['facility']}", f"trip {inc.trip_id}",
                       "held the container of")  # fmt: skip
            flags[person]["lapsed"] |= bool(r["lapsed"])
            flags[person]["after"] |= bool(r["after_employment"])
            hits[person].append({**r, "incident": inc.id, "container": inc.container,
                                 "trip_id": inc.trip_id})  # fmt: skip
    out: list[dict[str, Any]] = []
    for person, seen in hits.items():
        odd = [h for h in seen if h["odd"] > 0]
        reasons: list[dict[str, Any]] = []
        near_days: set[Any] = set()  # a day's odd swipes near alerts count once, however
        for h in sorted(odd, key=lambda h: -h["odd"]):  # many seized boxes stood there then
            points = NEAR_ALERT if h["near_alert"] else 0.0
            if h["near_alert"]:
                near_days.add(h["first_odd"].date())
            kinds = ", ".join(KIND_TEXT.get(k, k) for k in h["kinds"])
            reasons.append({
                "rule": "odd-swipe-in-window", "score": round(h["odd"] + points, 3),
                "reason": f"Badge {h['badge_id']} swiped {kinds} at {h['facility']} while the "
                          f"container {h['container']} of incident {h['incident']} stood there"
                          + (", close to a custody alert" if h["near_alert"] else "")
                          + f" (by chance: {h['chance']:.0%}).",
                "evidence": {"incident": h["incident"], "trip": h["trip_id"],
                             "swipes": h["odd_swipes"],
                             "path": links.path(f"person {person}", f"incident {h['incident']}")},
            })  # fmt: skip
        # how unlikely it is that the badge broke its own pattern on this many of the days the
        # seized containers stood where it works (windows that overlap count once), given how
        # often it does so on any day (overtime and covers included)
        days = len(days_of([x for h in seen for x in h["spans"]])) or 1
        odd_days = len({d for h in odd for d in h["odd_days"] or []})
        rate = rates.get(badge_of[person], FLOOR)
        surprise = -math.log10(tail(days, rate, odd_days)) if odd_days else 0.0
        score = surprise + NEAR_ALERT * len(near_days)
        if odd:
            reasons.append({
                "rule": "pattern-breaks-in-windows", "score": round(surprise, 3),
                "reason": f"Broke its own pattern on {odd_days} of the {days} days seized "
                          f"containers stood where it works ({len(odd)} of {len(seen)} "
                          f"incidents); by chance about {10 ** -surprise:.2g}.",
                "evidence": {"incidents": sorted({h["incident"] for h in odd})},
            })  # fmt: skip
        present = PRESENCE * len(seen)
        score += present
        reasons.append({
            "rule": "present-in-windows", "score": round(present, 3),
            "reason": f"Present in the windows of {len(seen)} incident(s).",
            "evidence": {"incidents": sorted({h["incident"] for h in seen})},
        })  # fmt: skip
        if flags[person]["lapsed"]:
            score += LAPSED
            reasons.append({"rule": "vetting-lapsed", "score": LAPSED,
                            "reason": "Vetting refused, expired or past its date while there.",
                            "evidence": {"badge": badge_of[person]}})  # fmt: skip
        if flags[person]["after"]:
            score += AFTER_JOB
            reasons.append({"rule": "badge-after-employment", "score": AFTER_JOB,
                            "reason": "The badge was used after its holder's employment ended.",
                            "evidence": {"badge": badge_of[person]}})  # fmt: skip
        out.append({
            "person_id": None if person.startswith("unknown holder") else person,
            "badge_id": badge_of[person], "employer_party_id": employer.get(person),
            "score": round(score, 3), "incidents": len(seen), "odd_incidents": len(odd),
            "reasons": sorted(reasons, key=lambda r: -float(r["score"])),
        })  # fmt: skip
    out.sort(key=lambda r: (-float(r["score"]), str(r["badge_id"] or "")))
    audit.record(session, actor=principal, action="insiders.read", entity_type="organisation",
                 entity_id=org, after={"persons": min(limit, len(out))})  # fmt: skip
    return out[:limit]
