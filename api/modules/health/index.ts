import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../../context';
import { ServiceUnavailable } from '../../errors';
import { ok } from '../../respond';
import { createRouter } from '../../router';

const Check = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});
const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    checks: z.object({ postgres: Check, temporal: Check }),
  })
  .openapi('Health');

const route = createRoute({
  method: 'get',
  path: '/health',
  tags: ['Platform'],
  summary: 'Liveness and dependency health (no auth)',
  security: [],
  responses: {
    200: { description: 'Postgres and Temporal both answer', content: { 'application/json': { schema: Health } } },
    503: { description: 'A dependency is down; details name it' },
  },
});

const TIMEOUT_MS = 2_000;
const { version: VERSION } = require('../../../package.json') as { version: string };

export function healthRouter() {
  const router = createRouter();
  router.openapi(route, async (c) => {
    const deps = c.get('deps');
    const [postgres, temporal] = await Promise.all([checkPostgres(deps), checkTemporal(deps)]);
    const healthy = postgres.status === 'up' && temporal.status === 'up';
    const body = { status: healthy ? ('ok' as const) : ('degraded' as const), version: VERSION, checks: { postgres, temporal } };
    if (!healthy) {
      const down = Object.entries(body.checks).filter(([, v]) => v.status === 'down').map(([k]) => k);
      if (c.get('dialect') === 'stackflow') return c.json(body, 503);
      throw new ServiceUnavailable(`Unavailable: ${down.join(', ')}`, 'DEPENDENCY_UNAVAILABLE', body);
    }
    return ok(c, body) as never;
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

const checkTemporal = (deps: AppDeps) =>
  timed(async () => {
    const connection = await deps.temporal.probe();
    await connection.withDeadline(Date.now() + TIMEOUT_MS, () => connection.workflowService.describeNamespace({ namespace: deps.config.TEMPORAL_NAMESPACE }));
  });
