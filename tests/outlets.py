"""Stand-ins for news outlets: a real HTTP server on 127.0.0.1 with programmable behaviour.

`OutletServer.serve(path, ...)` publishes a route: a file from `tests/feeds_data` or bytes,
with ETag/Last-Modified and 304s, redirects, delays, error statuses with headers, or a huge
feed generated on the fly. Each route counts its hits, 304s and bytes sent, and the server
tracks how many requests ran at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest
from aiohttp import web

from topics import Classifier, load_classifier

DATA = Path(__file__).resolve().parent / "feeds_data"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
RSS = "application/rss+xml; charset=utf-8"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = RSS
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # send ETag/Last-Modified and answer 304 to a matching GET
    delay: float = 0.0  # seconds before the answer starts
    redirect: str | None = None  # Location of a 302
    huge: int = 0  # > 0: a generated feed of about this many bytes, streamed
    gzip: bool = False
    hits: int = 0
    not_modified: int = 0
    bytes_sent: int = 0
    user_agents: list[str] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


LAST_MODIFIED = email.utils.format_datetime(
    email.utils.parsedate_to_datetime("Wed, 25 Nov 2026 06:00:00 GMT"), usegmt=True
)


def huge_item(number: int, paragraphs: int = 20) -> bytes:
    """An RSS item with a long description (`paragraphs` sentences)."""
    return (
        f"<item><title>Новость номер {number}: в Казахстане обсуждают энергетику</title>"
        f"<link>http://news.test/huge/{number}</link><guid>huge-{number}</guid>"
        f"<description>{'Длинный текст новости. ' * paragraphs}</description></item>\n"
    ).encode()


class OutletServer:
    """An aiohttp server on 127.0.0.1 serving the registered routes."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.active = 0
        self.max_active = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> OutletServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, file: str | None = None, **options: object) -> str:
        """Register `path` (body from `file` in feeds_data unless `body=` is given)."""
        if file is not None:
            options.setdefault("body", (DATA / file).read_bytes())
            if file.endswith(".html"):
                options.setdefault("content_type", "text/html; charset=utf-8")
        self.routes[path] = Route(**options)  # type: ignore[arg-type]
        return self.url(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        route.hits += 1
        route.user_agents.append(request.headers.get("User-Agent", ""))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if route.delay:
                await asyncio.sleep(route.delay)
            return await self._answer(request, route)
        finally:
            self.active -= 1

    async def _answer(self, request: web.Request, route: Route) -> web.StreamResponse:
        if route.redirect is not None:
            raise web.HTTPFound(route.redirect)
        headers = dict(route.headers)
        if route.status != 200:
            return web.Response(status=route.status, body=route.body, headers=headers)
        if route.huge:
            return await self._stream_huge(request, route)
        if route.conditional:
            headers.update({"ETag": route.etag, "Last-Modified": LAST_MODIFIED})
            if (request.headers.get("If-None-Match") == route.etag
                    or request.headers.get("If-Modified-Since") == LAST_MODIFIED):
                route.not_modified += 1
                return web.Response(status=304, headers=headers)
        headers["Content-Type"] = route.content_type
        response = web.Response(body=route.body, headers=headers)
        if route.gzip:
            response.enable_compression(web.ContentCoding.gzip)
        route.bytes_sent += len(route.body)
        return response

    async def _stream_huge(self, request: web.Request, route: Route) -> web.StreamResponse:
        """A valid RSS feed of about `route.huge` bytes, written in chunks as it is made."""
        response = web.StreamResponse(headers={"Content-Type": RSS})
        await response.prepare(request)
        head = rss([], "Huge").removesuffix(b"</channel></rss>")
        await response.write(head)
        route.bytes_sent += len(head)
        number = 0
        try:
            while route.bytes_sent < route.huge:
                chunk = b"".join(huge_item(number + i, 200) for i in range(10))
                number += 10
                await response.write(chunk)
                route.bytes_sent += len(chunk)
            await response.write(b"</channel></rss>")
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client hung up (the body cap): bytes_sent says how far it got
        return response


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/rss.xml"


@pytest.fixture(name="outlets")
async def outlets_fixture() -> AsyncIterator[OutletServer]:
    """A started outlet server (import this fixture into a test module to use it)."""
    server = await OutletServer().start()
    yield server
    await server.close()


@contextmanager
def outlets_in_thread() -> Iterator[OutletServer]:
    """An outlet server on its own event loop in a thread (for code that runs its own loop,
    such as the command line)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(OutletServer().start(), loop).result()
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@lru_cache(maxsize=2)
def classifier(ner: bool = True) -> Classifier:
    """The real topic classifier from `seeds/`, built once per test session."""
    return load_classifier(SEEDS, ner=ner)


def rss(items: list[bytes], title: str = "Generated") -> bytes:
    """An RSS 2.0 document around `items`."""
    head = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title>").encode()
    return head + b"".join(items) + b"</channel></rss>"
