# syntax=docker/dockerfile:1
#
# Tollgate production image: one image, three processes, compiled JavaScript run by node (npm run build):
#   API (default):  node dist/api.js
#   worker:         node dist/worker.js     (loads dist/workflow-bundle.js, built here, so it polls at once)
#   agent:          node dist/agent.js      (docker-compose.yml, profile "agent"; code in agent/)
# The API and the worker run the SQL migrations on start (advisory-locked, so starting them together is safe).
# Debian (glibc) base: the Temporal worker's native core-bridge ships glibc binaries.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# esbuild (the build) comes in through tsx, and webpack and @swc/core (the workflow bundle) through
# @temporalio/worker, so --omit=dev keeps everything the build and the processes need.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# The build: TypeScript to dist/*.js (esbuild, one file per process) and the workflow bundle (webpack).
FROM deps AS build
COPY tsconfig.json ./
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
COPY agent ./agent
COPY worker ./worker
COPY domain ./domain
COPY platform ./platform
COPY store ./store
COPY dispatch ./dispatch
# The web console's sources; the build bundles them into dist/console, which the API serves at /console.
COPY console ./console
COPY scripts ./scripts
COPY cli ./cli
RUN node --import tsx scripts/build.ts

FROM node:20-bookworm-slim
# DATA_DIR: the default (.data) would resolve under /app, which the runtime user cannot write.
# It is only used when neither AUTH_JWKS_URL nor AUTH_JWKS is set: the API then generates a dev key there.
ENV NODE_ENV=production \
    PORT=3000 \
    WORKER_METRICS_PORT=9464 \
    DATA_DIR=/var/lib/tollgate \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
WORKDIR /app

COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --from=build /app/dist ./dist
# dist/*.js read the migrations from ../db/migrations at run time.
COPY db/migrations ./db/migrations
# The demo service and its deploy hook, for agents that deploy it (README, Deployments); they run through tsx.
COPY demo ./demo
# The example plugins (TOLLGATE_PLUGINS=./plugins/example-notifier,./plugins/example-gate); secrets rotate with node dist/rotate-integration-key.js,
# the evidence key with node dist/rotate-evidence-key.js.
COPY plugins ./plugins
# Mints a token signed by the dev key when no AUTH_JWKS_URL/AUTH_JWKS is configured:
#   docker compose exec api node dist/token.js --user alice@example.com --tenant acme --roles release-manager

# Code stays root-owned and read-only to the runtime user; only DATA_DIR is writable.
RUN mkdir -p /var/lib/tollgate && chown node:node /var/lib/tollgate
USER node

EXPOSE 3000 9464

# Checks the API (no curl in slim images). The worker service overrides this in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/v1/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "--enable-source-maps", "dist/api.js"]
