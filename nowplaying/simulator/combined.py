"""The simulated services around one player: Spotify at `/`, Last.fm at `/lastfm/2.0/`,
ListenBrainz at `/listenbrainz`, Lanyard at `/lanyard`, as `nowplaying simulator` serves
them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import Mount

from nowplaying.simulator.lanyard import build_lanyard_app, new_lanyard
from nowplaying.simulator.lastfm import build_lastfm_app
from nowplaying.simulator.listenbrainz import build_listenbrainz_app
from nowplaying.simulator.scrobble import ScrobbleSim
from nowplaying.simulator.spotify import SimState, build_app

LASTFM_PATH = "/lastfm/2.0"
LISTENBRAINZ_PATH = "/listenbrainz"
LANYARD_PATH = "/lanyard"


@dataclass
class Simulators:
    spotify: SimState
    lastfm: ScrobbleSim
    listenbrainz: ScrobbleSim
    lanyard: ScrobbleSim
    app: Starlette


def build_simulators(state: SimState) -> Simulators:
    """Every simulated provider, sharing `state.player` and its clock."""
    lastfm = ScrobbleSim(state.player, state.clock)
    listenbrainz = ScrobbleSim(state.player, state.clock)
    lanyard = new_lanyard(state.player, state.clock)
    app = Starlette(
        routes=[
            Mount(LASTFM_PATH, app=build_lastfm_app(lastfm)),
            Mount(LISTENBRAINZ_PATH, app=build_listenbrainz_app(listenbrainz)),
            Mount(LANYARD_PATH, app=build_lanyard_app(lanyard)),
            Mount("/", app=build_app(state)),
        ]
    )
    return Simulators(state, lastfm, listenbrainz, lanyard, app)


def variables(public: str, sims: Simulators) -> dict[str, str]:
    """What to set to point a poller at each simulated scrobbler."""
    return {
        "LASTFM_API_URL": f"{public}{LASTFM_PATH}/",
        "LASTFM_API_KEY": sims.lastfm.api_key,
        "LASTFM_USER": sims.lastfm.user,
        "LISTENBRAINZ_API_URL": f"{public}{LISTENBRAINZ_PATH}",
        "LISTENBRAINZ_USER": sims.listenbrainz.user,
        "LANYARD_API_URL": f"{public}{LANYARD_PATH}",
        "LANYARD_USER_ID": sims.lanyard.user,
    }
