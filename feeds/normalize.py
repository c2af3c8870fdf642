"""From raw feed entries to clean items: text, canonical URL, UTC time, language, keys."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from wordfreq import zipf_frequency

from feeds.parse import Entry
from storage.text import KAZAKH_LETTERS, lemma, tokenize

_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "yclid", "dclid", "msclkid", "igshid",
                              "mc_cid", "mc_eid", "_openstat"})
_DROP_TAGS = ("script", "style", "noscript", "iframe", "template", "svg", "object")
_SPACE_RE = re.compile(r"\s+")
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
_CYRILLIC_RE = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
_KAZAKH_RE = re.compile(f"[{''.join(sorted(KAZAKH_LETTERS))}]", re.IGNORECASE)
MAX_TEXT = 20_000  # characters of clean text kept per item
LEAD_WORDS = 40  # words of the text that count for the near-duplicate key
NEAR_KEY_SIZE = 16  # informative word forms in a near-duplicate key


@dataclass
class NormalItem:
    guid: str
    url: str  # canonical
    title: str
    text: str
    lang: str
    published_at: datetime
    content_hash: str
    near_key: str


def _html_text(raw: str) -> str:
    tree = HTMLParser(raw)
    tree.strip_tags(list(_DROP_TAGS))
    root = tree.body or tree.root
    return root.text(separator=" ") if root is not None else ""


def clean_text(raw: str) -> str:
    """HTML (or plain text with entities) to one line of clean text, scripts dropped.

    Feeds escape twice now and then (`&amp;lt;b&amp;gt;`), so more rounds are allowed.
    """
    for _ in range(3):
        text = _html_text(raw) if "<" in raw else html.unescape(raw)
        if text == raw:
            break
        raw = text
    return _SPACE_RE.sub(" ", raw.replace("\u00a0", " ")).strip()


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment, host lower-cased, default port dropped."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, doseq=True), ""))


def detect_lang(text: str, default: str) -> str:
    """ru / kk / en: Kazakh letters are a strong signal, mostly Latin text is English."""
    latin = len(_LATIN_RE.findall(text))
    cyrillic = len(_CYRILLIC_RE.findall(text))
    if latin + cyrillic < 12:
        return default
    if latin > 2 * cyrillic:
        return "en"
    kazakh = len(_KAZAKH_RE.findall(text))
    if kazakh >= 2 and kazakh >= 0.015 * cyrillic:
        return "kk"
    if cyrillic > latin:
        return "kk" if default == "kk" and cyrillic < 60 else "ru"
    return default


@lru_cache(maxsize=100_000)
def _key_form(word: str) -> tuple[str, float] | None:
    """A word's form in a near-duplicate key and how common it is (None: not informative)."""
    if len(word) < 3 and not word.isdigit():
        return None
    if KAZAKH_LETTERS.intersection(word):
        return word[:6], 3.0  # a crude stem: Kazakh is agglutinative, no lemmatiser here
    form = lemma(word)
    lang = "en" if _LATIN_RE.match(form) else "ru"
    frequency = zipf_frequency(form, lang)
    if frequency >= 5.6:  # function words and the like
        return None
    return form, frequency


def near_key(title: str, text: str) -> str:
    """The rarest word forms of the title and lead, sorted: two outlets' wordings of one
    story share most of them (compared by `storage.items.near_similarity`)."""
    words = tokenize(title) + tokenize(text[:LEAD_WORDS * 20])[:LEAD_WORDS]
    forms: dict[str, float] = {}
    for word in words:
        found = _key_form(word)
        if found:
            forms[found[0]] = found[1]
    rarest = sorted(forms, key=lambda form: (forms[form], form))[:NEAR_KEY_SIZE]
    return " ".join(sorted(rarest))


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".lower().encode("utf-8")).hexdigest()[:32]


def normalize_entry(entry: Entry, *, default_lang: str, fetched_at: datetime,
                    base_url: str = "") -> NormalItem | None:
    """A clean item, or None when the entry has neither a title nor a link."""
    title = clean_text(entry.title)
    text = clean_text(entry.summary)[:MAX_TEXT]
    link = urljoin(base_url, entry.link.strip()) if entry.link else ""
    if not title and not link:
        return None
    if not title:
        title = text[:120] or link
    url = canonical_url(link) if link else ""
    guid = (entry.guid or "").strip() or url or content_hash(title, text)
    published = entry.published or fetched_at
    if published > fetched_at:
        published = fetched_at  # future dates (bad clocks, time-zone slips) are clamped
    return NormalItem(
        guid=guid,
        url=url,
        title=title,
        text=text,
        lang=detect_lang(f"{title} {text[:400]}", default_lang),
        published_at=published,
        content_hash=content_hash(title, text),
        near_key=near_key(title, text),
    )
