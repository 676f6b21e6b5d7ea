"""The admin session: a signed cookie naming a session that Redis knows.

The cookie is `sid.expires.signature`, the signature an HMAC of the first two under a key
derived from ADMIN_TOKEN (so changing the token ends every session). The session also lives
in Redis (`P:admin:session:<sha256 of sid>`, expiring with the cookie), so signing out ends
it on every web process at once, and a copied cookie is dead after that. The CSRF token of
a session is derived from it (an HMAC under the same key): every action form carries it and
every action checks it, so a page of another site cannot act in the owner's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from shared.store import Store

COOKIE = "np_admin"
COOKIE_PATH = "/admin"
SESSION_S = 8 * 3600


def _key(admin_token: str) -> bytes:
    return hmac.new(admin_token.encode(), b"nowplaying admin session v1", "sha256").digest()


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), "sha256").hexdigest()


def token_matches(given: str, admin_token: str) -> bool:
    """Constant time, whatever the lengths (digests of equal size are compared)."""
    a = hashlib.sha256(given.encode()).digest()
    b = hashlib.sha256(admin_token.encode()).digest()
    return hmac.compare_digest(a, b)


class Sessions:
    def __init__(self, store: Store, admin_token: str, lifetime_s: int = SESSION_S) -> None:
        self.store = store
        self.key = _key(admin_token)
        self.lifetime_s = lifetime_s

    def _redis_key(self, sid: str) -> str:
        return f"{self.store.keys.prefix}:admin:session:{hashlib.sha256(sid.encode()).hexdigest()}"

    async def create(self) -> str:
        """A new session; the cookie value to set."""
        sid = secrets.token_urlsafe(24)
        expires = int(time.time()) + self.lifetime_s
        await self.store.redis.set(self._redis_key(sid), str(expires), ex=self.lifetime_s)
        body = f"{sid}.{expires}"
        return f"{body}.{_sign(self.key, body)}"

    async def verify(self, cookie: str | None) -> str | None:
        """The session id of a valid, unexpired, not signed-out cookie, else None."""
        if not cookie or cookie.count(".") != 2 or len(cookie) > 200:
            return None
        if not cookie.isascii():  # compare_digest refuses non-ASCII str (a TypeError, a 500)
            return None
        sid, expires, signature = cookie.split(".")
        expected = _sign(self.key, f"{sid}.{expires}")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        if not expires.isdigit() or int(expires) <= time.time():
            return None
        try:
            known = await self.store.redis.exists(self._redis_key(sid))
        except Exception:
            return None
        return sid if known else None

    async def end(self, sid: str) -> None:
        await self.store.redis.delete(self._redis_key(sid))

    def csrf(self, sid: str) -> str:
        return _sign(self.key, f"csrf:{sid}")[:32]

    def csrf_ok(self, sid: str, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.csrf(sid).encode())
