"""Secrets never reach output: database passwords and credentials inside URLs.

:func:`redact` replaces the password part of any ``scheme://user:password@host`` in a
text with ``***`` (database URLs, RTSP camera URLs) and any occurrence of the
configured database password itself, raw or URL-encoded (drivers sometimes echo it
without the URL around it). Used by every CLI error line, ``config show`` and the
camera listing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@\s/]*)@")
MASK = "***"


def redact_url(url: str) -> str:
    """``url`` with the password replaced by ``***`` (user, host and database kept)."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}:{MASK}@", url)


def _configured_secrets() -> list[str]:
    try:
        from disaster_ops.config import get_settings

        url = str(get_settings().database_url or "")
    except Exception:  # noqa: BLE001 - redaction must work even when settings are broken
        return []
    m = _URL_CREDENTIALS.search(url)
    if not m or not m["pw"]:
        return []
    raw = m["pw"]
    forms = {raw, unquote(raw), quote(unquote(raw), safe="")}
    return sorted((f for f in forms if len(f) >= 3), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with URL credentials and the configured database password masked."""
    out = redact_url(str(text))
    for secret in _configured_secrets():
        out = out.replace(secret, MASK)
    return out
