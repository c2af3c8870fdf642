"""Inline keyboards and their CallbackData factories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGES, t

DIGEST_TIMES = ("06:00", "07:00", "08:00", "09:00", "10:00", "12:00", "18:00", "21:00")
FREQUENCIES = ("daily", "weekly", "instant", "off")
TIME_ZONES = ("Asia/Almaty", "Asia/Tashkent", "Asia/Bishkek", "Europe/Moscow", "Asia/Shanghai",
              "UTC")
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}


class SettingsCb(CallbackData, prefix="set"):
    """A /settings button: `menu` opens a sub-menu, `topic`/`time`/... set a value."""

    action: str  # menu | topic | time | freq | lang | tz | close
    value: str = ""


class ReviewCb(CallbackData, prefix="rev"):
    """Keep or discard a previewed topic change."""

    token: str
    keep: bool


def settings_menu(lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for menu in ("topics", "time", "freq", "lang", "tz"):
        kb.button(text=t(f"settings.button.{menu}", lang), callback_data=SettingsCb(
            action="menu", value=menu))
    kb.button(text=t("settings.button.close", lang), callback_data=SettingsCb(action="close"))
    kb.adjust(2, 2, 1, 1)
    return kb.as_markup()


def topics_menu(
    labels: Mapping[str, str], chosen: Sequence[str], lang: str
) -> InlineKeyboardMarkup:
    """One toggle per topic (✅ on); an empty `chosen` means every topic is on."""
    kb = InlineKeyboardBuilder()
    for topic, label in labels.items():
        mark = "✅" if not chosen or topic in chosen else "▫️"
        kb.button(text=f"{mark} {label}", callback_data=SettingsCb(action="topic", value=topic))
    _back(kb, lang)
    kb.adjust(*([1] * len(labels)), 1)
    return kb.as_markup()


def choice_menu(action: str, values: Sequence[str], current: str, lang: str,
                labels: Mapping[str, str] | None = None) -> InlineKeyboardMarkup:
    """Pick one of `values` (the current one marked)."""
    kb = InlineKeyboardBuilder()
    for value in values:
        label = (labels or {}).get(value, value)
        kb.button(text=f"• {label}" if value == current else label,
                  callback_data=SettingsCb(action=action, value=value))
    _back(kb, lang)
    width = 4 if action == "time" else 2
    rows = [width] * ((len(values) + width - 1) // width)
    kb.adjust(*rows, 1)
    return kb.as_markup()


def frequency_labels(lang: str) -> dict[str, str]:
    return {f: t(f"settings.freq.{f}", lang) for f in FREQUENCIES}


def language_labels() -> dict[str, str]:
    return {code: LANGUAGE_NAMES[code] for code in LANGUAGES}


def review_buttons(token: str, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("admin.keep", lang), callback_data=ReviewCb(token=token, keep=True))
    kb.button(text=t("admin.discard", lang), callback_data=ReviewCb(token=token, keep=False))
    return kb.as_markup()


def _back(kb: InlineKeyboardBuilder, lang: str) -> None:
    kb.button(text=t("settings.button.back", lang), callback_data=SettingsCb(action="menu",
                                                                               value="main"))
