"""Fetching from real local servers: validators, redirects, time-outs, errors, the body cap."""

from __future__ import annotations

import asyncio

import pytest
from outlets import DATA, OutletServer, closed_port_url, outlets_fixture  # noqa: F401

from feeds import Fetcher, FetchError, FetchLimits, parse_feed
from feeds.fetch import USER_AGENT, check_public_url, parse_max_age, parse_retry_after

KiB = 1024


async def test_conditional_get_gives_304_with_no_body(outlets: OutletServer) -> None:
    url = outlets.serve("/rss.xml", "rss2_ru.xml")
    async with Fetcher() as fetcher:
        first = await fetcher.fetch(url)
        again = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert first.status == 200 and first.body == (DATA / "rss2_ru.xml").read_bytes()
    assert first.etag and first.last_modified
    assert again.not_modified and again.body == b""
    assert outlets.routes["/rss.xml"].not_modified == 1


async def test_honest_user_agent_and_gzip(outlets: OutletServer) -> None:
    url = outlets.serve("/gz.xml", "rss2_ru.xml", gzip=True)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(url)
    assert result.body == (DATA / "rss2_ru.xml").read_bytes()
    assert outlets.routes["/gz.xml"].user_agents == [USER_AGENT]
    assert USER_AGENT.startswith("newsbot/")


async def test_redirects_are_followed_up_to_five(outlets: OutletServer) -> None:
    outlets.serve("/final.xml", "atom_en.xml")
    for hop in range(5):
        target = "/final.xml" if hop == 4 else f"/hop{hop + 1}"
        outlets.serve(f"/hop{hop}", redirect=target)
    outlets.serve("/six", redirect="/hop0")
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(outlets.url("/hop0"))
        with pytest.raises(FetchError, match="more than 5 redirects"):
            await fetcher.fetch(outlets.url("/six"))
    assert result.url == outlets.url("/final.xml")
    assert parse_feed(result.body).entries


async def test_redirect_loop_is_named(outlets: OutletServer) -> None:
    outlets.serve("/a", redirect="/b")
    outlets.serve("/b", redirect="/a")
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(outlets.url("/a"))
    assert caught.value.message.startswith("redirect loop: ")
    assert outlets.url("/a") in caught.value.message and outlets.url("/b") in caught.value.message


async def test_slow_server_times_out(outlets: OutletServer) -> None:
    url = outlets.serve("/slow.xml", "rss2_ru.xml", delay=1.0)
    async with Fetcher(FetchLimits(read_timeout=0.2)) as fetcher:
        with pytest.raises(FetchError, match="did not answer within 0.2 s"):
            await fetcher.fetch(url)


async def test_429_reports_retry_after(outlets: OutletServer) -> None:
    url = outlets.serve("/busy.xml", status=429, headers={"Retry-After": "120"})
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.status == 429 and caught.value.retry_after == 120
    assert caught.value.message == "HTTP 429 Too Many Requests (retry after 120 s)"


async def test_500_and_connection_refused(outlets: OutletServer) -> None:
    url = outlets.serve("/error.xml", status=500, body=b"oops")
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="^HTTP 500 Internal Server Error$"):
            await fetcher.fetch(url)
        with pytest.raises(FetchError, match="^connection refused$"):
            await fetcher.fetch(closed_port_url())


async def test_body_cap_cuts_the_download(outlets: OutletServer) -> None:
    url = outlets.serve("/huge.xml", huge=10 * 1024 * KiB)
    async with Fetcher(FetchLimits(max_bytes=512 * KiB)) as fetcher:
        with pytest.raises(FetchError, match="over the 0.5 MiB limit"):
            await fetcher.fetch(url)
    await asyncio.sleep(0.2)  # let the server notice the hang-up
    assert outlets.routes["/huge.xml"].bytes_sent < 5 * 1024 * KiB


async def test_ten_megabyte_feed_fits_the_default_cap(outlets: OutletServer) -> None:
    url = outlets.serve("/huge.xml", huge=10 * 1024 * KiB)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(url)
    feed = parse_feed(result.body, content_type=result.content_type, url=url)
    assert len(result.body) > 10 * 1024 * KiB
    assert len(feed.entries) > 1000
    assert feed.entries[0].title == "Новость номер 0: в Казахстане обсуждают энергетику"


async def test_per_host_limit(outlets: OutletServer) -> None:
    url = outlets.serve("/slowish.xml", "rss2_ru.xml", delay=0.2, conditional=False)
    async with Fetcher(FetchLimits(per_host=2)) as fetcher:
        await asyncio.gather(*(fetcher.fetch(url) for _ in range(6)))
    assert outlets.max_active == 2


async def test_private_addresses_refused_for_admin_urls(outlets: OutletServer) -> None:
    url = outlets.serve("/rss.xml", "rss2_ru.xml")
    for private in (url, "http://10.0.0.5/feed", "http://[::1]/rss", "http://localhost/rss"):
        with pytest.raises(FetchError, match="private or local address"):
            await check_public_url(private)
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="private or local address"):
            await fetcher.fetch(url, allow_private=False)
        assert (await fetcher.fetch(url)).status == 200  # the poller itself fetches anything
    with pytest.raises(FetchError, match="only http"):
        await check_public_url("file:///etc/passwd")


def test_cache_headers() -> None:
    assert parse_max_age("public, max-age=3600") == 3600
    assert parse_max_age("no-cache") is None
    assert parse_retry_after("30") == 30
    assert parse_retry_after("not a date") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
