"""`market-mcp bundle`: an MCP bundle (.mcpb) for one-click install in Claude Desktop.

The bundle is a zip of manifest.json, this project's pyproject.toml and the package source. Its server
type is `uv`: Claude Desktop's uv installs the dependencies from pyproject.toml and runs
`market-mcp serve`. Installed alone, it asks for the organisation's name, timezone and currency, and the
server sets that organisation up in a SQLite file in the person's data folder and acts for it without a
token. A database URL in its settings (PostgreSQL shared with a team) needs an API token as well.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import market_mcp
from market_mcp import __version__

PACKAGE = Path(market_mcp.__file__).parent
PROJECT = PACKAGE.parent.parent  # src/market_mcp -> the project root (an editable or source install)


def manifest() -> dict[str, Any]:
    from market_mcp.tools import TOOLSETS

    return {
        "manifest_version": "0.4",
        "name": "market-mcp",
        "display_name": "Market organiser",
        "version": __version__,
        "description": "Run your farmers, makers or night market by chatting: vendors, applications, stall fees, "
        "bookings, the waitlist, credits and vendor emails.",
        "author": {"name": "market-mcp"},
        "license": "MIT",
        "keywords": ["markets", "vendors", "bookings", "organisers"],
        "server": {
            "type": "uv",
            "entry_point": "src/market_mcp/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "--no-dev", "market-mcp", "serve"],
                "env": {
                    "MARKET_MCP_ORG_NAME": "${user_config.organization_name}",
                    "MARKET_MCP_ORG_TIMEZONE": "${user_config.timezone}",
                    "MARKET_MCP_ORG_CURRENCY": "${user_config.currency}",
                    "MARKET_MCP_DATABASE_URL": "${user_config.database_url}",
                    "MARKET_MCP_TOKEN": "${user_config.api_token}",
                    "MARKET_MCP_SMTP_URL": "${user_config.smtp_url}",
                    "MARKET_MCP_ORG_LEGAL_NAME": "${user_config.legal_name}",
                    "MARKET_MCP_ORG_TAX_NUMBER": "${user_config.tax_number}",
                    "MARKET_MCP_ORG_TAX_RATE": "${user_config.tax_rate}",
                },
            },
        },
        "tools": [
            {"name": spec.name, "description": spec.description.split(". ")[0].rstrip(".") + "."}
            for toolset in TOOLSETS.values()
            for spec in toolset.tools
        ],
        # Every optional setting has a default: a host substitutes a setting it has no value for as "".
        "user_config": {
            "organization_name": {
                "type": "string",
                "title": "Organisation name",
                "description": "Your market organisation, e.g. Riverside Farmers Market. It is set up on this "
                "computer the first time the extension starts; change it here to rename it. (With a shared "
                "database, the API token's organisation is used instead.)",
                "required": True,
            },
            "timezone": {
                "type": "string",
                "title": "Timezone",
                "description": "Where your markets trade, as an IANA name: Australia/Melbourne, Europe/London, "
                "America/New_York…",
                "required": False,
                "default": "Australia/Melbourne",
            },
            "currency": {
                "type": "string",
                "title": "Currency",
                "description": "The three-letter code of the money your stall fees are in: AUD, NZD, GBP, USD…",
                "required": False,
                "default": "AUD",
            },
            "legal_name": {
                "type": "string",
                "title": "Legal name (invoices)",
                "description": "The name your invoices and receipts are issued under, e.g. Riverside Markets Pty "
                "Ltd. Leave empty to use the organisation name.",
                "required": False,
                "default": "",
            },
            "tax_number": {
                "type": "string",
                "title": "Tax number (invoices)",
                "description": "Your ABN, GST or VAT number, printed on invoices and receipts. Leave empty if you "
                "are not registered.",
                "required": False,
                "default": "",
            },
            "tax_rate": {
                "type": "string",
                "title": "Tax rate in percent (invoices)",
                "description": "The GST or VAT included in your stall fees, e.g. 10 (GST in AUD and NZD "
                "currencies, VAT otherwise). Leave empty for none.",
                "required": False,
                "default": "",
            },
            "database_url": {
                "type": "string",
                "title": "Shared database URL",
                "description": "Only to share a database with your team: a postgresql+asyncpg://… URL (then an "
                "API token is needed too). Leave empty to keep everything in a file on this computer.",
                "required": False,
                "default": "",
            },
            "api_token": {
                "type": "string",
                "title": "API token (only for a shared database)",
                "description": "The token `market-mcp token create --org YOUR-ORG` printed (it starts with mk_org_). "
                "Leave empty on this computer's own database.",
                "sensitive": True,
                "required": False,
                "default": "",
            },
            "smtp_url": {
                "type": "string",
                "title": "Outgoing mail (SMTP URL)",
                "description": "smtp://user:password@host:587?from=you@example.com&starttls=true to send vendor "
                "emails; leave empty to keep them queued.",
                "sensitive": True,
                "required": False,
                "default": "",
            },
        },
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": ">=3.11"}},
    }


_SHIPPED = (".py", ".mako", ".typed", ".html", ".js")  # .html, .js: the MCP Apps views (market_mcp.apps)


def _sources() -> list[tuple[Path, str]]:
    files = [(PROJECT / "pyproject.toml", "pyproject.toml"), (PROJECT / "README.md", "README.md")]
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in _SHIPPED:
            files.append((path, f"src/market_mcp/{path.relative_to(PACKAGE).as_posix()}"))
    return files


def build(output: Path) -> Path:
    """Write the bundle to `output` (a .mcpb file) and return its path."""
    missing = [str(path) for path, _ in _sources() if not path.exists()]
    if missing:
        raise FileNotFoundError(f"bundle needs the project's source tree (run it from a checkout): {missing[0]}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.json", json.dumps(manifest(), indent=2) + "\n")
        for path, name in _sources():
            bundle.write(path, name)
    return output
