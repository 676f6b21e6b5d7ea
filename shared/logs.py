"""Logging set-up with a redacting filter: secrets never reach a log line.

We avoid logging secrets in the first place; the filter is the second line of defence,
for messages from libraries (access logs carry query strings such as `?code=`).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_QUERY_SECRET = re.compile(
    r"(?i)\b(code|token|access_token|refresh_token|client_secret|code_verifier|state|api_key)=[^&\s\"']+"
)
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")
# The user information of a URL (`redis://:password@host`, `rediss://user:pw@host`).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:([^/\s:@'\"]*):)?[^/\s@'\"]+@")


def mask_url_secrets(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (the user name kept)."""
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}:***@", text)


class RedactingFilter(logging.Filter):
    """Replaces known secret values and credential-shaped fragments in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = mask_url_secrets(_QUERY_SECRET.sub(lambda m: f"{m.group(1)}=***", text))
        return _BEARER.sub(lambda m: f"{m.group(1)} ***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def setup_logging(secrets: Iterable[str] = (), level: int = logging.INFO) -> RedactingFilter:
    """One stderr handler for the process, redacting; noisy libraries turned down."""
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx logs every request URL at INFO; apscheduler logs every run.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return redactor
