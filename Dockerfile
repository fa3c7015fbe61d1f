# syntax=docker/dockerfile:1
# suz's image: python:3.11-slim, the runtime lock (requirements/runtime.txt) installed with pip,
# every file checked against its sha256; no test, lint or browser tools. Runs as the user suz
# (uid 10001), which can write only its data folder /var/lib/suz. docs/deployment.md, "Container".
#
#   docker build -t suz .
#   docker compose up -d          (compose.yaml: PostgreSQL, N web processes, one views process)
#
# One stage: every locked package is a wheel (nothing compiles), so a build stage would only
# copy the same virtualenv over; the layers below keep the dependency layer cached until the
# lock changes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/suz/venv/bin:$PATH

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/suz --shell /usr/sbin/nologin suz \
    && install -d -o suz -g suz -m 0750 /var/lib/suz \
    && python -m venv /opt/suz/venv

# the dependencies alone first: this layer is rebuilt only when the lock changes
COPY requirements/runtime.txt /opt/suz/requirements/runtime.txt
RUN pip install --require-hashes -r /opt/suz/requirements/runtime.txt

# suz itself, owned by root (the suz user reads it, cannot change it); editable, because the
# code finds static/, locale/ and the templates beside its packages (web/app.py, translations)
WORKDIR /opt/suz/app
COPY . .
RUN pip install --no-deps -e . && python -m compileall -q domain projections processes mail audit web suz

USER suz
ENV SUZ_MODE=production \
    SUZ_DATA_DIR=/var/lib/suz
VOLUME ["/var/lib/suz"]
EXPOSE 8000

# liveness: the process answers and its store answers (compose.yaml asks /ready of the web)
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# production mode: refuses to start, saying what is missing, without SUZ_CHAIN_KEY(_FILE) and
# SUZ_SIGNING_KEY(_FILE); SUZ_DATABASE_URL(_FILE) for PostgreSQL (else SQLite in the volume)
CMD ["suz", "serve", "--host", "0.0.0.0", "--port", "8000"]
