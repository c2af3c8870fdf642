# The bot and its scheduler in one process. Build: docker compose build
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY bot/__init__.py bot/__init__.py
COPY feeds/__init__.py feeds/__init__.py
COPY topics/__init__.py topics/__init__.py
COPY storage/__init__.py storage/__init__.py
RUN pip install .

COPY bot bot
COPY feeds feeds
COPY topics topics
COPY storage storage
COPY seeds seeds
RUN pip install --no-deps . \
    && useradd --system --home-dir /app newsbot \
    && mkdir -p /app/data && chown newsbot /app/data

USER newsbot
# `newsbot run` applies database migrations before it starts polling.
CMD ["newsbot", "run"]
