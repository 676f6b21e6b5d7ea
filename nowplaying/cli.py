"""The `nowplaying` command: run, web, poller, auth, simulator, privacy, push.

Configuration errors exit with status 2 and one line that names the variable.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from shared.config import ConfigError, load_settings
from shared.logs import setup_logging

log = logging.getLogger("nowplaying")


def _fail(message: str) -> int:
    print(f"nowplaying: {message}", file=sys.stderr)
    return 2


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number between 1 and 65535: {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nowplaying", description="Live Spotify 'now playing' for one person."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("run", "web app + poller in one process (embedded store and demo player by default)"),
        ("web", "the web app alone"),
        ("simulator", "the simulated Spotify, Last.fm, ListenBrainz and Lanyard"),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--host", default=None, help="address to listen on (default: HOST)")
        cmd.add_argument("--port", type=_port, default=None, help="port (default: PORT)")
    sub.add_parser("poller", help="the poller alone", description="the poller alone")
    auth = sub.add_parser(
        "auth", help="connect a Spotify account in the terminal", description="OAuth setup"
    )
    auth.add_argument("--no-browser", action="store_true", help="only print the URL")
    auth.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (300)")
    privacy = sub.add_parser(
        "privacy",
        help="hide (nothing playing, at once) or show the card again",
        description="the privacy switch; needs REDIS_URL",
    )
    privacy.add_argument("action", choices=("hide", "show"))
    from nowplaying.push_cli import add_parser as add_push

    add_push(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    setup_logging(settings.secrets())
    host = getattr(args, "host", None) or settings.host
    port = getattr(args, "port", None) or settings.port
    try:
        if args.command == "poller":
            from nowplaying.run import poller_main

            return poller_main(settings)
        if args.command == "web":
            from web.server import serve_web

            return serve_web(settings, host, port)
        if args.command == "run":
            from nowplaying.run import serve_all

            return serve_all(settings, host, port)
        if args.command == "simulator":
            from nowplaying.simulator.server import serve_simulator

            return serve_simulator(host, port, settings.redirect_uri)
        if args.command == "privacy":
            from nowplaying.privacy_cli import privacy_main

            return privacy_main(settings, args.action)
        if args.command == "push":
            from nowplaying.push_cli import push_main

            return push_main(settings, args)
        if args.command == "auth":
            from nowplaying.auth_cli import auth_main

            return auth_main(settings, open_browser=not args.no_browser, timeout_s=args.timeout)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
