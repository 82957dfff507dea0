"""How a tool module declares its tools: a Toolset, explicit annotations, and the caller's organisation.

The organisation is never an argument. The server authenticates the call, opens its
transaction and puts the OrgContext here; a tool asks for it with a parameter typed `Org`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any

from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Resolve
from mcp.types import ToolAnnotations

from market_mcp.auth import OrgContext

_current_org: ContextVar[OrgContext] = ContextVar("market_mcp_org")


async def current_org() -> OrgContext:
    return _current_org.get()


Org = Annotated[OrgContext, Resolve(current_org)]
"""The calling token's organisation and this call's transaction (injected; invisible to the model)."""

# The SDK wraps every resolved value in AcceptedElicitation[Any]; pydantic keeps parametrised generics only
# while something refers to them, and rebuilt this one (~0.7 ms) whenever the garbage collector freed it.
_KEPT_ALIVE = AcceptedElicitation[Any]


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    toolset: str
    title: str  # the tool's own title; not repeated in its annotations (a client shows the tool's first)
    annotations: ToolAnnotations
    app: str | None = None  # the ui:// view a host with MCP Apps shows the result in (market_mcp.apps)

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def description(self) -> str:
        """The docstring as one paragraph: tools/list is read on every conversation, so no layout."""
        return " ".join(inspect.cleandoc(self.fn.__doc__ or "").split())

    @property
    def writes(self) -> bool:
        return not self.annotations.read_only_hint


@dataclass
class Toolset:
    name: str
    description: str
    tools: list[ToolSpec] = field(default_factory=list)

    def read(self, title: str, *, app: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A tool that only reads. app: the ui:// view (market_mcp.apps) hosts with MCP Apps show its result in."""
        return self._register(title, app, read_only=True, destructive=False, idempotent=True, emails=False)

    def write(
        self, title: str, *, destructive: bool, idempotent: bool, emails: bool = False, app: str | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A tool that changes the store: runs in one write transaction with its audit entry.

        destructive: it cancels, rejects, deletes, removes, archives or overwrites.
        idempotent: repeating the same call changes nothing more.
        emails: it queues email to people outside the organisation (openWorldHint).
        app: the ui:// view (market_mcp.apps) hosts with MCP Apps show its result in.
        """
        return self._register(
            title, app, read_only=False, destructive=destructive, idempotent=idempotent, emails=emails
        )

    def _register(
        self, title: str, app: str | None, **hints: bool
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        annotations = ToolAnnotations(
            read_only_hint=hints["read_only"],
            destructive_hint=hints["destructive"],
            idempotent_hint=hints["idempotent"],
            open_world_hint=hints["emails"],
        )

        def add(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.tools.append(ToolSpec(fn=fn, toolset=self.name, title=title, annotations=annotations, app=app))
            return fn

        return add
