"""Fetching feeds over HTTP: one shared client, polite limits, conditional GET.

Redirects are followed here rather than by httpx so that a loop can be named as such and so
that every hop of an admin-added URL can be checked against private addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin, urlsplit

import httpx


def _version() -> str:
    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "dev"


USER_AGENT = (
    f"newsbot/{_version()} (Telegram news monitor for Kazakhstan; RSS/Atom reader; "
    "polls each feed at most every few minutes)"
)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
MiB = 1024 * 1024


class FetchError(Exception):
    """A fetch that failed, with a message fit for an admin and an optional server hint."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # a server dripping bytes never trips the read timeout
    max_bytes: int = 15 * MiB
    max_redirects: int = 5
    max_connections: int = 32  # global concurrency
    per_host: int = 4
    # Idle connections kept open for another feed of the same site. Few: a feed's next poll
    # comes minutes later, when the server has closed them anyway, and httpcore checks
    # every pooled connection on every request (a third of its time with 32 kept).
    max_keepalive: int = 8


@dataclass
class FetchResult:
    url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    max_age: float | None  # Cache-Control: max-age, seconds
    retry_after: float | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """`max-age` from a Cache-Control header (None when absent or `no-cache`/`no-store`)."""
    if not cache_control:
        return None
    for part in cache_control.lower().split(","):
        name, _, value = part.strip().partition("=")
        if name == "max-age" and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"'))
    return None


def _is_public_ip(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


async def check_public_url(url: str) -> None:
    """Refuse URLs whose host is, or resolves to, a private/loopback/link-local address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("only http:// and https:// URLs with a host name can be used")
    host = parts.hostname
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )
    except OSError as error:
        raise FetchError(f"cannot resolve host {host}") from error
    if not infos or not all(_is_public_ip(str(info[4][0])) for info in infos):
        raise FetchError(f"{host} is a private or local address, not a public news site")


def _chain(error: BaseException) -> list[BaseException]:
    """The error and its causes (httpx wraps the OS error a few levels down)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _describe(error: httpx.HTTPError, limits: FetchLimits) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return f"connection timed out after {limits.connect_timeout:g} s"
    if isinstance(error, httpx.ReadTimeout):
        return f"server did not answer within {limits.read_timeout:g} s"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        text = " ".join(str(e) for e in _chain(error)).lower()
        if "refused" in text or any(isinstance(e, ConnectionRefusedError) for e in _chain(error)):
            return "connection refused"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "host name not found"
        if "ssl" in text or "certificate" in text:
            return f"TLS error: {error}"
        return f"cannot connect: {error}" if str(error) else "cannot connect"
    if isinstance(error, httpx.RemoteProtocolError):
        return "server closed the connection or broke the HTTP protocol"
    if isinstance(error, httpx.DecodingError):
        return "body could not be decompressed"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class Fetcher:
    """One shared `httpx.AsyncClient` with global and per-host limits.

    Use as `async with Fetcher() as fetcher: await fetcher.fetch(url, etag=...)`.
    """

    def __init__(self, limits: FetchLimits | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.limits = limits or FetchLimits()
        lim = self.limits
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(lim.read_timeout, connect=lim.connect_timeout),
            limits=httpx.Limits(max_connections=lim.max_connections,
                                max_keepalive_connections=min(lim.max_keepalive,
                                                              lim.max_connections)),
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
            follow_redirects=False,
            transport=transport,
        )
        self._global = asyncio.Semaphore(lim.max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.limits.per_host)
        return slot

    async def fetch(self, url: str, *, etag: str | None = None,
                    last_modified: str | None = None,
                    allow_private: bool = True) -> FetchResult:
        """GET `url` (conditionally when a validator is given); raise `FetchError` on failure.

        A 304 comes back as a result with an empty body. With `allow_private=False` every hop
        must be a public address (for URLs typed in by admins).
        """
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._follow(url, headers, allow_private)
        except TimeoutError as error:
            raise FetchError(
                f"download took longer than {self.limits.total_timeout:g} s"
            ) from error
        except httpx.HTTPError as error:
            raise FetchError(_describe(error, self.limits)) from error

    async def _follow(self, url: str, headers: Mapping[str, str],
                      allow_private: bool) -> FetchResult:
        chain = [url]
        while True:
            if not allow_private:
                await check_public_url(url)
            async with self._global, self._host_slot(url):
                result = await self._get_once(url, headers)
            if isinstance(result, FetchResult):
                return result
            target = result
            if target in chain:
                loop = " → ".join([*chain[chain.index(target):], target])
                raise FetchError(f"redirect loop: {loop}")
            if len(chain) > self.limits.max_redirects:
                raise FetchError(f"more than {self.limits.max_redirects} redirects")
            chain.append(target)
            url = target

    async def _get_once(self, url: str, headers: Mapping[str, str]) -> FetchResult | str:
        """One request: the result, or the absolute target URL of a redirect."""
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in REDIRECT_CODES:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location", status=status)
                return urljoin(url, location)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if status >= 400:
                reason = response.reason_phrase or ""
                message = f"HTTP {status} {reason}".strip()
                if retry_after is not None:
                    message += f" (retry after {retry_after:.0f} s)"
                raise FetchError(message, status=status, retry_after=retry_after)
            body = b"" if status == 304 else await self._read_capped(response)
            return FetchResult(
                url=url,
                status=status,
                body=body,
                content_type=response.headers.get("content-type"),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                max_age=parse_max_age(response.headers.get("cache-control")),
                retry_after=retry_after,
            )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """Read the (decompressed) body, stopping as soon as it passes the cap."""
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        encoded = "content-encoding" in response.headers
        if declared.isdigit() and int(declared) > cap and not encoded:
            raise FetchError(f"body is {int(declared) / MiB:.1f} MiB, over the "
                             f"{cap / MiB:g} MiB limit (not downloaded)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"body is over the {cap / MiB:g} MiB limit (cut after "
                                 f"{size / MiB:.1f} MiB)")
            chunks.append(chunk)
        return b"".join(chunks)
