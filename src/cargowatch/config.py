"""One settings object for the whole application, read from CARGOWATCH_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

KEY_FILE = "session.key"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


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
    secret_key: str = ""
    user: str = ""
    ingest_batch_size: int = 20_000
    custody_settings: Path | None = None
    custody_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1))
    columnar_reads: bool = True  # on PostgreSQL, scoring reads whole tables as Arrow (ADBC)
    cluster: str = ""  # a Dask scheduler (tcp://host:8786) or local:N; empty: local processes
    risk_settings: Path | None = None
    # notifications: the SMTP server that mails referrals and escalations, and the sender
    smtp_url: str = "smtp://127.0.0.1:25"
    mail_from: str = "cargowatch@localhost"
    base_url: str = "http://127.0.0.1:8000"  # links in notifications
    attachment_max_bytes: int = 10 * 1024 * 1024  # one file sent with a referral
    attachments_per_referral: int = 10
    allow_private_callbacks: bool = False  # callbacks, webhooks, pulls to private addresses
    # the live event feed over NATS JetStream (cargowatch worker --feed)
    feed_stream: str = "CARGOWATCH_EVENTS"
    feed_subject_prefix: str = "cargowatch.events"
    feed_ack_wait: float = 30.0  # seconds before an unacknowledged batch goes to another worker

    @model_validator(mode="after")
    def _fill_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'cargowatch.db'}"
        if self.env == "prod" and len(self.secret_key) < 32:
            raise ValueError(
                "CARGOWATCH_SECRET_KEY must be set to a random secret of 32+ characters when "
                "env=prod (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    def session_key(self) -> str:
        """The key that signs web session cookies: CARGOWATCH_SECRET_KEY when set, otherwise a
        random key made on first use and kept in the data folder, readable by its owner only."""
        if self.secret_key:
            return self.secret_key
        return private_secret(self.data_dir / KEY_FILE)


def private_folder(path: Path) -> Path:
    """path as a folder, created readable by its owner only (0700) when it is new."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
    return path


def private_secret(path: Path) -> str:
    """The secret kept in path, made (48 random bytes, file mode 0600) when the file is new."""
    import secrets

    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{path}: the session key is shorter than 32 characters") from None
        return key
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()


D = TypeVar("D")


def settings_file(cls: type[D], path: Path | None) -> D:
    """A settings dataclass from a TOML file over its defaults (tables merge key by key);
    unknown names are refused with the list of known ones."""
    import dataclasses
    import tomllib

    from cargowatch.exceptions import InvalidInput

    defaults = cls()
    if path is None:
        return defaults
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read settings: {exc}") from None
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(
            f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    for name, value in data.items():
        default = getattr(defaults, name)
        if isinstance(default, dict) and isinstance(value, dict):
            data[name] = {**default, **value}
    return dataclasses.replace(defaults, **data)  # type: ignore[type-var]
