"""One settings object for the whole application, read from CARGOWATCH_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-not-secret"


def default_data_dir() -> Path:
    """Where the embedded store lives unless told otherwise: $XDG_DATA_HOME/cargowatch."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cargowatch"


class Settings(BaseSettings):
    """Every setting cargowatch reads; see docs/settings.md."""

    model_config = SettingsConfigDict(env_prefix="CARGOWATCH_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = DEV_SECRET
    user: str = ""
    ingest_batch_size: int = 20_000
    custody_settings: Path | None = None

    @model_validator(mode="after")
    def _fill_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'cargowatch.db'}"
        if self.env != "dev" and self.secret_key == DEV_SECRET:
            raise ValueError(
                f"CARGOWATCH_SECRET_KEY must be set to a real secret when env={self.env}"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()
