"""Ingestion: the outlet list, fetching, parsing, normalising and the poll job.

Other packages import only these names.
"""

from feeds.fetch import Fetcher, FetchError, FetchLimits, FetchResult
from feeds.parse import FeedError, ParsedFeed, parse_feed
from feeds.poll import Poller, PollSummary, SourceOutcome, backoff_delay, settle_startup_heap
from feeds.sources import SourceError, add_source, load_sources_file, sync_sources
from storage.sources import (
    failing_sources,
    list_sources,
    mark_failure_notified,
    remove_source,
    set_source_enabled,
)

__all__ = [
    "FeedError",
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "ParsedFeed",
    "PollSummary",
    "Poller",
    "SourceError",
    "SourceOutcome",
    "add_source",
    "backoff_delay",
    "failing_sources",
    "list_sources",
    "load_sources_file",
    "mark_failure_notified",
    "parse_feed",
    "remove_source",
    "set_source_enabled",
    "settle_startup_heap",
    "sync_sources",
]
