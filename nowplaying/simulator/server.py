"""`nowplaying simulator`: the simulated Spotify, Last.fm, ListenBrainz and Lanyard on one
socket."""

from __future__ import annotations

import uvicorn

from nowplaying.simulator.combined import build_simulators, variables
from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    new_state,
)


def serve_simulator(host: str, port: int, redirect_uri: str | None = None) -> int:
    """On a socket, its authorize page redirects only to `redirect_uri` (the configured
    SPOTIFY_REDIRECT_URI), never to whatever a link names."""
    public = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    state = new_state(public)
    if redirect_uri is not None:
        state.redirect_uris = {redirect_uri}
    sims = build_simulators(state)
    scrobblers = "".join(f"\n  {k}={v}" for k, v in variables(public, sims).items())
    print(
        f"Simulated Spotify on {public}\n"
        f"  SPOTIFY_ACCOUNTS_URL={public}\n  SPOTIFY_API_URL={public}/v1\n"
        f"  SPOTIFY_CLIENT_ID={DEFAULT_CLIENT_ID}\n"
        f"  SPOTIFY_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}\n"
        f"  SPOTIFY_REFRESH_TOKEN={DEFAULT_REFRESH_TOKEN}\n"
        f"Simulated Last.fm, ListenBrainz and Lanyard (the same player):{scrobblers}",
        flush=True,
    )
    uvicorn.run(sims.app, host=host, port=port, log_config=None, access_log=False)
    return 0
