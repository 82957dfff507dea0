"""What a stranger may make the authorization server store: bounded in size, in rate, and in time.

/register, /authorize and /token answer anyone, so every field they keep has a limit, each address may ask only
so often, and an application that never got an organiser's approval is forgotten after a day.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
from sqlalchemy import func, select, text, update

from market_mcp.db import Database
from market_mcp.db.tables import OAuthClient, OAuthGrant
from market_mcp.db.types import utcnow
from tests.conftest import on_postgres
from tests.factories import Tenant
from tests.test_http import http_server
from tests.test_oauth import CALLBACK, connect, pkce, register

HUGE = "x" * 900_000


async def stored(db: Database) -> tuple[int, int, int]:
    """Clients, grants, and the bytes the store takes (SQLite: its pages; PostgreSQL: the two tables)."""
    async with db.transaction() as session:
        clients = (await session.execute(select(func.count()).select_from(OAuthClient))).scalar_one()
        grants = (await session.execute(select(func.count()).select_from(OAuthGrant))).scalar_one()
        if on_postgres():
            size = "SELECT pg_total_relation_size('oauth_client') + pg_total_relation_size('oauth_grant')"
            used = (await session.execute(text(size))).scalar_one()
        else:
            pages = (await session.execute(text("PRAGMA page_count"))).scalar_one()
            used = pages * (await session.execute(text("PRAGMA page_size"))).scalar_one()
    return clients, grants, used


def registration(url: str, **metadata: Any) -> httpx2.Response:
    return httpx2.post(f"{url}/register", json={"client_name": "Probe", "redirect_uris": [CALLBACK], **metadata})


async def test_each_oversized_registration_field_is_refused_naming_the_field_and_its_limit(alice: Tenant) -> None:
    oversized = {
        "client_name": ("x" * 201, "client_name is longer than 200 characters."),
        "client_uri": (f"https://example.com/{'a' * 2048}", "client_uri is longer than 2048 characters."),
        "logo_uri": (f"https://example.com/{'a' * 2048}", "logo_uri is longer than 2048 characters."),
        "tos_uri": (f"https://example.com/{'a' * 2048}", "tos_uri is longer than 2048 characters."),
        "policy_uri": (f"https://example.com/{'a' * 2048}", "policy_uri is longer than 2048 characters."),
        "scope": ("markets:read " * 30, "scope is longer than 200 characters."),
        "software_id": ("x" * 201, "software_id is longer than 200 characters."),
        "software_version": ("x" * 201, "software_version is longer than 200 characters."),
        "contacts": (["a@example.com"] * 6, "contacts lists more than 5 entries."),
        "redirect_uris": ([f"{CALLBACK}{i}" for i in range(11)], "redirect_uris lists more than 10 entries."),
        "jwks": ({"keys": [{"k": "x" * 5000}]}, "jwks is larger than 4096 bytes."),
    }
    with http_server(alice.db, "--stateless") as url:
        answers = {field: registration(url, **{field: value}) for field, (value, _) in oversized.items()}
        long_redirect = registration(url, redirect_uris=[f"https://example.com/{'a' * 2048}"])
        long_contact = registration(url, contacts=["a" * 321])
    for field, (_, description) in oversized.items():
        assert (answers[field].status_code, answers[field].json()) == (
            400,
            {"error": "invalid_client_metadata", "error_description": description},
        ), field
    assert long_redirect.json() == {
        "error": "invalid_client_metadata",
        "error_description": "Each of redirect_uris is at most 2048 characters.",
    }
    assert long_contact.json() == {
        "error": "invalid_client_metadata",
        "error_description": "Each of contacts is at most 320 characters.",
    }


async def test_two_hundred_oversized_registrations_leave_the_store_as_it_was(alice: Tenant) -> None:
    before = await stored(alice.db)
    with http_server(alice.db, "--stateless") as url, httpx2.Client(timeout=30) as http:
        body = {"client_name": HUGE, "redirect_uris": [CALLBACK]}
        answers = [http.post(f"{url}/register", json=body) for _ in range(200)]
    after = await stored(alice.db)
    statuses = [answer.status_code for answer in answers]
    assert statuses[:20] == [400] * 20 and set(statuses[20:]) == {429}
    assert answers[0].json()["error_description"] == "client_name is longer than 200 characters."
    assert after[:2] == before[:2]
    assert after[2] - before[2] <= 16 * 1024


async def test_a_state_beyond_its_limit_is_refused_on_the_servers_page_and_no_request_is_stored(
    alice: Tenant,
) -> None:
    with http_server(alice.db, "--stateless") as url:
        client = register(url)
        before = await stored(alice.db)
        form = {
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": CALLBACK,
            "code_challenge": pkce()[1], "code_challenge_method": "S256", "state": HUGE,
            "scope": "markets:read", "resource": f"{url}/mcp",
        }  # fmt: skip
        answer = httpx2.post(f"{url}/authorize", data=form, timeout=30)
        after = await stored(alice.db)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "state is longer than 2048 characters." in answer.text
    assert after[:2] == before[:2]


async def test_each_address_may_register_twenty_times_a_minute_then_is_told_when_to_retry(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url:
        answers = [registration(url) for _ in range(21)]
    assert [answer.status_code for answer in answers] == [201] * 20 + [429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json() == {
        "error": "too_many_requests",
        "error_description": (
            f"Too many requests to /register from this address (20 a minute); "
            f"retry in {refused.headers['retry-after']} s."
        ),
    }


async def test_authorize_and_token_are_rate_limited_per_address_too(alice: Tenant) -> None:
    with http_server(alice.db, "--stateless") as url, httpx2.Client() as http:
        authorizations = [http.get(f"{url}/authorize", params={"client_id": "nobody"}) for _ in range(61)]
        tokens = [http.post(f"{url}/token", data={"client_id": "nobody"}) for _ in range(121)]
    assert {a.status_code for a in authorizations[:60]} == {400} and authorizations[60].status_code == 429
    assert {t.status_code for t in tokens[:120]} == {401} and tokens[120].status_code == 429
    assert "retry-after" in authorizations[60].headers and "retry-after" in tokens[120].headers


async def test_an_application_never_approved_is_forgotten_after_a_day_and_an_approved_one_is_kept(
    alice: Tenant,
) -> None:
    with http_server(alice.db, "--stateless") as url:
        approved, _ = connect(url, alice.token)
        unused = register(url)
        async with alice.db.transaction(write=True) as session:
            await session.execute(update(OAuthClient).values(created_at=utcnow() - timedelta(hours=25)))
        newest = register(url)
    async with alice.db.transaction() as session:
        kept = set((await session.execute(select(OAuthClient.client_id))).scalars())
    assert kept == {approved["client_id"], newest["client_id"]}
    assert unused["client_id"] not in kept
