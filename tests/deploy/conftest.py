"""The compose stack on a real engine: minutes, so not in `make test`'s quick loop.

`make test-e2e` (and CI after `make test`) sets NOWPLAYING_E2E=1; without it nothing here is
collected."""

import os

collect_ignore_glob = [] if os.environ.get("NOWPLAYING_E2E") == "1" else ["test_*.py"]
