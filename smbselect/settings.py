"""Settings, read once from ``SMBSELECT_*`` environment variables and an optional ``.env`` file.

The defaults run on one machine with nothing but Python: an SQLite file in the working
directory, no SMTP server (emails stay queued and, in development, are logged).
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from smbselect.db.config import check_database_url


class Settings(BaseSettings):
    """Every knob of the service; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="SMBSELECT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite://smbselect.sqlite3",
        description="tortoise-orm URL: sqlite://FILE or postgres://USER:PASS@HOST:PORT/DB",
    )
    public_url: str = "http://127.0.0.1:8000"
    app_url: str = ""  # empty: PUBLIC_URL
    secret_key: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    mail_from: str = "SMB Select <no-reply@smbselect.local>"
    support_email: str = "smbselect-registration@example.com"
    review_email: str = ""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    plugins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    data_dir: Path = Path("data")
    env: Literal["development", "production"] = "development"

    session_ttl_hours: int = 12
    password_reset_ttl_minutes: int = 60
    invitation_ttl_days: int = 30
    max_concurrent_hashes: int = 2
    mail_max_attempts: int = 14
    mail_poll_seconds: float = 2.0

    # Abuse limits (smbselect/ratelimit.py): counted in the database, so they hold across
    # every server process. A window starts with the first attempt and lasts its minutes.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_minutes: int = Field(default=15, ge=1, le=1440)
    login_slowdown_after: int = Field(default=3, ge=0)
    login_slowdown_max_seconds: float = Field(default=2.0, ge=0)
    password_reset_max_requests_per_account: int = Field(default=3, ge=1)
    password_reset_max_requests_per_address: int = Field(default=10, ge=1)
    password_reset_window_minutes: int = Field(default=60, ge=1, le=1440)
    invitation_max_guesses_per_address: int = Field(default=20, ge=1)
    invitation_window_minutes: int = Field(default=15, ge=1, le=1440)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("cors_origins", "plugins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """Accept ``a,b`` as well as a JSON list, which is what people type in a shell."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _derived(self) -> Settings:
        self.public_url = self.public_url.rstrip("/")
        self.app_url = (self.app_url or self.public_url).rstrip("/")
        if not self.secret_key:
            if self.env == "production":
                raise ValueError("SMBSELECT_SECRET_KEY must be set in production")
            # Development only: a per-process key means signed links die with the process.
            self.secret_key = secrets.token_urlsafe(32)
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
