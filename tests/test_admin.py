"""/admin: sign-in by a posted token, the session cookie, CSRF on actions, sign-out, and no
secret in anything it answers."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from shared.config import Settings
from shared.heartbeat import encode_heartbeat, new_heartbeat
from shared.pushed import read_pushed, song_at
from shared.quota_store import QuotaStore
from shared.store import Store
from tests.webutil import web_client
from web.app import build_app
from web.runtime import WebRuntime

ADMIN = "admin-token-0123456789abcdefXYZ"
SECRETS = {
    "client_secret": "client-secret-5f1d9c0e7b2a4c6d",
    "refresh_token": "refresh-token-AQB7x9Kq2mZ4vP8sL1",
    "admin_token": ADMIN,
    "ingest_token": "ingest-token-9a8b7c6d5e4f3a2b1c0d",
}


@dataclass
class Site:
    client: httpx.AsyncClient
    store: Store
    runtime: WebRuntime

    async def sign_in(self, token: str = ADMIN) -> httpx.Response:
        return await self.client.post("/admin", data={"token": token})

    async def session(self) -> str:
        response = await self.sign_in()
        assert response.status_code == 303
        cookie = response.headers["set-cookie"].split(";")[0]
        return cookie

    async def page(self, cookie: str) -> str:
        return (await self.client.get("/admin", headers={"Cookie": cookie})).text

    async def csrf(self, cookie: str) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', await self.page(cookie))
        assert found is not None
        return found.group(1)


async def make_site(
    store: Store, base: str = "http://np.test", **settings: object
) -> AsyncIterator[Site]:
    values: dict[str, object] = {"redis_prefix": store.keys.prefix, "client_id": "cid"}
    values.update(SECRETS)
    values.update(settings)
    runtime = WebRuntime(Settings(**values), store)  # type: ignore[arg-type]
    async with web_client(runtime, base_url=base, client=("203.0.113.9", 5000)) as client:
        yield Site(client, store, runtime)
    await runtime.http.aclose()


@pytest.fixture
async def site(fake_store: Store) -> AsyncIterator[Site]:
    async for s in make_site(fake_store):
        yield s


@pytest.fixture
async def https_site(fake_store: Store) -> AsyncIterator[Site]:
    async for s in make_site(fake_store, base="https://np.example"):
        yield s


async def test_admin_answers_404_while_admin_token_is_unset(fake_store: Store) -> None:
    async for s in make_site(fake_store, admin_token=None):
        assert (await s.client.get("/admin")).status_code == 404
        assert (await s.client.post("/admin", data={"token": "x"})).status_code == 404
        assert (await s.client.get("/admin/status.json")).status_code == 404


async def test_admin_without_a_session_shows_a_sign_in_form_that_posts(site: Site) -> None:
    response = await site.client.get("/admin")
    assert response.status_code == 200
    assert '<form method="post" action="/admin">' in response.text
    assert 'name="token" type="password"' in response.text


async def test_a_wrong_token_is_refused_with_403_and_no_cookie(site: Site) -> None:
    response = await site.sign_in("not-the-token-at-all-000000")
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_wrong_tokens_are_throttled_to_429_with_retry_after(site: Site) -> None:
    statuses = [(await site.sign_in(f"wrong-{i:030d}")).status_code for i in range(7)]
    assert statuses[:5] == [403] * 5
    assert statuses[5] == 429
    last = await site.sign_in("wrong-again-000000000000000")
    assert last.status_code == 429 and int(last.headers["retry-after"]) > 0


async def test_the_right_token_gets_in_even_from_a_throttled_address(site: Site) -> None:
    for i in range(7):
        await site.sign_in(f"wrong-{i:030d}")
    assert (await site.sign_in()).status_code == 303


async def test_the_session_cookie_is_httponly_samesite_strict_with_an_expiry(site: Site) -> None:
    cookie = (await site.sign_in()).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "max-age=" in cookie and "path=/admin" in cookie


async def test_the_session_cookie_is_not_secure_over_plain_http(site: Site) -> None:
    assert "secure" not in (await site.sign_in()).headers["set-cookie"].lower()


async def test_the_session_cookie_is_secure_over_https(https_site: Site) -> None:
    assert "; secure" in (await https_site.sign_in()).headers["set-cookie"].lower()


async def test_signed_in_the_page_shows_sources_budget_and_actions(site: Site) -> None:
    page = await site.page(await site.session())
    for part in ("Sources", "Spotify budget", 'id="chart"', "Reconnect Spotify", "Sign out"):
        assert part in page


async def test_a_forged_cookie_is_not_a_session(site: Site) -> None:
    cookie = await site.session()
    forged = cookie[:-4] + ("0000" if not cookie.endswith("0000") else "1111")
    response = await site.client.get("/admin/status.json", headers={"Cookie": forged})
    assert response.status_code == 401


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    cookie = await site.session()
    response = await site.client.post(
        "/admin/privacy", data={"hidden": "1"}, headers={"Cookie": cookie}
    )
    assert response.status_code == 403
    assert not await site.store.redis.exists(site.store.keys.privacy)


async def test_an_action_with_a_wrong_csrf_token_is_refused(site: Site) -> None:
    cookie = await site.session()
    response = await site.client.post(
        "/admin/privacy", data={"hidden": "1", "csrf": "0" * 32}, headers={"Cookie": cookie}
    )
    assert response.status_code == 403
    assert not await site.store.redis.exists(site.store.keys.privacy)


async def test_an_action_posted_from_another_site_is_refused(site: Site) -> None:
    cookie = await site.session()
    csrf = await site.csrf(cookie)
    headers = {"Cookie": cookie, "Origin": "https://evil.example"}
    response = await site.client.post(
        "/admin/privacy", data={"hidden": "1", "csrf": csrf}, headers=headers
    )
    assert response.status_code == 403
    assert not await site.store.redis.exists(site.store.keys.privacy)


async def test_an_action_without_a_session_is_refused(site: Site) -> None:
    response = await site.client.post("/admin/privacy", data={"hidden": "1", "csrf": "x"})
    assert response.status_code == 401
    assert not await site.store.redis.exists(site.store.keys.privacy)


async def test_hide_sets_the_privacy_key_and_show_deletes_it(site: Site) -> None:
    cookie = await site.session()
    csrf = await site.csrf(cookie)
    headers = {"Cookie": cookie}
    hide = await site.client.post(
        "/admin/privacy", data={"hidden": "1", "csrf": csrf}, headers=headers
    )
    assert hide.status_code == 303
    assert await site.store.redis.exists(site.store.keys.privacy)
    assert "Show again" in await site.page(cookie)
    await site.client.post("/admin/privacy", data={"hidden": "0", "csrf": csrf}, headers=headers)
    assert not await site.store.redis.exists(site.store.keys.privacy)


async def test_sign_out_ends_the_session_for_that_cookie(site: Site) -> None:
    cookie = await site.session()
    csrf = await site.csrf(cookie)
    out = await site.client.post("/admin/logout", data={"csrf": csrf}, headers={"Cookie": cookie})
    assert out.status_code == 303
    response = await site.client.get("/admin/status.json", headers={"Cookie": cookie})
    assert response.status_code == 401


async def test_reconnect_redirects_to_spotifys_consent_page(site: Site) -> None:
    cookie = await site.session()
    csrf = await site.csrf(cookie)
    response = await site.client.post(
        "/admin/reconnect", data={"csrf": csrf}, headers={"Cookie": cookie}
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://accounts.spotify.com/authorize?")


async def test_budget_numbers_match_readyz_calls24h(site: Site) -> None:
    quota = QuotaStore(site.store)
    import time

    now = int(time.time() * 1000)
    for i in range(7):
        await quota.reserve(now - i * 3_600_000 - 1000, 1000)
    cookie = await site.session()
    status = (await site.client.get("/admin/status.json", headers={"Cookie": cookie})).json()
    ready = (await site.client.get("/readyz")).json()
    assert status["budget"]["calls24h"] == ready["spotify"]["calls24h"] == 7
    assert status["budget"]["budget"] == ready["spotify"]["budget"]
    assert sum(status["budget"]["hours"]) == 7


async def test_a_setup_cause_shows_its_fix_and_a_readme_link(site: Site) -> None:
    import time

    beat = new_heartbeat(int(time.time() * 1000), "error")
    beat["setupError"] = "user_not_registered"
    await site.store.redis.set(site.store.keys.heartbeat, encode_heartbeat(beat))
    site.runtime.redis_reads.at = None  # skip the one-second cache
    page = await site.page(await site.session())
    assert "User Management" in page and "#connect-your-spotify-account" in page


async def test_no_answer_of_admin_contains_a_secret(site: Site) -> None:
    import time

    beat = new_heartbeat(int(time.time() * 1000), "error")
    beat["authError"] = f"refused token {SECRETS['refresh_token']} for {SECRETS['client_secret']}"
    beat["sources"] = {"spotify": {"state": "error", "error": f"bad {SECRETS['ingest_token']}"}}
    await site.store.redis.set(site.store.keys.heartbeat, encode_heartbeat(beat))
    answers = [
        await site.client.get("/admin"),
        await site.sign_in("wrong-token-00000000000000000"),
    ]
    cookie = await site.session()
    csrf = await site.csrf(cookie)
    headers = {"Cookie": cookie}
    answers += [
        await site.client.get("/admin", headers=headers),
        await site.client.get("/admin/status.json", headers=headers),
        await site.client.post("/admin/privacy", data={"hidden": "1"}, headers=headers),
        await site.client.post(
            "/admin/privacy", data={"hidden": "1", "csrf": csrf}, headers=headers
        ),
    ]
    for response in answers:
        text = response.text + str(response.headers)
        for name, secret in SECRETS.items():
            assert secret not in text, (name, response.request.url)


@pytest.mark.parametrize(("trusted", "secure"), [("127.0.0.1", True), ("10.9.9.9", False)])
async def test_the_cookie_is_secure_only_when_a_trusted_proxy_says_https(
    fake_store: Store, trusted: str, secure: bool
) -> None:
    from tests.conftest import serve

    values: dict[str, object] = {"redis_prefix": fake_store.keys.prefix, **SECRETS}
    runtime = WebRuntime(Settings(**values), fake_store)  # type: ignore[arg-type]
    app = build_app(runtime)
    proxy = serve(app, proxy_headers=True, forwarded_allow_ips=trusted)
    async with proxy as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/admin", data={"token": ADMIN}, headers={"X-Forwarded-Proto": "https"}
        )
    assert response.status_code == 303
    assert ("; secure" in response.headers["set-cookie"].lower()) is secure


async def test_an_error_message_with_markup_is_shown_as_text(site: Site) -> None:
    import time

    beat = new_heartbeat(int(time.time() * 1000), "error")
    beat["sources"] = {"spotify": {"state": "error", "error": "<script>alert(1)</script>"}}
    await site.store.redis.set(site.store.keys.heartbeat, encode_heartbeat(beat))
    page = await site.page(await site.session())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


async def test_the_last_errors_keep_an_earlier_error_after_the_next_one(site: Site) -> None:
    import time

    cookie = await site.session()
    for message in ("first failure", "second failure"):
        beat = new_heartbeat(int(time.time() * 1000), "error")
        beat["sources"] = {"lastfm": {"state": "error", "error": message}}
        await site.store.redis.set(site.store.keys.heartbeat, encode_heartbeat(beat))
        site.runtime.redis_reads.at = None  # skip the one-second cache
        status = await site.client.get("/admin/status.json", headers={"Cookie": cookie})
    messages = [e["message"] for e in status.json()["errors"]]
    assert messages == ["second failure", "first failure"]


async def test_a_test_push_stores_a_playing_item_the_push_source_reads(site: Site) -> None:
    cookie = await site.session()
    csrf = await site.csrf(cookie)
    sent = await site.client.post(
        "/admin/test-push", data={"csrf": csrf}, headers={"Cookie": cookie}
    )
    assert sent.status_code == 303
    record = await read_pushed(site.store)
    song = song_at(record, int(time.time() * 1000))
    assert song is not None and song["name"] == "Test push from /admin" and song["isPlaying"]


async def test_a_test_push_without_the_csrf_token_stores_nothing(site: Site) -> None:
    cookie = await site.session()
    refused = await site.client.post("/admin/test-push", headers={"Cookie": cookie})
    assert refused.status_code in (400, 403)
    assert await read_pushed(site.store) is None


async def test_with_ingest_off_there_is_no_test_push(fake_store: Store) -> None:
    async for site in make_site(fake_store, ingest_token=None):
        cookie = await site.session()
        assert "test-push-button" not in await site.page(cookie)
        csrf = await site.csrf(cookie)
        off = await site.client.post(
            "/admin/test-push", data={"csrf": csrf}, headers={"Cookie": cookie}
        )
        assert off.status_code == 409 and await read_pushed(fake_store) is None


@pytest.mark.parametrize("path", ["/admin", "/admin/status.json"])
async def test_a_cookie_with_non_ascii_characters_is_no_session_not_a_500(
    site: Site, path: str
) -> None:
    # hmac.compare_digest refuses str with non-ASCII characters (TypeError): a cookie the
    # client chose must never reach it as str.
    cookie = "np_admin=abc.1.\u00e9t\u00e9".encode()
    response = await site.client.get(path, headers={b"Cookie": cookie})
    assert response.status_code in (200, 401)
    if path == "/admin":
        assert 'name="token"' in response.text  # the sign-in form
