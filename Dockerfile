# syntax=docker/dockerfile:1
# One image for every role: the API (default), the saq worker and the one-shot migration.
#   docker build -t difyd .
#   docker run --rm -e SECRET_KEY=... -e DIFYD_DATABASE__URL=... difyd database upgrade   # migrate (once)
#   docker run -p 5001:5001 -e SECRET_KEY=... -e DIFYD_DATABASE__URL=... -e DIFYD_REDIS__URL=... difyd
#   docker run -e ... difyd workers run                                                     # a worker
# The configuration is config/production.example.toml copied to /etc/difyd/difyd.toml; every key can
# be overridden by environment (DIFYD_<SECTION>__<KEY>, SECRET_KEY ...) or by mounting your own file.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: build the project's wheel and every dependency's wheel -----------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies change less often than the code: resolve them in their own layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt
RUN pip wheel --wheel-dir /wheels -r /tmp/requirements.txt
COPY core ./core
COPY plugins ./plugins
RUN pip wheel --no-deps --wheel-dir /wheels .
# The wheel carries no tests and no checkout files: the code's defaults stand in for config/default.toml.

# --- runtime: the wheels, a non-root user, nothing else ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DIFYD_CONFIG=/etc/difyd/difyd.toml
# tini as PID 1 forwards SIGTERM to difyd, so a stop drains requests and jobs instead of being killed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 difyd \
 && useradd --system --uid 10001 --gid difyd --home-dir /var/lib/difyd --shell /usr/sbin/nologin difyd \
 && install -d -o difyd -g difyd -m 0750 /var/lib/difyd /var/lib/difyd/assets
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels difyd
COPY --chown=root:root config/production.example.toml /etc/difyd/difyd.toml

USER difyd
WORKDIR /var/lib/difyd
EXPOSE 5001
# Liveness only: /readyz (database + Redis) is for the load balancer, see docs/operations.md.
# `difyd health` asks /healthz on the configured port (server.port, DIFYD_SERVER__PORT).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["difyd", "health"]
ENTRYPOINT ["tini", "--", "difyd"]
CMD ["run", "--host", "0.0.0.0"]
