import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { listPage } from '../../api/list-query';
import { changeListSpec, findChange } from '../../api/modules/changes/changes.queries';
import { createPool } from '../../platform/db';
import { TemporalGateway } from '../../platform/temporal';

/**
 * The yardstick: bare Hono routes doing the same data work as the API's list,
 * get and health (the same query builders and Postgres pool size, the same
 * Temporal calls) and nothing else: no token check, validation, rate limit,
 * envelope, access log or metrics. Run as its own process, like the API.
 * Env: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, PORT, BENCH_TENANT, BENCH_POOL_SIZE.
 */
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const tenant = env('BENCH_TENANT');
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const taskQueue = process.env.TEMPORAL_TASK_QUEUE ?? 'tollgate-orchestrator';
const pool = createPool(env('DATABASE_URL'), Number(env('BENCH_POOL_SIZE')));
const temporal = new TemporalGateway({ address: env('TEMPORAL_ADDRESS'), namespace });
const sort = { field: 'created_at', direction: 'desc' } as const;

const app = new Hono();
app.get('/list', async (c) => {
  const pageSize = Number(c.req.query('pageSize') ?? 20);
  // The same SQL as the API's list, whose records come back as JSON text: spliced, not parsed.
  const page = await listPage(pool, changeListSpec(tenant, {} as never), { mode: 'offset', page: 1, pageSize, sort }, (row: { body: string }) => row.body);
  return c.body(`{"data":[${page.items.join(',')}],"total":${page.total}}`, 200, { 'Content-Type': 'application/json' });
});
app.get('/get/:id', async (c) => {
  const change = await findChange(pool, tenant, c.req.param('id'));
  return change ? c.json(change) : c.json({ error: 'not found' }, 404);
});
app.get('/health', async (c) => {
  await Promise.all([pool.query('SELECT 1'), temporal.check(2_000), temporal.pollers(taskQueue, 2_000)]);
  return c.json({ status: 'ok' });
});

const server = serve({ fetch: app.fetch, port: Number(env('PORT')), hostname: '127.0.0.1' }, (info) => {
  console.log(`bare server listening on ${info.port}`);
});
const stop = () => server.close(() => void Promise.all([pool.end(), temporal.close()]).finally(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
