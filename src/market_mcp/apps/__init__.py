"""MCP Apps views (extension io.modelcontextprotocol/ui): the HTML a host shows in a sandboxed iframe beside a tool's
result, for the tools that name one (Toolset.read/write's `app`).

A view is served as a ui:// resource of MIME type text/html;profile=mcp-app. It holds no organisation data: it
receives the tool's result from the host (ui/notifications/tool-result) and asks for more through the host
(tools/call), so any valid token may read it. Each file is self-contained (inline CSS and JS, nothing fetched):
its _meta.ui.csp declares no outside domain, so hosts apply their strictest policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import APP_MIME_TYPE
from mcp.types import Resource

MIME_TYPE = APP_MIME_TYPE  # text/html;profile=mcp-app
SCHEME = "ui://"


@dataclass(frozen=True)
class View:
    file: str
    title: str
    description: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}market-mcp/{self.file}"


_DASHBOARD = View(
    "dashboard.html",
    "Dashboard",
    "get_dashboard as a picture: how full each coming market date is, money owed, applications waiting.",
)
_MAP = View(
    "map.html",
    "Market-day map",
    "get_market_map as a plan of the stalls: who is where, who has not paid, who has no stall yet; drag a vendor "
    "onto a stall to move them (assign_stall).",
)
DASHBOARD, MAP = _DASHBOARD.uri, _MAP.uri
VIEWS = {view.uri: view for view in (_DASHBOARD, _MAP)}

# No outside origin for anything: the hosts' restrictive default. prefersBorder: the view draws no frame of its own.
RESOURCE_META: dict[str, Any] = {"ui": {"csp": {"connectDomains": [], "resourceDomains": []}, "prefersBorder": True}}


def tool_meta(uri: str) -> dict[str, Any]:
    """A tool definition's _meta linking its view. `ui/resourceUri` is the flat key the specification keeps as
    deprecated (hosts read it when `ui.resourceUri` is missing): for hosts built before the nested one."""
    if uri not in VIEWS:
        raise ValueError(f"{uri} is not a view; known: {', '.join(VIEWS)}")
    return {"ui": {"resourceUri": uri}, "ui/resourceUri": uri}


def is_view(uri: str) -> bool:
    return uri.startswith(SCHEME)


BRIDGE = "/*mcp-app-bridge*/"  # where a view's script takes bridge.js, the protocol's view side shared by every view


@cache
def html(uri: str) -> str:
    """The view's HTML document, bridge.js inlined: self-contained. KeyError for a ui:// address that names none."""
    here = files(__package__)
    page = here.joinpath(VIEWS[uri].file).read_text(encoding="utf-8")
    return page.replace(BRIDGE, here.joinpath("bridge.js").read_text(encoding="utf-8"), 1)


def listed() -> list[Resource]:
    return [
        Resource(
            uri=view.uri,
            name=view.file.removesuffix(".html"),
            title=view.title,
            description=view.description,
            mime_type=MIME_TYPE,
            meta=RESOURCE_META,
        )
        for view in VIEWS.values()
    ]
