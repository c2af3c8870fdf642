"""Delivery of outbox rows under Telegram's limits (see `sender` and `limits`)."""

from bot.delivery.limits import RateLimiter
from bot.delivery.sender import Deliverer, DeliveryReport

__all__ = ["Deliverer", "DeliveryReport", "RateLimiter"]
