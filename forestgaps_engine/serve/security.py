"""Who may call the service: a Host/Origin check and an optional bearer token.

The Host/Origin check stops DNS rebinding and cross-site posts.

A web page open in a browser on the machine can post a multipart form to
``http://127.0.0.1:8000`` without a CORS preflight (the browser names the page in
``Origin``), and a page whose name was rebound to 127.0.0.1 sends its own name in
``Host``. Both are refused unless the name is loopback, the bound address, or listed.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

TOKEN_ENV = "FORESTGAPS_TOKEN"
# Comma-separated host names, added to serve.allowed_hosts (handy in a container).
ALLOWED_HOSTS_ENV = "FORESTGAPS_ALLOWED_HOSTS"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
# Liveness probes (Docker's HEALTHCHECK, orchestrators) carry no token.
OPEN_PATHS = frozenset({"/health"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_token(configured: str | None) -> str | None:
    """The token: ``serve.token`` (or ``--token``), else ``FORESTGAPS_TOKEN``, else None.

    A blank value counts as set, so that ``check_token`` can refuse it.
    """
    if configured is not None:
        return configured
    return os.environ.get(TOKEN_ENV)


def allowed_hosts_from_env() -> list[str]:
    """The names in ``FORESTGAPS_ALLOWED_HOSTS`` (comma separated; empty when unset)."""
    return [
        name.strip() for name in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if name.strip()
    ]


def host_name(value: str) -> str:
    """The lower-case name of a ``Host`` header value (port and IPv6 brackets removed)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class HostPolicy:
    """The host names a request may name in ``Host`` and ``Origin``.

    Args:
        bound_host: the address the server listens on (added unless a wildcard).
        extra: names from ``--allowed-host``; ``*`` allows any.
    """

    def __init__(self, bound_host: str, extra: Iterable[str]) -> None:
        names = {host_name(name) for name in extra if name.strip()}
        self.is_open = "*" in names
        if bound_host.strip().strip("[]") not in WILDCARD_ADDRESSES:
            names.add(host_name(bound_host if ":" not in bound_host else f"[{bound_host}]"))
        self.names = frozenset(names - {"*"})

    def allows(self, name: str) -> bool:
        """Whether ``name`` (already reduced by ``host_name``) may be served."""
        return self.is_open or is_loopback(name) or name in self.names


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestGuard:
    """ASGI middleware: 403 for a foreign Host or Origin, 401 without the token.

    Args:
        app: the wrapped ASGI app.
        policy: allowed host names.
        token: the bearer token, or None for none.
    """

    def __init__(self, app: Any, policy: HostPolicy, token: str | None) -> None:
        self.app = app
        self.policy = policy
        self._token = token.encode("utf-8") if token is not None else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI entry: answer a refused request with JSON, pass the rest through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        from starlette.responses import JSONResponse

        status, message, hint, headers = refusal
        await JSONResponse({"error": message, "hint": hint}, status, headers)(scope, receive, send)

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str, str, dict[str, str]] | None:
        """(status, message, hint, headers) when the request is refused, else None."""
        host = _header(scope, b"host")
        if host is None or not self.policy.allows(host_name(host)):
            shown = "missing" if host is None else repr(host[:100])
            return (
                403,
                f"Host {shown} is not served here",
                "Call the service by a loopback name (127.0.0.1, localhost), or start it "
                "with --allowed-host NAME for the name clients use.",
                {},
            )
        origin = _header(scope, b"origin")
        if origin is not None:
            origin_host = urlsplit(origin.strip()).hostname or ""
            if origin.strip() == "null" or not self.policy.allows(origin_host):
                return (
                    403,
                    f"requests from the web page at {origin[:100]!r} are not accepted",
                    "Browsers name the page that sends a request in Origin; only pages on "
                    "allowed hosts may call the service (--allowed-host NAME adds one).",
                    {},
                )
        if self._token is None or scope.get("path") in OPEN_PATHS:
            return None
        sent = _header(scope, b"authorization") or ""
        scheme, _, credentials = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode("utf-8"), self._token
        ):
            return None
        return (
            401,
            "missing or wrong bearer token" if sent else "this service needs a bearer token",
            f"Send the header Authorization: Bearer <token>, the token the service was "
            f"started with (--token or {TOKEN_ENV}).",
            {"WWW-Authenticate": 'Bearer realm="forestgaps"'},
        )
