"""Wiring: database, topics, feeds, the aiogram Bot and Dispatcher, the scheduler, and the
long-polling or webhook loop. `create_bot` / `create_dispatcher` are also what the tests use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeDefault, ErrorEvent, LinkPreviewOptions

from bot.config import Settings
from bot.delivery import Deliverer, RateLimiter
from bot.handlers import all_routers
from bot.handlers.admin_topics import PendingChanges
from bot.i18n import LANGUAGES, t
from bot.middlewares import LanguageMiddleware, update_chat_id
from storage.db import Database

if TYPE_CHECKING:
    from feeds import Fetcher
    from topics import TopicService

log = logging.getLogger("newsbot.bot")

# Commands shown in Telegram's menu (admin commands are listed by /help for admins only).
MENU_COMMANDS = ("digest", "latest", "search", "org", "topics", "settings", "lang", "help")


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_bot(settings: Settings) -> Bot:
    """The Bot: HTML parse mode, link previews off, Bot API base from TELEGRAM_API_BASE."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )


def create_dispatcher(
    *,
    db: Database,
    settings: Settings,
    topic_service: TopicService | None,
    fetcher: Fetcher | None,
    bot: Bot,
    clock: Callable[[], datetime] = utc_now,
    deliverer: Deliverer | None = None,
    **extra: Any,
) -> Dispatcher:
    """The Dispatcher with every router, the language middleware and the workflow data
    (db, settings, topic_service, fetcher, clock, deliverer, pending) that handlers receive."""
    if deliverer is None:
        deliverer = Deliverer(db, bot, RateLimiter(settings.send_rate_per_second), clock=clock)
    dp = Dispatcher(
        db=db, settings=settings, topic_service=topic_service, fetcher=fetcher, clock=clock,
        deliverer=deliverer, pending=PendingChanges(), **extra,
    )
    dp.update.outer_middleware(LanguageMiddleware())
    dp.include_routers(*all_routers())
    dp.errors.register(_on_error)
    return dp


async def _on_error(event: ErrorEvent, bot: Bot, lang: str = "ru") -> bool:
    """Log the failure (the token is redacted by the log filter) and apologise to the user:
    a user never sees a traceback and never gets silence."""
    log.error("update %s failed: %r", event.update.update_id, event.exception,
              exc_info=event.exception)
    chat_id = update_chat_id(event.update)
    if chat_id is None:
        return True
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer()
        await bot.send_message(chat_id, t("common.error", lang))
    except Exception:  # the apology itself failed (blocked chat, network): log only
        log.warning("could not apologise in chat %s", chat_id, exc_info=True)
    return True


async def set_commands(bot: Bot) -> None:
    """Register the command menu in Russian (also the default), Kazakh and English."""
    for lang in LANGUAGES:
        commands = [BotCommand(command=c, description=t(f"menu.{c}", lang)) for c in MENU_COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    await bot.set_my_commands(
        [BotCommand(command=c, description=t(f"menu.{c}", "ru")) for c in MENU_COMMANDS],
        scope=BotCommandScopeDefault(),
    )


async def run(settings: Settings, *, handle_signals: bool = True) -> None:
    """Start everything (schema upgrade, topics, outlets, gazetteer, scheduler) and serve
    updates until interrupted: long polling, or a webhook server when WEBHOOK_URL is set."""
    from bot.scheduler import Jobs, create_scheduler
    from feeds import Fetcher, Poller, settle_startup_heap, sync_sources
    from storage.orgs import sync_gazetteer
    from topics import TopicService, load_gazetteer

    db = Database(settings.database_url)
    try:
        await db.upgrade()
        topic_service = TopicService(db, settings.seeds_dir)
        await topic_service.load()
        await sync_sources(db, settings.sources_file)
        async with db.session() as session:
            await sync_gazetteer(session, load_gazetteer(settings.seeds_dir).entries)
            await session.commit()
        settle_startup_heap()
        async with Fetcher() as fetcher:
            bot = create_bot(settings)
            dp = create_dispatcher(db=db, settings=settings, topic_service=topic_service,
                                   fetcher=fetcher, bot=bot)
            poller = Poller(db, fetcher, lambda: topic_service.classifier, clock=utc_now,
                            allow_private_added=settings.allow_private_feed_urls)
            jobs = Jobs(db=db, settings=settings, deliverer=dp["deliverer"], poller=poller,
                        clock=utc_now)
            scheduler = create_scheduler(jobs=jobs, settings=settings)
            try:
                await set_commands(bot)
                await jobs.deliverer.requeue_stale()
                scheduler.start()
                if settings.webhook_url:
                    await _serve_webhook(dp, bot, settings)
                else:
                    await bot.delete_webhook(drop_pending_updates=False)
                    log.info("long polling started")
                    await dp.start_polling(bot, handle_signals=handle_signals,
                                           close_bot_session=False)
            finally:
                if scheduler.running:
                    scheduler.shutdown(wait=False)
                await jobs.deliverer.stop()
                await bot.session.close()
    finally:
        await db.dispose()


async def _serve_webhook(dp: Dispatcher, bot: Bot, settings: Settings) -> None:
    """Receive updates on WEBHOOK_URL's path (behind the operator's HTTPS proxy). Only
    requests carrying the secret given to setWebhook are processed (others get 401), so
    nobody who merely finds the URL can forge updates."""
    from urllib.parse import urlsplit

    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    assert settings.webhook_url is not None
    secret = (settings.webhook_secret.get_secret_value() if settings.webhook_secret
              else secrets.token_urlsafe(32))
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(
        app, path=urlsplit(settings.webhook_url).path or "/")
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        await bot.set_webhook(settings.webhook_url, drop_pending_updates=False,
                              secret_token=secret)
        log.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
