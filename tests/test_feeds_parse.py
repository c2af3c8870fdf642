"""Parsing and normalising the test feeds: formats, charsets, not-a-feed reports, clean items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from outlets import DATA

from feeds import FeedError, parse_feed
from feeds.normalize import canonical_url, clean_text, detect_lang, near_key, normalize_entry
from storage.items import near_similarity

FETCHED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def parse(name: str, content_type: str | None = None):
    return parse_feed((DATA / name).read_bytes(), content_type=content_type,
                      url="http://news.test/feed")


def items(name: str, default_lang: str = "ru", content_type: str | None = None):
    feed = parse(name, content_type)
    return [normalize_entry(e, default_lang=default_lang, fetched_at=FETCHED,
                            base_url="http://news.test/feed") for e in feed.entries]


def test_rss2_items_are_clean() -> None:
    solar, sco, petrol, football = items("rss2_ru.xml")
    assert solar.title == ("В Туркестанской области запустили солнечную электростанцию "
                           "мощностью 100 МВт")
    assert solar.url == "http://news.test/ru/news/solar-turkestan-100mw/"
    assert solar.text.startswith("Новая солнечная электростанция обеспечит чистой энергией")
    assert "<" not in solar.text and "  " not in solar.text
    assert solar.published_at == datetime(2026, 11, 25, 4, 15, tzinfo=UTC)
    assert solar.guid == "news-1001" and solar.lang == "ru"
    assert sco.url == "http://news.test/ru/news/sco-ministers-astana/"
    assert petrol.title == 'Цены на бензин "Аи-92" выросли — на 3 тенге'
    assert petrol.text == "Стоимость топлива на АЗС Алматы «подросла»."
    assert petrol.url == "http://news.test/ru/news/petrol-prices/?id=7"
    assert football.title.startswith("Сборная Казахстана")


def test_atom_entries() -> None:
    wind, sco, chess = items("atom_en.xml", default_lang="ru")
    assert wind.lang == sco.lang == chess.lang == "en"
    assert wind.url == "http://news.test/en/wind-farm-zhambyl"
    assert wind.published_at == datetime(2026, 11, 25, 5, 30, tzinfo=UTC)
    assert sco.text.startswith("Ministers of the Shanghai Cooperation Organisation")
    assert sco.published_at == datetime(2026, 11, 24, 23, 10, tzinfo=UTC)
    assert chess.published_at == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # <updated> only


def test_rss1_kazakh() -> None:
    wind, sco, snow = items("rss1_kk.xml", default_lang="ru")
    assert [wind.lang, sco.lang, snow.lang] == ["kk", "kk", "kk"]
    assert sco.title == "ШЫҰ елдерінің сыртқы істер министрлері Астанада кездеседі"
    assert wind.url == "http://news.test/kk/news/3001"


@pytest.mark.parametrize("name, content_type", [
    ("cp1251_ru.xml", "application/rss+xml"),
    ("cp1251_ru.xml", "application/rss+xml; charset=utf-8"),  # lying header
    ("cp1251_ru.xml", "text/xml; charset=koi8-r"),  # lying header
    ("wrong_charset_koi8.xml", None),  # KOI8-R bytes declared as windows-1251
])
def test_legacy_charsets_give_correct_cyrillic(name: str, content_type: str | None) -> None:
    feed = parse(name, content_type)
    assert feed.title == "Лента в однобайтовой кодировке"
    assert [e.title for e in feed.entries] == [
        "Акимат Алматы представил программу по улучшению качества воздуха",
        "Ерлан Карин рассказал о подготовке к саммиту ШОС",
    ]


def test_html_page_is_not_a_feed_and_names_the_linked_feed() -> None:
    with pytest.raises(FeedError) as caught:
        parse("page.html", "text/html; charset=utf-8")
    assert caught.value.feed_url == "http://news.test/ru/rss.xml"
    assert caught.value.message == ("not a feed: the server sent an HTML page; the page links "
                                    "a feed at http://news.test/ru/rss.xml")
    with pytest.raises(FeedError, match="^not a feed: the server sent an HTML page$"):
        parse("page_nofeed.html", "text/html")


def test_empty_body() -> None:
    with pytest.raises(FeedError, match="empty body"):
        parse("empty.xml")
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(b"\x00\x01 binary junk \xff")


def test_broken_but_readable_feed_is_kept() -> None:
    feed = parse("broken.xml")
    assert feed.bozo
    assert [e.title for e in feed.entries] == [
        "Kazakhstan & Uzbekistan agree on water sharing in the Aral basin"]


def test_missing_and_future_dates() -> None:
    undated, future, ambassador = items("dates.xml")
    assert undated.published_at == FETCHED
    assert future.published_at == FETCHED
    assert ambassador.published_at == datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_clean_text() -> None:
    assert clean_text("<p>Зелёная&nbsp;энергия</p>\n\n<script>x()</script><style>p{}</style>"
                      " в   Казахстане") == "Зелёная энергия в Казахстане"
    assert clean_text("&amp;lt;b&amp;gt;ШОС&amp;lt;/b&amp;gt; &#171;саммит&#187;") == "ШОС «саммит»"
    assert clean_text("a < b & c") == "a < b & c"


def test_canonical_url() -> None:
    assert (canonical_url("HTTPS://Tengrinews.KZ:443/news/x/?utm_source=tg&id=5&gclid=1#top")
            == "https://tengrinews.kz/news/x/?id=5")
    assert canonical_url("http://news.test:8080/a?fbclid=z") == "http://news.test:8080/a"


def test_language() -> None:
    assert detect_lang("Қазақстан жасыл энергетикаға көшуді жеделдетеді", "ru") == "kk"
    assert detect_lang("Kazakhstan speeds up its green energy transition", "ru") == "en"
    assert detect_lang("Казахстан ускоряет переход к зелёной энергетике и ВИЭ", "en") == "ru"
    assert detect_lang("ЕАЭС", "kk") == "kk"  # too short to tell: the outlet's language


def test_near_keys_match_reworded_story_only() -> None:
    a = near_key("Казахстан и Китай подписали соглашение о строительстве ветровой "
                 "электростанции мощностью 1 ГВт",
                 "Соглашение подписано в Астане в рамках саммита ШОС. Электростанция появится "
                 "в Жамбылской области к 2028 году.")
    b = near_key("Китай построит в Казахстане ветровую электростанцию на 1 ГВт",
                 "Компания China Power и правительство Казахстана подписали в Астане "
                 "соглашение о строительстве ветровой электростанции в Жамбылской области.")
    other = near_key("Казахстан и Китай подписали соглашение о поставках зерна",
                     "Документ подписан в Пекине, объём поставок вырастет вдвое.")
    assert near_similarity(set(a.split()), set(b.split())) >= 0.6
    assert near_similarity(set(a.split()), set(other.split())) < 0.6


def test_relative_links_and_guids_resolve_against_the_feed_url_and_xml_base() -> None:
    body = (b'<?xml version="1.0" encoding="utf-8"?>'
            b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/kk/">'
            b"<title>T</title><id>urn:t</id><updated>2026-11-25T10:00:00Z</updated>"
            b'<entry><id>urn:1</id><title>One</title><link href="news/1?utm_source=x"/>'
            b"<updated>2026-11-25T10:00:00Z</updated></entry>"
            b'<entry xml:base="http://other.test/a/"><id>urn:2</id><title>Two</title>'
            b'<link href="2.html"/><updated>2026-11-25T10:00:00Z</updated></entry>'
            b"</feed>")
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>'
           b"<item><title>Three</title><link>/ru/3</link><guid>g3</guid></item>"
           b'<item><title>Four</title><link>/ru/4</link><guid isPermaLink="false">g4</guid>'
           b"</item></channel></rss>")
    url = "http://news.test/feeds/all.xml"
    found = [(item.url, item.guid) for feed in (body, rss) for item in (
        normalize_entry(entry, default_lang="ru", fetched_at=FETCHED, base_url=url)
        for entry in parse_feed(feed, url=url).entries)]
    # a guid that may be a link is resolved like one (as feedparser does; stored keys
    # depend on it), one marked isPermaLink="false" is kept as written
    assert found == [("http://news.test/kk/news/1", "urn:1"),
                     ("http://other.test/a/2.html", "urn:2"),
                     ("http://news.test/ru/3", "http://news.test/feeds/g3"),
                     ("http://news.test/ru/4", "g4")]
