# syntax=docker/dockerfile:1.7
# One image for every OMS process: `oms api` (default), `oms worker`, `oms migrate`.
# Patch-level tag so a rebuild next month gets the same interpreter; bump it deliberately.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --- build: resolve and install the distribution into a self-contained venv -----------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The whole context (trimmed by .dockerignore) is copied so a new top-level package needs no
# Dockerfile change; only the venv leaves this stage, so nothing else reaches the final image.
COPY . .
# A cache mount instead of --no-cache-dir: rebuilds reuse downloaded wheels, the layer stays small.
RUN --mount=type=cache,target=/root/.cache/pip pip install .

# --- runtime: interpreter + venv + tini, nothing to compile with ---------------------------
FROM ${PYTHON_IMAGE} AS runtime
# tini as PID 1: it forwards SIGTERM to `oms` (the worker drains on SIGTERM) and reaps zombies;
# a bare Python PID 1 ignores signals it has no handler for.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
# Numeric uid/gid so Kubernetes can verify runAsNonRoot without resolving names.
RUN groupadd --system --gid 10001 oms \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin oms \
    && mkdir -p /app /var/lib/oms \
    && chown oms:oms /app /var/lib/oms
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMS_API_HOST=0.0.0.0 \
    OMS_DATA_DIR=/var/lib/oms \
    OMS_LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "oms"]
CMD ["api"]
