"""OAuth 2.1 for remote connectors (ChatGPT, Claude): market-mcp as its own organisations' authorization server.

`routes` is what the SDK's auth routes do not say for us: the consent page; metadata that also advertises client
ID metadata documents, public clients, the `iss` response parameter and our scopes; and the protocol's endpoints
where ours differ from the SDK's (endpoints.py).
"""

from __future__ import annotations

from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.routes import build_metadata, cors_middleware, create_protected_resource_routes
from mcp.server.transport_security import RequestBodyLimitMiddleware
from starlette.routing import Route, request_response

from market_mcp.oauth import endpoints
from market_mcp.oauth.consent import MAX_FORM_BYTES, ConsentPage
from market_mcp.oauth.provider import READ, SCOPES, WRITE, MarketAuthorization, auth_settings

__all__ = ["READ", "WRITE", "MarketAuthorization", "auth_settings", "routes"]


def routes(authorization: MarketAuthorization) -> list[Route]:
    """Routes to put ahead of the SDK's: theirs stay for everything these do not replace."""
    settings = auth_settings(authorization.issuer)
    metadata = build_metadata(
        settings.issuer_url,
        None,
        settings.client_registration_options,
        settings.revocation_options,  # type: ignore[arg-type]
    )
    metadata.client_id_metadata_document_supported = True
    metadata.authorization_response_iss_parameter_supported = True
    metadata.token_endpoint_auth_methods_supported = ["none", "client_secret_post", "client_secret_basic"]
    page = ConsentPage(authorization)
    resource = create_protected_resource_routes(
        resource_url=settings.resource_server_url,  # type: ignore[arg-type]
        authorization_servers=[settings.issuer_url],
        scopes_supported=SCOPES,
        resource_name="market-mcp",
    )
    return [
        Route(
            "/.well-known/oauth-authorization-server",
            endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        *endpoints.routes(authorization),
        *resource,
        # Also at the root, for clients that look there before (or instead of) the path-aware address.
        Route("/.well-known/oauth-protected-resource", endpoint=resource[0].app, methods=["GET", "OPTIONS"]),
        Route("/consent", endpoint=page.show, methods=["GET"]),
        Route(
            "/consent",
            endpoint=RequestBodyLimitMiddleware(request_response(page.answer), MAX_FORM_BYTES),
            methods=["POST"],
        ),
    ]
