# syntax=docker/dockerfile:1
# seqr container image: `docker build -t seqr .` then
#   docker run -d --name seqr -p 5341:5341 -v seqr-data:/data \
#     -e SEQR_FIRSTRUN_ADMINPASSWORDHASH="$(printf '%s' "$PW" | seqr config hash)" seqr
# See docs/DEPLOYMENT.md (Docker). Build steps are `make build`'s two steps (the UI with
# Node 20, then `cargo build --release -p seqr`), split into stages so each is cached.

# --- 1. The web UI (ui/ -> ui/dist), with Node 20 ---------------------------------------------
FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY ui/ ./
RUN npm run build

# --- 2. The server binary, with ui/dist embedded ----------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/ crates/
COPY --from=ui /src/ui/dist ui/dist
RUN cargo build --release --locked -p seqr \
 && install -m 0755 target/release/seqr /usr/local/bin/seqr

# --- 3. Runtime: slim Debian, non-root ---------------------------------------------------------
FROM debian:bookworm-slim
# No packages are added: seqr is one binary needing only the C library, and it makes no
# outbound connections (so no CA certificates are needed).
RUN groupadd --system --gid 10001 seqr \
 && useradd --system --uid 10001 --gid seqr --home-dir /data --shell /usr/sbin/nologin seqr \
 && mkdir -p /data && chown seqr:seqr /data && chmod 0700 /data
COPY --from=build /usr/local/bin/seqr /usr/local/bin/seqr
USER seqr:seqr
VOLUME ["/data"]
# 5341: HTTP API, UI and ingestion (Seq's port). With HTTPS enabled, also publish 443 (and 80
# for --redirect-http); inside the container, listen on ports >= 1024 (e.g. 5443) as the
# non-root user cannot bind below 1024, and map them: -p 443:5443.
EXPOSE 5341
ENV SEQR_LISTEN=http://0.0.0.0:5341 \
    SEQR_STORAGE=/data
# /health answers 200 while the node accepts and serves events, 503 when it cannot (e.g. the
# volume is below the minimum free space). The image has no curl; bash's /dev/tcp suffices.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5341 && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["seqr", "serve"]
CMD ["--listen", "http://0.0.0.0:5341", "--storage", "/data"]
