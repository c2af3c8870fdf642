# The bot and its scheduler in one process. Build: docker compose build
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1

WORKDIR /app

# An editable install: the code, seeds, outlet list, texts and migrations are read from /app.
COPY . .
RUN pip install -e . \
    && useradd --system --home-dir /app newsbot \
    && mkdir -p /app/data && chown newsbot /app/data

USER newsbot
# `newsbot run` applies database migrations before it starts polling.
CMD ["newsbot", "run"]
