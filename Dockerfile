# syntax=docker/dockerfile:1
#
# Tollgate production image: one image, three processes.
#   API (default):  node --import tsx api/server.ts
#   worker:         node --import tsx worker/orchestrator.ts
#   agent:          node --import tsx worker/agent.ts   (docker-compose.yml, profile "agent"; code in agent/)
# The API and the worker run the SQL migrations on start (advisory-locked, so starting them together is safe).
# The code runs from TypeScript source through tsx (a runtime dependency), so there is no build step.
# Debian (glibc) base: the Temporal worker's native core-bridge and @swc/core ship glibc binaries.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx and @temporalio/* are runtime dependencies; @swc/core and webpack (which the worker uses to
# bundle workflows at start) come in through @temporalio/worker, so --omit=dev keeps everything needed.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:20-bookworm-slim
# DATA_DIR: the default (.data) would resolve under /app, which the runtime user cannot write.
# It is only used when neither AUTH_JWKS_URL nor AUTH_JWKS is set: the API then generates a dev key there.
ENV NODE_ENV=production \
    PORT=3000 \
    WORKER_METRICS_PORT=9464 \
    DATA_DIR=/var/lib/tollgate
WORKDIR /app

COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
# The deployment agent's code (its entry is worker/agent.ts).
COPY agent ./agent
COPY worker ./worker
COPY domain ./domain
COPY platform ./platform
COPY store ./store
COPY dispatch ./dispatch
# The demo service and its deploy hook, for agents that deploy it (README, Deployments).
COPY demo ./demo
COPY db/migrations ./db/migrations
# Mints a token signed by the dev key when no AUTH_JWKS_URL/AUTH_JWKS is configured:
#   docker compose exec api node --import tsx scripts/token.ts --user alice@example.com --tenant acme --roles release-manager
COPY scripts/token.ts ./scripts/token.ts
# The token helper finds a running stack's DATA_DIR through the stack registry.
COPY scripts/stack/registry.ts ./scripts/stack/registry.ts

# Source stays root-owned and read-only to the runtime user; only DATA_DIR is writable.
# (tsx keeps its transform cache under /tmp.)
RUN mkdir -p /var/lib/tollgate && chown node:node /var/lib/tollgate
USER node

EXPOSE 3000 9464

# Checks the API (no curl in slim images). The worker service overrides this in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/v1/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "--import", "tsx", "api/server.ts"]
