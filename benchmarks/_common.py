"""What every benchmark sets up: an organisation and a user of a fresh store to act as."""

from __future__ import annotations

from sqlalchemy import Engine

from cargowatch.auth.principal import Principal


def bench_principal(engine: Engine, *, kind: str = "OTHER", role: str = "analyst") -> Principal:
    """A 'bench' organisation with a 'bench' user, as the principal benchmarks act as."""
    from cargowatch.auth.service import create_user, principal_for_username
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.service import create_org

    with unit_of_work(engine) as s:
        create_org(s, actor="bench", slug="bench", name="Bench", kind=kind)
        create_user(s, actor="bench", org_slug="bench", username="bench", role=role)
    with unit_of_work(engine) as s:
        return principal_for_username(s, "bench")
