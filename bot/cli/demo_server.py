"""A local HTTP server for the demo's sample feeds (`feeds/samples/`).

The samples carry `{{hours_ago:N}}` where a date belongs, so the demo always shows fresh news:
each is replaced, when served, by the time N hours before now (RFC 822 in RSS, ISO 8601 in
Atom).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "feeds" / "samples"
_PLACEHOLDER = re.compile(r"\{\{hours_ago:(\d+)\}\}")


def render_sample(path: Path, now: datetime) -> bytes:
    """The sample feed at `path` with its date placeholders filled in relative to `now`."""
    text = path.read_text(encoding="utf-8")
    atom = "<feed" in text[:300]

    def date(match: re.Match[str]) -> str:
        moment = now - timedelta(hours=int(match.group(1)))
        return moment.isoformat() if atom else format_datetime(moment)

    return _PLACEHOLDER.sub(date, text).encode("utf-8")


class _SampleHandler(BaseHTTPRequestHandler):
    def __init__(self, *args: object, samples_dir: Path, **kwargs: object) -> None:
        self.samples_dir = samples_dir
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        path = self.samples_dir / Path(self.path.lstrip("/")).name
        if path.suffix != ".xml" or not path.is_file():
            self.send_error(404)
            return
        body = render_sample(path, datetime.now(UTC))
        self.send_response(200)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the demo prints its own story."""


@contextmanager
def serve_samples(samples_dir: Path = SAMPLES_DIR) -> Iterator[str]:
    """Serve `samples_dir` on a free port of 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SampleHandler, samples_dir=samples_dir))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
