"""What every answer tells the browser: run only this server's own scripts and styles, never
show the application inside another site's frame, do not guess content types, send no
referrer, and keep nothing about a person in a cache (photos of the dead and the missing,
families' contacts). Applied as a plain ASGI layer, so it costs next to nothing."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

__all__ = ["POLICY", "SecurityHeaders", "policy_allowing"]

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SAME = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
# Only the stylesheet, the page script and the API description's files may be kept.
_CACHEABLE = "/static/"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def policy_allowing(html: str) -> str:
    """The policy for a page that carries inline scripts of its own (the API description
    page): each allowed by its hash, nothing else; its styles and data images allowed."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        .replace("img-src 'self'", "img-src 'self' data:")
    )


class SecurityHeaders:
    """Adds the headers to every HTTP answer that does not set its own policy."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(_CACHEABLE)

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _SAME if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", POLICY.encode()))
                if not cacheable and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
