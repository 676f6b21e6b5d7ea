"""`python -m nowplaying`: the same as the `nowplaying` command."""

import sys

from nowplaying.cli import main

sys.exit(main())
