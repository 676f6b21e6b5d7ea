"""`python -m poller`: the same as `nowplaying poller`."""

import sys

from nowplaying.cli import main

sys.exit(main(["poller", *sys.argv[1:]]))
