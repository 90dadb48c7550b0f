import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { freePort } from '../../scripts/stack/processes';
import { startTemporalDevServer, type DevServer } from '../../scripts/stack/temporal-server';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, step } from '../support/changes';
import { eventually, until } from '../support/eventually';
import { testEnv } from '../support/env';

/** Stopping the dev server and starting it again on the same SQLite file keeps every workflow. */
let dir: string;
let port: number;
let server: DevServer;
let app: TestApp;

const start = () =>
  startTemporalDevServer({ cli: testEnv.temporalCli, dbFile: path.join(dir, 'temporal.sqlite'), port, uiPort: 0, headless: true, logFile: path.join(dir, 'temporal.log') });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-temporal-restart-'));
  port = await freePort();
  server = await start();
  app = await startTestApp({ env: { TEMPORAL_ADDRESS: server.address } });
});
afterAll(async () => {
  await app.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a change started before the restart is still running after it, and carries on', async () => {
  const requester = await app.token('alice@example.com', { roles: ['requester'] });
  const approver = await app.token('bob@example.com', { roles: ['cab-member'] });
  const { id } = await createChange(app, requester, auroraChange());
  await step(app, requester, 'POST', `${id}/submit`);

  await server.stop();
  expect((await app.http('GET', '/api/v1/health')).status).toBe(503);
  server = await start();

  // The API's connection and the worker's polls recover on their own.
  await until('health', async () => (await app.http('GET', '/api/v1/health')).status === 200, 60_000);
  const connection = await Connection.connect({ address: server.address });
  try {
    const handle = new Client({ connection }).workflow.getHandle(`${app.tenant}:change:${id}`);
    await eventually(async () => {
      const described = await handle.describe();
      expect(described.status.name).toBe('RUNNING');
      expect(described.searchAttributes.TollgateState).toEqual(['submitted']);
    });
  } finally {
    await connection.close();
  }

  const cab = await until('submit-cab after restart', async () => {
    const res = await app.http('POST', `/prod/api/changes/${id}/submit-cab`, { token: requester, body: {}, headers: { 'idempotency-key': `cab-${id}` } });
    return res.status === 200 ? res.body : undefined;
  }, 60_000);
  expect(cab.state).toBe('cab_review');
  expect((await step(app, approver, 'POST', `${id}/approve`, {})).state).toBe('scheduled');
});
