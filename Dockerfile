# syntax=docker/dockerfile:1
# Switchyard AI gateway. Build: docker build -t switchyard .   Run, configure, stop: docs/deployment.md.
# The runtime file set is assembled by scripts/container-fileset.sh, which test/e2e/deploy-container.test.ts
# runs outside Docker to start and smoke-test the same files as a non-root user.

# One base for every stage: re2 is compiled in the deps stage against this image's glibc and Node ABI.
# uWebSockets.js needs glibc >= 2.27 with Node 20 (Debian 12 has 2.36) and >= 2.38 with Node 22/24
# (--build-arg NODE_IMAGE=node:22-trixie-slim); there is no build for musl/Alpine (docs/operations.md).
ARG NODE_IMAGE=node:20-bookworm-slim

# TypeScript and the admin UI. The build runs tsc and esbuild only (esbuild's binary comes in its
# platform package), so the dev dependencies are installed without their install scripts.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
COPY ui ./ui
COPY config ./config
COPY docs ./docs
RUN npm run build && bash scripts/container-fileset.sh files /src /out

# Production dependencies. re2 downloads a prebuilt binary when it can, else compiles from source.
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/container-fileset.sh /usr/local/bin/
RUN bash /usr/local/bin/container-fileset.sh deps /app

FROM ${NODE_IMAGE}
RUN groupadd --system --gid 10001 switchyard \
 && useradd --system --uid 10001 --gid switchyard --home-dir /var/lib/switchyard --shell /usr/sbin/nologin switchyard \
 && mkdir -p /var/lib/switchyard /etc/switchyard \
 && chown switchyard:switchyard /var/lib/switchyard \
 && chmod 0700 /var/lib/switchyard
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
# The embedded default config (built-in simulator) reads these; a mounted config may use them too.
ENV NODE_ENV=production \
    SWITCHYARD_DATA_DIR=/var/lib/switchyard \
    SWITCHYARD_PORT=8080 \
    SWITCHYARD_ADMIN_PORT=8081
# Keys, usage, the admin token, the config store and audit files. Without a volume they die with the container.
VOLUME ["/var/lib/switchyard"]
EXPOSE 8080 8081
# SIGTERM drains: in-flight requests finish for up to server.drain_timeout_ms (30 s by default), so
# give the container longer than that before SIGKILL: docker run --stop-timeout 45, compose
# stop_grace_period: 45s, Kubernetes terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
# The admin listener answers /healthz; the image has no curl, Node's fetch does the request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SWITCHYARD_ADMIN_PORT||8081)+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
USER 10001:10001
# Node is PID 1 and gets the stop signal itself; the CLI drains on SIGTERM.
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
# The embedded default: the built-in simulator on :8080, admin on 127.0.0.1:8081 inside the container.
# Production: start --config /etc/switchyard/switchyard.yaml with your file mounted there.
CMD ["start"]
