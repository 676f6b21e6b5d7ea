"""`python -m web`: the same as `nowplaying web`."""

import sys

from nowplaying.cli import main

sys.exit(main(["web", *sys.argv[1:]]))
