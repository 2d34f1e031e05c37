"""The web UI's request checks: the Host header (DNS rebinding) and same-origin writes (CSRF).

A page on another site can make the browser send requests to ``127.0.0.1:8000``, and with
DNS rebinding it can even read the answers, under its own host name. So every request
must name the bound host in its ``Host`` header, and every request that changes something
(any method but GET, HEAD and OPTIONS) must carry the server's token in the
``X-Yanex-Token`` header (only a page served by this server can read it; a custom header
also forces a CORS preflight, which the server never grants), and, when the browser says
where it comes from (``Origin``, ``Sec-Fetch-Site``), come from this very origin.

Bound to a wildcard address (``0.0.0.0``, ``::``), the server answers to IP literals and
to this machine's own names: a rebinding attack needs a host name of the attacker's, which
is neither.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "x-yanex-token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def split_host(value: str) -> tuple[str, int | None]:
    """``("example.org", 8000)`` from ``example.org:8000``; IPv6 literals in brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = value.partition(":")
    return host.rstrip("."), int(port) if port.isdigit() else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def allowed_hosts(bind: str) -> frozenset[str]:
    """The host names a request may give for a server bound to ``bind``."""
    bind = bind.lower().strip("[]")
    names = {bind}
    if bind in LOOPBACK_NAMES:
        names |= LOOPBACK_NAMES
    if bind in WILDCARDS:
        names |= LOOPBACK_NAMES | {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(names)


class Guard:
    """ASGI middleware refusing foreign Host headers and cross-origin writes."""

    def __init__(self, app: ASGIApp, *, bind: str, port: int, token: str) -> None:
        self.app = app
        self.hosts = allowed_hosts(bind)
        self.any_ip = bind.lower().strip("[]") in WILDCARDS
        self.port = port
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self.check(scope["method"], headers)
        if problem is None:
            await self.app(scope, receive, _with_policy(send))
            return
        status, text = problem
        await _plain(send, status, text)

    def host_ok(self, value: str) -> bool:
        host, port = split_host(value)
        if (port or 80) != self.port:  # no port in the URL: the default, 80
            return False
        return host in self.hosts or (self.any_ip and _is_ip(host))

    def check(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        """None when the request may go on; else (status, reason)."""
        host = headers.get("host", "")
        if not self.host_ok(host):
            return 421, "Refused: unknown Host header (this server answers only to its own address)"
        if method in SAFE_METHODS:
            return None
        if not hmac.compare_digest(headers.get(TOKEN_HEADER, ""), self.token):
            return 403, "Refused: missing or wrong X-Yanex-Token (cross-site request?)"
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"http://{host.lower()}":
            return 403, "Refused: cross-origin request"
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "Refused: cross-site request"
        return None


CSP = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
POLICY = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _with_policy(send: Send) -> Send:
    """``send`` adding the security headers to each response (its own CSP, if any, kept)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                headers.append((b"content-security-policy", CSP.encode()))
            message["headers"] = headers + POLICY
        await send(message)

    return wrapped


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
