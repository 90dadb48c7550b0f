import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/stack/processes';
import { startTemporalDevServer, type DevServer } from '../../scripts/stack/temporal-server';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { createIncident, getIncident } from '../support/incidents';
import { testEnv } from '../support/env';

/**
 * An SLA timer set before the worker and the Temporal server go down fires at
 * the right time once they are back: the clock is durable, not in memory.
 */
let dir: string;
let port: number;
let server: DevServer;
let app: TestApp;

const TARGET_MS = 20_000;
const start = () =>
  startTemporalDevServer({ cli: testEnv.temporalCli, dbFile: path.join(dir, 'temporal.sqlite'), port, uiPort: 0, headless: true, logFile: path.join(dir, 'temporal.log') });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-incident-sla-restart-'));
  port = await freePort();
  server = await start();
  app = await startTestApp({ env: { TEMPORAL_ADDRESS: server.address, INCIDENT_SLA_RESOLUTION: `P1=${TARGET_MS}ms`, INCIDENT_SLA_WARNING: '0.99' } });
});
afterAll(async () => {
  await app.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the breach timer fires at the breach time after the worker and the Temporal server were restarted', async () => {
  const token = await app.token('olga@example.com', { roles: ['sre'] });
  const created = await createIncident(app, token, { short_description: 'Checkout latency over 5 s', priority: 'P1' });
  const breachAt = Date.parse(created.created_at) + TARGET_MS;
  // The clock has run once (its timer is set) before anything goes down.
  await until('first SLA computation', async () => (await getIncident(app, token, created.id)).sla_breach_at);

  await app.stopWorker();
  await server.stop();
  server = await start();
  await app.startWorker();
  const restartedAt = Date.now();

  const breached = await until('breach after the restart', async () => {
    const incident = await getIncident(app, token, created.id);
    return incident.sla_breached ? incident : undefined;
  }, 90_000);
  expect(Date.parse(breached.sla_breach_at)).toBe(breachAt);
  const { rows } = await app.pool.query(`SELECT occurred_at FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.sla_breach'`, [app.tenant, created.id]);
  expect(rows).toHaveLength(1);
  expect(new Date(rows[0].occurred_at).toISOString()).toBe(new Date(breachAt).toISOString());
  // Both were back before the breach was due, so it was the durable timer that fired, at its time.
  expect(restartedAt).toBeLessThan(breachAt);
}, 180_000);
