"""Alembic environment: runs against the engine handed over by cargowatch.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import cargowatch.models  # noqa: F401  (registers every table on Base.metadata)
from cargowatch.db.base import Base

config = context.config
engine = config.attributes.get("engine")


def run_migrations() -> None:
    """Run the migrations inside one transaction on the given engine."""
    if not isinstance(engine, Engine):
        from cargowatch.db.engine import get_engine

        eng = get_engine(upgrade=False)
    else:
        eng = engine
    with eng.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
