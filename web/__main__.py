"""`python -m web`: the same as `nowplaying web`."""

import sys

from shared.cli import main

sys.exit(main(["web", *sys.argv[1:]]))
