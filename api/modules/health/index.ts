import { createRoute, z } from '@hono/zod-openapi';
import type { TaskQueuePoller } from '../../../platform/temporal';
import type { AppDeps } from '../../context';
import { ServiceUnavailable } from '../../errors';
import { envelope, ErrorSchema, perDialect, publicErrorResponses } from '../../openapi-helpers';
import { ok, stackflowOwnAnswer } from '../../respond';
import { createRouter } from '../../router';

const Check = z
  .object({
    status: z.enum(['up', 'down']),
    latencyMs: z.number(),
    error: z.string().optional(),
  })
  .openapi('HealthCheck');
const WorkerCheck = Check.extend({
  taskQueue: z.string(),
  /** Pollers seen on the task queue within HEALTH_WORKER_STALE_AFTER. */
  pollers: z.number().int(),
  lastPollAgeMs: z.number().optional(),
}).openapi('HealthWorkerCheck');
const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    // Further checks may join these; each has at least the shape of Check.
    checks: z.object({ postgres: Check, temporal: Check, worker: WorkerCheck }).catchall(Check),
  })
  .openapi('Health');

const route = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['Platform'],
  summary: 'Liveness and dependency health (no auth)',
  security: [],
  responses: {
    200: { description: 'Every dependency answers', content: { 'application/json': { schema: envelope(Health) } } },
    503: {
      description: 'A dependency is down: the Stella error names it (details carry the checks); StackFlow answers the health body itself',
      headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } } },
      content: { 'application/json': { schema: perDialect(ErrorSchema, Health) } },
    },
    ...publicErrorResponses([]),
  },
});

const TIMEOUT_MS = 2_000;
const { version: VERSION } = require('../../../package.json') as { version: string };

export function healthRouter() {
  const router = createRouter();
  router.openapi(route, async (c) => {
    const deps = c.get('deps');
    const [postgres, temporal, worker] = await Promise.all([checkPostgres(deps), checkTemporal(deps), checkWorker(deps)]);
    const healthy = postgres.status === 'up' && temporal.status === 'up' && worker.status === 'up';
    const body = { status: healthy ? ('ok' as const) : ('degraded' as const), version: VERSION, checks: { postgres, temporal, worker } };
    if (!healthy) {
      const down = Object.entries(body.checks).filter(([, v]) => v.status === 'down').map(([k]) => k);
      if (c.get('dialect') === 'stackflow') return stackflowOwnAnswer<z.infer<typeof ErrorSchema>, 503>(c, body, 503, { 'Retry-After': '5' });
      throw new ServiceUnavailable(`Unavailable: ${down.join(', ')}`, 'DEPENDENCY_UNAVAILABLE', body);
    }
    return ok(c, body);
  });
  return router;
}

async function timed(fn: () => Promise<unknown>): Promise<z.infer<typeof Check>> {
  const started = performance.now();
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS}ms`)), TIMEOUT_MS).unref())]);
    return { status: 'up', latencyMs: elapsed(started) };
  } catch (err) {
    return { status: 'down', latencyMs: elapsed(started), error: (err as Error).message };
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

const checkPostgres = (deps: AppDeps) => timed(() => deps.pool.query('SELECT 1'));

// Also tells the gateway whether Temporal answers, so commands fail fast while it does not.
const checkTemporal = (deps: AppDeps) => timed(() => deps.temporal.check(TIMEOUT_MS));

/**
 * A worker polls the orchestrator's task queue; Temporal remembers each poller
 * and when it last asked for a task. With no recent poller, commands would wait
 * for their workflows until COMMAND_TIMEOUT: the API is up but cannot work.
 */
async function checkWorker(deps: AppDeps): Promise<z.infer<typeof WorkerCheck>> {
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;
  const maxAge = deps.config.HEALTH_WORKER_STALE_AFTER;
  let pollers: TaskQueuePoller[] = [];
  const check = await timed(async () => {
    pollers = await deps.temporal.pollers(taskQueue, TIMEOUT_MS);
  });
  const now = Date.now();
  const ages = pollers.map((p) => (p.lastAccessAt === undefined ? Infinity : Math.max(0, now - p.lastAccessAt)));
  const youngest = Math.min(Infinity, ...ages);
  const fresh = ages.filter((age) => age <= maxAge).length;
  const result = { ...check, taskQueue, pollers: fresh, ...(Number.isFinite(youngest) ? { lastPollAgeMs: youngest } : {}) };
  if (check.status === 'down' || fresh > 0) return result;
  const error = Number.isFinite(youngest)
    ? `no worker has polled task queue ${taskQueue} for ${Math.round(youngest / 1000)}s`
    : `no worker has polled task queue ${taskQueue}`;
  return { ...result, status: 'down', error };
}
