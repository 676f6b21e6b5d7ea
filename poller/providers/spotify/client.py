"""Spotify's Web API as the poller reads it: currently-playing and recently-played, on
the shared client's gate, budget reservation and errors (shared/spotify.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.spotify import Forbidden, SpotifyClient, Transient, Unauthorized, error_message


@dataclass
class WebApiClient(SpotifyClient):
    # (item id, context URI) of the last currently-playing body: PRIVACY_HIDE's `context:`
    # rules need it, and the document has no context field.
    context: tuple[str | None, str | None] = (None, None)

    async def _get(self, endpoint: str, path: str, token: str, params: dict[str, str]) -> Any:
        request = self.http.build_request(
            "GET",
            f"{self.api_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )
        response = await self._send(endpoint, request)
        if response.status_code == 401:
            raise Unauthorized(endpoint)
        if response.status_code == 403:
            raise Forbidden(endpoint, error_message(response))
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            raise Transient(f"{endpoint}: HTTP {response.status_code}")
        return self._json(endpoint, response)

    async def currently_playing(self, token: str) -> dict[str, Any] | None:
        """The body, or None for 204 (nothing playing)."""
        params = {"additional_types": "track,episode"}
        body: dict[str, Any] | None = await self._get(
            "currently-playing", "/me/player/currently-playing", token, params
        )
        if body is not None:  # a 204 (perhaps a stray one) keeps the item's context
            self.context = context_of(body)
        return body

    async def recently_played(self, token: str) -> dict[str, Any] | None:
        body: dict[str, Any] | None = await self._get(
            "recently-played", "/me/player/recently-played", token, {"limit": "1"}
        )
        return body


def context_of(body: object) -> tuple[str | None, str | None]:
    """(item id, context URI) of a currently-playing body; None where it has none."""
    if not isinstance(body, dict):
        return (None, None)
    item, context = body.get("item"), body.get("context")
    item_id = item.get("id") if isinstance(item, dict) else None
    uri = context.get("uri") if isinstance(context, dict) else None
    return (
        item_id if isinstance(item_id, str) else None,
        uri if isinstance(uri, str) and uri else None,
    )
