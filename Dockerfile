# CLP API — the worker pool image: clp.fcgi, psql and the migrations.
#
#   docker build -t clp-api .
#
# One image for every role: the default command runs the worker pool
# (settings from the environment: CLP_LISTEN, CLP_WORKERS, CLP_DATABASE_URL,
# CLP_SOCKET_MODE, libpq's PG*); `clp-migrate` is the one-shot database
# step (migrations, clp_service's password, the master application).  No
# secret is in the image: passwords and the master token come from the
# environment or mounted files at run time.  See docs/DEPLOYING.md.

# ---- build: compilers and -dev packages, nothing of this stage ships ----
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        gcc libc6-dev make pkg-config \
        libfcgi-dev libpq-dev libjson-c-dev libcrypt-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY Makefile ./
COPY fuzz/Makefile.inc fuzz/
COPY src/ src/
# The binary alone: `make` would run scripts/deps.sh (apt-get of the whole
# development toolchain, PostgreSQL and nginx).
RUN make CC=gcc cgi-bin/clp.fcgi \
 && strip cgi-bin/clp.fcgi

# ---- runtime: the shared libraries, psql, cgi-fcgi for the health check,
# python3-minimal for scripts/conninfo (connection strings stay off command lines) ----
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libfcgi0ldbl libpq5 libjson-c5 libcrypt1 libssl3 \
        libfcgi-bin postgresql-client-15 ca-certificates python3-minimal \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 clp \
 && useradd --system --uid 10001 --gid clp --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin clp \
 && install -d -o clp -g clp -m 0755 /run/clp

COPY --from=build /src/cgi-bin/clp.fcgi /usr/local/bin/clp.fcgi
COPY sql/ /usr/local/share/clp/sql/
COPY scripts/migrate scripts/init-db scripts/conninfo /usr/local/share/clp/scripts/
COPY deploy/healthcheck /usr/local/bin/clp-healthcheck
COPY deploy/migrate /usr/local/bin/clp-migrate
RUN chmod 0755 /usr/local/bin/clp.fcgi /usr/local/bin/clp-healthcheck \
        /usr/local/bin/clp-migrate /usr/local/share/clp/scripts/migrate \
        /usr/local/share/clp/scripts/init-db \
        /usr/local/share/clp/scripts/conninfo \
 && /usr/local/bin/clp.fcgi --help >/dev/null \
 && CLP_CONNINFO='postgresql://u@h/d' python3 \
        /usr/local/share/clp/scripts/conninfo env >/dev/null

# Defaults only; override at run time.  CLP_DATABASE_URL has none on
# purpose (libpq's PG* variables apply when it is unset).
ENV CLP_LISTEN=unix:/run/clp/clp.sock \
    CLP_SOCKET_MODE=0660

USER 10001:10001

# Healthy when a worker answers FastCGI GET /healthz with 200 (the worker
# is accepting and reaches the database).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/clp-healthcheck"]

# The pool finishes in-flight requests on SIGTERM (up to 30 s): give
# `docker stop` at least that (compose: stop_grace_period: 35s).
STOPSIGNAL SIGTERM
CMD ["/usr/local/bin/clp.fcgi"]
