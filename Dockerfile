# The worker image of twoway-report: the compiled code, the prebuilt workflow bundle and the
# production dependencies, run as an unprivileged user. `docker compose` builds it (see
# docker-compose.yml); `docker build -t twoway-report .` works on its own too.
#
# It does NOT run scripts/setup.mjs: that script prepares a developer machine (Temporal CLI,
# OpenSSH's sshd, embedded PostgreSQL state). In a container those are separate services.

ARG NODE_IMAGE=node:20-bookworm-slim
# The npm the lock file is kept with. npm 11 enforces package.json's `allowScripts` policy
# (the npm that ships with Node 20 ignores it and would run every install script).
ARG NPM_VERSION=11.19.1

# ---- build: install everything, compile, bundle the workflows, drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
ARG NPM_VERSION
WORKDIR /app
RUN npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"
COPY package.json package-lock.json ./
# Installs the embedded PostgreSQL binaries too (a dependency of the local set-up); the image
# never starts them, since DATABASE_URL always points at a server.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN npx tsc -p tsconfig.json \
    && node dist/src/workflows/bundle.js \
    && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: only what `node bin/twoway-report.js` needs ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TWOWAY_WORK_DIR=/var/lib/twoway/work \
    TWOWAY_METRICS_ADDRESS=0.0.0.0:9464
WORKDIR /app
# GnuPG encrypts and signs the files of clients with delivery.pgp (gpg, and gpg-agent for the signing key).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg \
    && rm -rf /var/lib/apt/lists/*
# The code stays owned by root (read-only for the process); only the work directory is the
# worker's. It is created before VOLUME so a new volume inherits the ownership.
RUN mkdir -p /var/lib/twoway/work && chown node:node /var/lib/twoway/work
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
VOLUME ["/var/lib/twoway/work"]
# `node` (uid/gid 1000), the unprivileged user the official Node.js images provide; numeric so
# that runtimes can verify it is not root (Kubernetes runAsNonRoot).
USER 1000:1000
# Prometheus endpoint of a worker (/metrics, TWOWAY_METRICS_ADDRESS).
EXPOSE 9464
# Healthy while the worker's metrics endpoint answers (node itself: the slim image has no
# curl). It proves the process and its Temporal runtime are up, not that Temporal is
# reachable: the worker logs and retries that itself. With TWOWAY_METRICS_ADDRESS=off there
# is nothing to probe and the check passes (disable it in that case).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node","-e","const a=process.env.TWOWAY_METRICS_ADDRESS||'0.0.0.0:9464';if(a==='off')process.exit(0);const i=a.lastIndexOf(':');let h=a.slice(0,i);if(h===''||h==='0.0.0.0'||h==='::'||h==='[::]')h='127.0.0.1';if(h.startsWith('['))h=h.slice(1,-1);require('http').get({host:h,port:Number(a.slice(i+1)),path:'/metrics',timeout:4000},(r)=>{r.resume();process.exit(r.statusCode===200?0:1)}).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1));"]
ENTRYPOINT ["node", "bin/twoway-report.js"]
CMD ["worker"]
