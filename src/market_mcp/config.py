"""Every setting market-mcp reads from the environment, in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    path = Path(user_data_dir("market-mcp", appauthor=False)) / "market.db"
    return f"sqlite+aiosqlite:///{path}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKET_MCP_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path (default, in the user's data directory) "
        "or postgresql+asyncpg://user:pass@host/db.",
    )
    token: SecretStr | None = Field(default=None, description="stdio: the organisation API token to act as.")
    rate_limit: int = Field(default=60, ge=1, description="Tool calls per minute per token.")
    rate_limit_shared: bool = Field(
        default=False,
        description="Count the rate limit in the database, so replicas on one PostgreSQL share it (default: "
        "each process counts its own).",
    )
    smtp_url: str | None = Field(default=None, description="SMTP server for the outbox; unset keeps emails queued.")
    log_level: str = Field(default="WARNING", description="Logging level on standard error.")

    @field_validator("database_url", "token", "smtp_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: Any) -> Any:
        """An empty variable means "not set" (an MCP bundle passes optional settings left blank as "")."""
        if isinstance(value, str) and not value.strip():
            return default_database_url() if info.field_name == "database_url" else None
        return value
