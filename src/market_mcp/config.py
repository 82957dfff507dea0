"""Every setting market-mcp reads from the environment, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from market_mcp.errors import Invalid

# A host that does not substitute an optional setting left blank passes the placeholder itself.
_PLACEHOLDER = re.compile(r"\$\{user_config\.[^}]*\}")
_FIX = "Change it in the extension's settings (or the environment) and restart the server."


def default_database_url() -> str:
    path = Path(user_data_dir("market-mcp", appauthor=False)) / "market.db"
    return f"sqlite+aiosqlite:///{path}"


@cache
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@dataclass(frozen=True)
class LocalOrganization:
    """The organisation this computer's own store is for, as the settings describe it (checked)."""

    name: str
    timezone: str
    currency: str
    # What its invoices and receipts say (services.organizations.set_invoice_details); None: as it is in the store.
    legal_name: str | None = None
    tax_number: str | None = None
    tax_rate: str | None = None
    tax_label: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKET_MCP_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path (default, in the user's data directory) "
        "or postgresql+asyncpg://user:pass@host/db.",
    )
    token: SecretStr | None = Field(default=None, description="stdio: the organisation API token to act as.")
    org_name: str | None = Field(
        default=None,
        description="stdio without a token, on the default store: the organisation this computer works for. "
        "The server sets it up on first start and acts for it; a database named in MARKET_MCP_DATABASE_URL "
        "always needs a token.",
    )
    org_timezone: str = Field(default="Australia/Melbourne", description="That organisation's IANA timezone.")
    org_currency: str = Field(default="AUD", description="That organisation's ISO 4217 currency.")
    org_legal_name: str | None = Field(default=None, description="That organisation's legal name, for invoices.")
    org_tax_number: str | None = Field(default=None, description="Its tax number (ABN, VAT number), for invoices.")
    org_tax_rate: str | None = Field(default=None, description="Its tax rate in percent, included in its fees.")
    org_tax_label: str | None = Field(default=None, description="Its tax's name: GST, VAT…")
    rate_limit: int = Field(default=60, ge=1, description="Tool calls per minute per token.")
    rate_limit_shared: bool = Field(
        default=False,
        description="Count the rate limit in the database, so replicas on one PostgreSQL share it (default: "
        "each process counts its own).",
    )
    smtp_url: str | None = Field(default=None, description="SMTP server for the outbox; unset keeps emails queued.")
    stripe_api_key: SecretStr | None = Field(
        default=None,
        description="Payment links: a Stripe secret key (sk_…). With MARKET_MCP_STRIPE_WEBHOOK_SECRET, approving an "
        "order makes a Stripe Checkout link for what is due; unset, no links are made.",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Payment links: the signing secret (whsec_…) of the Stripe webhook pointed at "
        "<this server>/webhooks/stripe, which records payments made through the links.",
    )
    stripe_api_base: str | None = Field(
        default=None, description="Payment links: Stripe's API address (default: Stripe's own; tests use a stand-in)."
    )
    stripe_return_url: str | None = Field(
        default=None,
        description="Payment links: where Stripe sends the vendor after paying or cancelling, e.g. the market's "
        "website (default: Stripe's own confirmation page).",
    )
    public_url: str | None = Field(
        default=None,
        description="Vendor links and calendars: the https:// address where vendors reach this server's HTTP pages "
        "(market-mcp serve --transport http; --public-url sets it too). Set, the emails for waitlist offers and "
        "payments carry a link to a page where the vendor answers; unset, they say to reply to the email.",
    )
    log_level: str = Field(default="WARNING", description="Logging level on standard error.")
    deadline_check_seconds: float = Field(
        default=600,
        ge=0,
        description="How often the server sends due payment reminders and releases unpaid bookings where a market "
        "asks for it (0: never; release_unpaid_bookings still does it on request).",
    )
    http_sessions_per_token: int = Field(
        default=20,
        ge=1,
        description="HTTP without --stateless: the sessions one token may hold open. One more closes that "
        "token's least recently used idle session (or, if every one is busy, is refused with 429).",
    )
    http_session_idle_seconds: float = Field(
        default=300, gt=0, description="HTTP without --stateless: a session with no request for this long is closed."
    )
    http_request_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="HTTP: how long a client may take to send a request's head, and then its body; a slower one "
        "is answered 408 and its connection closed.",
    )

    @field_validator(
        "database_url",
        "token",
        "smtp_url",
        "org_name",
        "org_timezone",
        "org_currency",
        "stripe_api_key",
        "stripe_webhook_secret",
        "stripe_api_base",
        "stripe_return_url",
        "public_url",
        "org_legal_name",
        "org_tax_number",
        "org_tax_rate",
        "org_tax_label",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any, info: Any) -> Any:
        """An empty variable means "not set" (an MCP bundle passes optional settings left blank as "")."""
        if not isinstance(value, str):
            return value
        value = value.strip()  # a pasted token or name often brings a space or newline along
        if not value or _PLACEHOLDER.fullmatch(value):
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return value

    @property
    def payment_links(self) -> bool:
        """Whether payment links are configured: both Stripe settings, since a link nobody records is no use."""
        return self.stripe_api_key is not None and self.stripe_webhook_secret is not None

    @property
    def links_url(self) -> str | None:
        """Where vendor links and calendar feeds point (public_url without a trailing slash), or None."""
        return self.public_url.rstrip("/") if self.public_url else None

    @property
    def store_is_local(self) -> bool:
        """Whether the store is this computer's own SQLite file (the default). A database named in the settings
        may be shared with other people, so the server never uses one without a token."""
        return self.database_url == default_database_url()

    def local_organization(self) -> LocalOrganization:
        """The organisation named by MARKET_MCP_ORG_*, or a refusal naming the setting to fix, with an example."""
        name = self.org_name or ""
        if not name:
            raise Invalid(f"The organisation name (MARKET_MCP_ORG_NAME) is not set. {_FIX}")
        if len(name) > 200:
            raise Invalid(f"The organisation name (MARKET_MCP_ORG_NAME) must be at most 200 characters. {_FIX}")
        timezone = _timezones().get(self.org_timezone.lower())
        if timezone is None:
            raise Invalid(
                "The timezone (MARKET_MCP_ORG_TIMEZONE) must be an IANA name such as Australia/Melbourne or "
                f"Europe/London; got {self.org_timezone!r}. {_FIX}"
            )
        currency = self.org_currency.upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise Invalid(
                "The currency (MARKET_MCP_ORG_CURRENCY) must be a three-letter ISO 4217 code such as AUD or USD; "
                f"got {self.org_currency!r}. {_FIX}"
            )
        rate = self.org_tax_rate
        if rate is not None and not (re.fullmatch(r"\d{1,3}(\.\d{1,2})?%?", rate) and float(rate.rstrip("%")) <= 100):
            raise Invalid(
                "The tax rate (MARKET_MCP_ORG_TAX_RATE) must be a percentage from 0 to 100 such as 10 or 7.5; "
                f"got {rate!r}. {_FIX}"
            )
        return LocalOrganization(
            name=name,
            timezone=timezone,
            currency=currency,
            legal_name=self.org_legal_name,
            tax_number=self.org_tax_number,
            tax_rate=self.org_tax_rate,
            tax_label=self.org_tax_label,
        )
