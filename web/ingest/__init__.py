"""Push ingest: players, scrobblers and scripts tell the instance what plays.

The routes validate a submission whole, fold it into the pushed item in `P:push:current`
(shared/pushed.py owns that format) and PUBLISH `push` on the wake channel, in one
transaction; the poller's push source reads it at once and its publisher, still the one
writer of `P:current`, publishes the document. A refused submission writes nothing and
publishes nothing. See the contract's "Push ingest".
"""

from web.ingest.routes import PATHS_WITH_BODY, Ingest

__all__ = ["PATHS_WITH_BODY", "Ingest"]
