"""A Telegram Bot API stand-in on 127.0.0.1 and a harness that drives the real bot through it.

Nothing here reaches Telegram: the bot is the app's own aiogram Bot and Dispatcher
(`bot.app.create_bot` / `bot.app.create_dispatcher`: same routers, middlewares and workflow
data), talking real HTTP to :class:`TelegramStub` through
``AiohttpSession(api=TelegramAPIServer.from_base(stub.url))``.

Typical test::

    from telegram_stub import BotHarness

    async def test_settings(sqlite_db):
        async with BotHarness(sqlite_db) as h:           # starts the stub, builds bot + dp
            (menu,) = await h.send("/settings", lang="en")  # dp.feed_update; sends over HTTP
            assert "Digest settings" in menu.plain
            # a button press on a message the bot sent (callback string or CallbackData):
            (edited,) = await h.press(menu, SettingsCb(action="menu", value="freq"))
            assert edited.edited and h.stub.callback_answers

`BotHarness(db, settings=None, clock=None, topic_service=None, fetcher=None, **workflow)`:

- ``await h.send(text, chat_id=..., user_id=..., chat_type="private", lang="ru",
  reply_to=None)`` feeds one Message update and returns the messages the bot sent (or
  edited) while handling it, as :class:`Sent` records (``.text``, ``.chat_id``,
  ``.message_id``, ``.reply_markup``, ``.buttons`` = [(text, callback_data), ...]).
- ``await h.press(sent, data, user_id=...)`` presses an inline button (``data`` is the
  callback string or a CallbackData object) on a message the bot sent; returns what the bot
  sent or edited in reaction.
- ``await h.channel_post(text, chat_id=...)`` feeds a channel post.
- ``await h.feed(update_dict)`` feeds any raw update dict.
- ``h.polling()``: async context manager running real long polling (getUpdates); then
  ``h.stub.enqueue(update)`` and ``await h.stub.wait_sent(chat_id, count)``.
- ``h.stub`` the :class:`TelegramStub`, ``h.bot``, ``h.dp``, ``h.settings``, ``h.clock``.

Test data without feeds or topics: ``await add_topics(db)`` (topics ``green`` and ``sco``
with names in ru/kk/en) and ``await add_item(db, title, topic="green", score=0.7,
outlet="Kursiv", fetched_at=..., cluster_id=...)`` (returns the item id).

Import as ``from telegram_stub import BotHarness`` (pytest puts ``tests/`` on the path).

:class:`TelegramStub` on its own (``async with TelegramStub() as stub``; ``stub.url``):

- records every call in ``stub.calls`` (:class:`Call`: method, params) and every message
  sent or edited in ``stub.sent`` (``stub.sent_to(chat_id)`` filters by chat);
- ``stub.enqueue(update)`` queues an update for getUpdates (``update_id`` added; long polls
  wait at most ``poll_wait`` seconds);
- ``stub.fail_next(method, status, description, retry_after=None, chat_id=None, times=1,
  skip=0)``: the next ``times`` matching calls (after letting ``skip`` pass) get that error;
  shortcuts ``stub.retry_after_next(seconds, ...)``;
- ``stub.block(chat_id)``: 403 "bot was blocked by the user" for sends to that chat;
  ``stub.forget(chat_id)``: 400 "chat not found"; ``stub.migrate(chat_id, to_chat_id)``: 400
  "group chat was upgraded to a supergroup chat" with ``migrate_to_chat_id``;
- texts longer than 4,096 characters (after HTML tags are stripped) get 400 "message is
  too long", as Telegram does; HTML Telegram would refuse (a tag it does not know, an unclosed
  or mismatched tag, a bare ``<`` or ``&``, an unknown named entity) gets 400 "can't parse
  entities";
- ``stub.rate_limit = 30``: at most 30 sends per second overall, 429 with retry_after above it
  (``stub.rejected_429`` counts them);
- ``stub.set_admin(chat_id, user_id)`` makes getChatMember / getChatAdministrators say that
  user administers that chat; ``stub.add_chat(chat_id, type, title, username)`` registers a
  group or channel (getChat by ``@username`` resolves it).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_for_the_stub_only"
BOT_ID = 123456
BOT_USERNAME = "newsbot_test_bot"
MAX_TEXT = 4096
# Fields aiogram sends as JSON (nested objects, lists, numbers); everything else stays a string.
_JSON_FIELDS = {
    "reply_markup", "link_preview_options", "commands", "scope", "entities", "allowed_updates",
    "reply_parameters", "offset", "limit", "timeout", "message_id", "user_id", "show_alert",
    "disable_notification", "cache_time",
}
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Call:
    """One Bot API call as the stub received it."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Sent:
    """A message the bot sent (or edited: ``edited=True``)."""

    chat_id: int | str
    message_id: int
    text: str
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    link_preview_options: dict[str, Any] | None = None
    edited: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as (text, callback_data or url), row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data") or b.get("url")) for row in rows for b in row]

    @property
    def plain(self) -> str:
        """The text as a user reads it (HTML tags removed, entities decoded)."""
        return html.unescape(_TAG.sub("", self.text))


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    chat_id: int | str | None
    times: int
    skip: int


class TelegramStub:
    """The Bot API subset the bot uses, served by aiohttp on 127.0.0.1 (random free port)."""

    def __init__(self, *, poll_wait: float = 0.3, rate_limit: float | None = None) -> None:
        self.poll_wait = poll_wait
        self.rate_limit = rate_limit
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # language_code ("" default) -> list
        self.rejected_429 = 0
        self.url = ""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._message_ids = itertools.count(1000)
        self._messages: dict[tuple[str, int], Sent] = {}
        self._failures: list[_Failure] = []
        self._blocked: set[str] = set()
        self._forgotten: set[str] = set()
        self._migrated: dict[str, int] = {}
        self._admins: dict[str, set[int]] = {}
        self._chats: dict[str, dict[str, Any]] = {}
        self._send_times: deque[float] = deque()
        self._sent_event = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramStub:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ test controls

    def enqueue(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error,
        after letting `skip` matching calls through."""
        self._failures.append(
            _Failure(method, status, description, retry_after, chat_id, times, skip)
        )

    def retry_after_next(self, seconds: int = 1, **kwargs: Any) -> None:
        self.fail_next(
            "sendMessage", 429, f"Too Many Requests: retry after {seconds}",
            retry_after=seconds, **kwargs,
        )

    def block(self, chat_id: int | str) -> None:
        self._blocked.add(str(chat_id))

    def forget(self, chat_id: int | str) -> None:
        self._forgotten.add(str(chat_id))

    def migrate(self, chat_id: int, to_chat_id: int) -> None:
        """The group became a supergroup: sends to `chat_id` get 400 with migrate_to_chat_id."""
        self._migrated[str(chat_id)] = to_chat_id

    def set_admin(self, chat_id: int | str, user_id: int) -> None:
        self._admins.setdefault(str(chat_id), set()).add(user_id)

    def add_chat(
        self, chat_id: int, type: str, title: str | None = None, username: str | None = None
    ) -> None:
        chat: dict[str, Any] = {"id": chat_id, "type": type}
        if title:
            chat["title"] = title
        if username:
            chat["username"] = username
            self._chats["@" + username.lower()] = chat
        self._chats[str(chat_id)] = chat

    def sent_to(self, chat_id: int | str) -> list[Sent]:
        return [s for s in self.sent if str(s.chat_id) == str(chat_id)]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_sent(self, chat_id: int | str | None = None, count: int = 1,
                        within: float = 5.0) -> list[Sent]:
        """Wait until `count` messages went to `chat_id` (any chat if None); return them."""
        deadline = time.monotonic() + within
        while True:
            found = self.sent if chat_id is None else self.sent_to(chat_id)
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"expected {count} message(s), got {len(found)}: {found}")
            self._sent_event.clear()
            try:
                await asyncio.wait_for(self._sent_event.wait(), remaining)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if not re.fullmatch(r"\d+:[\w-]+", token):
            return _error(401, "Unauthorized")
        params = await _read_params(request)
        self.calls.append(Call(method, params))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, f"Not Found: method {method} is not served by the stub")
        if failure := self._scripted_failure(method, params):
            return failure
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except _ApiError as error:
            return _error(error.status, error.description, error.retry_after,
                          error.migrate_to_chat_id)
        return web.json_response({"ok": True, "result": result})

    def _scripted_failure(self, method: str, params: dict[str, Any]) -> web.Response | None:
        for failure in self._failures:
            if failure.method != method or failure.times <= 0:
                continue
            if failure.chat_id is not None and str(params.get("chat_id")) != str(failure.chat_id):
                continue
            if failure.skip > 0:
                failure.skip -= 1
                return None
            failure.times -= 1
            if failure.status == 429:
                self.rejected_429 += 1
            return _error(failure.status, failure.description, failure.retry_after)
        return None

    # ------------------------------------------------------------------ methods

    def _m_getMe(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Newsbot", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and int(p.get("timeout") or 0) > 0:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), self.poll_wait)
            except TimeoutError:
                pass
        limit = int(p.get("limit") or 100)
        return self._updates[:limit]

    def _m_deleteWebhook(self, _p: dict[str, Any]) -> bool:
        return True

    def _m_setWebhook(self, _p: dict[str, Any]) -> bool:
        return True

    def _m_setMyCommands(self, p: dict[str, Any]) -> bool:
        self.commands[p.get("language_code", "")] = p.get("commands", [])
        return True

    def _m_deleteMyCommands(self, p: dict[str, Any]) -> bool:
        self.commands.pop(p.get("language_code", ""), None)
        return True

    def _m_getMyCommands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(p.get("language_code", ""), [])

    def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        self.callback_answers.append(p)
        return True

    def _m_sendChatAction(self, p: dict[str, Any]) -> bool:
        self._check_chat(p)
        return True

    def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(p)
        text = str(p.get("text", ""))
        self._check_text(text, p)
        self._check_rate()
        sent = Sent(chat_id, next(self._message_ids), text, p.get("parse_mode"),
                    p.get("reply_markup"), p.get("link_preview_options"))
        self._record(sent)
        return self._message(sent)

    def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(p)
        text = str(p.get("text", ""))
        self._check_text(text, p)
        old = self._old(chat_id, p)
        sent = Sent(chat_id, old.message_id, text, p.get("parse_mode"), p.get("reply_markup"),
                    p.get("link_preview_options"), edited=True)
        self._record(sent)
        return self._message(sent)

    def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(p)
        old = self._old(chat_id, p)
        sent = Sent(chat_id, old.message_id, old.text, old.parse_mode, p.get("reply_markup"),
                    old.link_preview_options, edited=True)
        self._record(sent)
        return self._message(sent)

    def _m_deleteMessage(self, p: dict[str, Any]) -> bool:
        self._messages.pop((str(p.get("chat_id")), int(p.get("message_id") or 0)), None)
        return True

    def _m_getChat(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chats.get(str(p.get("chat_id")).lower())
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), False)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    def _m_getChatMember(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_key = self._chat_key(p.get("chat_id"))
        user_id = int(p.get("user_id") or 0)
        if chat_key in self._forgotten:
            raise _ApiError(400, "Bad Request: chat not found")
        if user_id in self._admins.get(chat_key, set()):
            return _admin_member(user_id)
        return {"status": "member", "user": _user(user_id)}

    def _m_getChatAdministrators(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        chat_key = self._chat_key(p.get("chat_id"))
        return [_admin_member(u) for u in sorted(self._admins.get(chat_key, set()))]

    # ------------------------------------------------------------------ helpers

    def _chat_key(self, chat_id: Any) -> str:
        """Numeric chat id as a string; an @username is resolved through add_chat."""
        key = str(chat_id)
        chat = self._chats.get(key.lower())
        return str(chat["id"]) if chat else key

    def _check_chat(self, p: dict[str, Any]) -> int | str:
        chat_key = self._chat_key(p.get("chat_id"))
        if chat_key in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_key in self._migrated:
            raise _ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                            migrate_to_chat_id=self._migrated[chat_key])
        if chat_key in self._forgotten:
            raise _ApiError(400, "Bad Request: chat not found")
        return int(chat_key) if chat_key.lstrip("-").isdigit() else chat_key

    @staticmethod
    def _check_text(text: str, p: dict[str, Any]) -> None:
        if p.get("parse_mode") == "HTML":
            problem = _html_problem(text)
            if problem:
                raise _ApiError(400, f"Bad Request: can't parse entities: {problem}")
        visible = html.unescape(_TAG.sub("", text)) if p.get("parse_mode") == "HTML" else text
        if not visible.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")

    def _check_rate(self) -> None:
        if not self.rate_limit:
            return
        now = time.monotonic()
        while self._send_times and now - self._send_times[0] >= 1.0:
            self._send_times.popleft()
        if len(self._send_times) >= self.rate_limit:
            self.rejected_429 += 1
            raise _ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._send_times.append(now)

    def _old(self, chat_id: int | str, p: dict[str, Any]) -> Sent:
        old = self._messages.get((str(chat_id), int(p.get("message_id") or 0)))
        if old is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return old

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        self._messages[(str(sent.chat_id), sent.message_id)] = sent
        self._sent_event.set()

    def _message(self, sent: Sent) -> dict[str, Any]:
        chat = self._chats.get(str(sent.chat_id)) or {"id": sent.chat_id, "type": "private"}
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Newsbot",
                     "username": BOT_USERNAME},
            "text": sent.text,
        }
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        if sent.edited:
            message["edit_date"] = int(time.time())
        return message


# Telegram's HTML parse mode: these tags only (https://core.telegram.org/bots/api#html-style),
# the named entities lt, gt, amp and quot, and any numeric one.
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                 "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"}
_NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}


class _TelegramHtml(HTMLParser):
    """Collects the first reason Telegram would refuse a text in HTML parse mode."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problem: str | None = None

    def _refuse(self, problem: str) -> None:
        self.problem = self.problem or problem

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag not in _ALLOWED_TAGS:
            self._refuse(f'Unsupported start tag "{tag}"')
        elif tag == "span" and values.get("class") != "tg-spoiler":
            self._refuse('Tag "span" must have class "tg-spoiler"')
        elif tag == "a" and not values.get("href"):
            self._refuse('Tag "a" must have a non-empty "href"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._refuse(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self._refuse(f'Unmatched end tag "{tag}"')
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:  # what did not parse as a tag or an entity
            self._refuse("Unexpected \"<\" or \"&\" (use &lt; and &amp;)")

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            self._refuse(f'Unsupported HTML entity "&{name};"')

    def handle_comment(self, data: str) -> None:
        self._refuse("Unsupported comment")

    def handle_decl(self, decl: str) -> None:
        self._refuse("Unsupported declaration")

    def handle_pi(self, data: str) -> None:
        self._refuse("Unsupported processing instruction")

    def unknown_decl(self, data: str) -> None:
        self._refuse("Unsupported declaration")


def _html_problem(text: str) -> str | None:
    """Why Telegram would refuse `text` in HTML parse mode, or None if it would accept it."""
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.problem is None and parser.open:
        parser.problem = f"Can't find end tag corresponding to start tag {parser.open[-1]!r}"
    return parser.problem


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None,
                 migrate_to_chat_id: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


def _error(status: int, description: str, retry_after: int | None = None,
           migrate_to_chat_id: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    parameters = {"retry_after": retry_after, "migrate_to_chat_id": migrate_to_chat_id}
    if any(v is not None for v in parameters.values()):
        body["parameters"] = {k: v for k, v in parameters.items() if v is not None}
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Form fields (urlencoded or multipart, as aiogram sends them) or a JSON body."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw.update(await request.json())
        return raw
    if request.can_read_body:
        form = await request.post()
        raw.update({k: v for k, v in form.items() if isinstance(v, str)})
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "chat_id":
            params[key] = int(value) if str(value).lstrip("-").isdigit() else value
        elif key in _JSON_FIELDS and isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        else:
            params[key] = value
    return params


def _user(user_id: int, first_name: str = "User", **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **extra}


def _admin_member(user_id: int) -> dict[str, Any]:
    rights = dict.fromkeys(
        ("can_be_edited", "is_anonymous", "can_delete_messages", "can_manage_video_chats",
         "can_restrict_members", "can_promote_members", "can_post_stories",
         "can_edit_stories", "can_delete_stories", "can_send_welcome_messages"), False)
    rights.update(can_manage_chat=True, can_change_info=True, can_invite_users=True,
                  can_post_messages=True)
    return {"status": "administrator", "user": _user(user_id), **rights}


# ---------------------------------------------------------------------- the harness


def _chat(chat_id: int, chat_type: str, title: str | None) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "User"
    else:
        chat["title"] = title or f"Chat {chat_id}"
    return chat


class BotHarness:
    """The app's Bot + Dispatcher pointed at a fresh :class:`TelegramStub` (see module doc)."""

    def __init__(
        self,
        db: Any,
        *,
        settings: Any = None,
        clock: Callable[[], datetime] | None = None,
        topic_service: Any = None,
        fetcher: Any = None,
        stub: TelegramStub | None = None,
        **workflow: Any,
    ) -> None:
        from bot.config import Settings

        self.db = db
        self.stub = stub or TelegramStub()
        self._settings = settings or Settings(_env_file=None, bot_token=TOKEN, admin_ids={1})
        self.clock = clock or (lambda: datetime.now(UTC))
        self.topic_service = topic_service
        self.fetcher = fetcher
        self.workflow = workflow
        self._message_ids = itertools.count(1)
        self._owns_stub = stub is None

    @property
    def settings(self) -> Any:
        return self._settings

    async def __aenter__(self) -> BotHarness:
        from pydantic import SecretStr

        from bot.app import create_bot, create_dispatcher

        if self._owns_stub:
            await self.stub.start()
        self._settings = self._settings.model_copy(
            update={"telegram_api_base": self.stub.url,
                    "bot_token": self._settings.bot_token or SecretStr(TOKEN)}
        )
        self.bot = create_bot(self._settings)
        self.dp = create_dispatcher(
            db=self.db, settings=self._settings, topic_service=self.topic_service,
            fetcher=self.fetcher, clock=self.clock, bot=self.bot, **self.workflow,
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.bot.session.close()
        if self._owns_stub:
            await self.stub.close()

    # ------------------------------------------------------------------ feeding updates

    async def feed(self, update: dict[str, Any]) -> list[Sent]:
        """Feed one raw update through the dispatcher; return what the bot sent or edited."""
        from aiogram.types import Update

        update = dict(update)
        update.setdefault("update_id", self.stub.next_update_id())
        before = len(self.stub.sent)
        parsed = Update.model_validate(update, context={"bot": self.bot})
        await self.dp.feed_update(self.bot, parsed)
        return self.stub.sent[before:]

    def message_update(
        self,
        text: str,
        *,
        chat_id: int = 1001,
        user_id: int | None = None,
        chat_type: str = "private",
        lang: str | None = "ru",
        title: str | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        user_id = user_id if user_id is not None else chat_id
        user = _user(user_id, **({"language_code": lang} if lang else {}))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(self.clock().timestamp()),
            "chat": _chat(chat_id, chat_type, title),
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"message": message}

    async def send(self, text: str, **kwargs: Any) -> list[Sent]:
        """A user writes `text` (see :meth:`message_update` for the options)."""
        return await self.feed(self.message_update(text, **kwargs))

    async def channel_post(self, text: str, *, chat_id: int = -100777,
                           title: str = "Channel") -> list[Sent]:
        post = self.message_update(text, chat_id=chat_id, chat_type="channel", title=title)
        post["message"].pop("from")
        return await self.feed({"channel_post": post["message"]})

    async def press(self, sent: Sent, data: Any, *, user_id: int | None = None,
                    lang: str | None = "ru") -> list[Sent]:
        """Press an inline button with callback `data` (str or CallbackData) on `sent`."""
        callback_data = data if isinstance(data, str) else data.pack()
        chat_id = int(sent.chat_id)
        chat_type = "private" if chat_id > 0 else "group"
        user_id = user_id if user_id is not None else chat_id
        user = _user(user_id, **({"language_code": lang} if lang else {}))
        message = {
            "message_id": sent.message_id,
            "date": int(self.clock().timestamp()),
            "chat": _chat(chat_id, chat_type, None),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Newsbot"},
            "text": sent.plain,
        }
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return await self.feed({"callback_query": {
            "id": str(self.stub.next_update_id()), "from": user, "chat_instance": "ci",
            "message": message, "data": callback_data,
        }})

    @asynccontextmanager
    async def polling(self) -> AsyncIterator[None]:
        """Run real long polling (getUpdates against the stub) for the duration."""
        task = asyncio.create_task(
            self.dp.start_polling(self.bot, handle_signals=False, close_bot_session=False,
                                  polling_timeout=1)
        )
        try:
            yield
        finally:
            try:
                await self.dp.stop_polling()
            except RuntimeError:  # polling had not started yet
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)


# ---------------------------------------------------------------------- data for bot tests


TEST_TOPICS = {
    "green": {"ru": "Зелёное развитие", "kk": "Жасыл даму", "en": "Green development"},
    "sco": {"ru": "ШОС", "kk": "ШЫҰ", "en": "SCO"},
}


async def add_topics(db: Any, topics: dict[str, dict[str, str]] | None = None) -> None:
    """Topic rows as TopicService would store them (names per language)."""
    from storage.models import Topic

    async with db.session() as session:
        for topic_id, names in (topics or TEST_TOPICS).items():
            session.add(Topic(id=topic_id, names=names, description=f"about {topic_id}"))
        await session.commit()


async def add_item(
    db: Any,
    title: str,
    *,
    topic: str = "green",
    score: float = 0.7,
    outlet: str = "Kursiv",
    fetched_at: datetime | None = None,
    published_at: datetime | None = None,
    cluster_id: int | None = None,
    url: str | None = None,
) -> int:
    """Store one on-topic item of `outlet` (created on first use); returns its id."""
    from sqlmodel import select

    from storage.models import Item, ItemTopic, Source

    fetched_at = fetched_at or datetime.now(UTC)
    async with db.session() as session:
        source = (await session.exec(select(Source).where(Source.name == outlet))).first()
        if source is None:
            source = Source(name=outlet, url=f"http://127.0.0.1/{outlet}.xml")
            session.add(source)
            await session.flush()
        key = f"{source.id}:{title}:{fetched_at.isoformat()}"
        item = Item(source_id=source.id, guid_key=key, url_key=key,
                    url=url or f"https://example.kz/{abs(hash(key))}", title=title,
                    text=title, published_at=published_at or fetched_at, fetched_at=fetched_at,
                    content_hash=key, cluster_id=cluster_id)
        session.add(item)
        await session.flush()
        session.add(ItemTopic(item_id=item.id, topic_id=topic, score=score, on_topic=True))
        await session.commit()
        return int(item.id)  # type: ignore[arg-type]
