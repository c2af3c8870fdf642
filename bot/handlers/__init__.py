"""The bot's routers, in the order the Dispatcher tries them."""

from __future__ import annotations

import importlib

from aiogram import Router

# Routers written by SEARCH (/search, /org); included once their modules exist.
_SEARCH_MODULES = ("bot.handlers.search", "bot.handlers.orgs")


def all_routers() -> list[Router]:
    """Fresh routers for one Dispatcher (a Router can be attached to one parent only)."""
    from bot.handlers import admin, admin_sources, admin_topics, digest, settings, start, stats

    modules = [importlib.import_module(name) for name in _SEARCH_MODULES if _exists(name)]
    routers = [
        start.router, settings.router, digest.router, *(m.router for m in modules),
        admin_topics.router, admin_sources.router, stats.router, admin.refusal, start.fallback,
    ]
    return [_detach(router) for router in routers]


def _exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _detach(router: Router) -> Router:
    """Let a module-level router join a new Dispatcher (tests build several in one process)."""
    router._parent_router = None  # aiogram has no public way to detach
    return router
