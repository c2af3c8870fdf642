"""The bot's routers, in the order the Dispatcher tries them."""

from __future__ import annotations

from aiogram import Router


def all_routers() -> list[Router]:
    """Every router for one Dispatcher: subscribers' commands, /search and /org (SEARCH),
    admin commands, then the refusal of admin commands and the unknown-command reply."""
    from bot.handlers import (
        admin,
        admin_sources,
        admin_topics,
        digest,
        orgs,
        search,
        settings,
        start,
        stats,
    )

    routers = [
        start.router, settings.router, digest.router, search.router, orgs.router,
        admin_topics.router, admin_sources.router, stats.router, admin.refusal, start.fallback,
    ]
    return [_detach(router) for router in routers]


def _detach(router: Router) -> Router:
    """Let a module-level router join a new Dispatcher (tests build several in one process);
    aiogram has no public way to detach a router from its previous parent."""
    router._parent_router = None
    return router
