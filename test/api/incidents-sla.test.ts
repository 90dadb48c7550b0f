import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { createIncident, getIncident, patchIncident } from '../support/incidents';

/**
 * The SLA clock end to end, with short configured targets: breach time from
 * the policy, pause and resume, a priority change keeping elapsed time,
 * resolution stopping it and reopening resuming it, and a warning and a breach
 * each recorded once (row, audit row, search attribute, notification).
 */
let app: TestApp;
let token: string;
let hooks: Server;
const received: Array<{ event: string; body: any }> = [];

const SECOND = 1000;
const MINUTE = 60 * SECOND;

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ event: String(req.headers['x-tollgate-event']), body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  app = await startTestApp({
    env: {
      INCIDENT_SLA_RESPONSE: 'P1=1h,P2=1h,P3=1h,P4=3s',
      INCIDENT_SLA_RESOLUTION: 'P1=6s,P2=10m,P3=1h,P4=2h',
      INCIDENT_SLA_WARNING: '0.5',
    },
  });
  token = await app.token('nina@example.com', { roles: ['sre'] });
  await app.pool.query('INSERT INTO incident_notification_webhooks (tenant_id, assignment_group, url) VALUES ($1, $2, $3)', [
    app.tenant,
    'Payments',
    `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`,
  ]);
});
afterAll(async () => {
  await app.close();
  await new Promise((r) => hooks.close(r));
});

const at = (iso: string) => Date.parse(iso);

async function slaOf(id: string, ready: (i: any) => boolean, what: string) {
  return until(what, async () => {
    const incident = await getIncident(app, token, id);
    return incident.sla && ready(incident) ? incident : undefined;
  });
}

test('warning at half the target, then the breach: row, audit rows, search attributes, details and notifications', async () => {
  const created = await createIncident(app, token, { short_description: 'Card payments failing', priority: 'P1', assignment_group: 'Payments' });
  const first = await slaOf(created.id, (i) => i.sla_breach_at, 'breach time');
  expect(at(first.sla_breach_at)).toBe(at(created.created_at) + 6 * SECOND);

  const warned = await slaOf(created.id, (i) => i.sla.warned, 'warning');
  expect(warned.sla_breached).toBe(false);
  const breached = await slaOf(created.id, (i) => i.sla_breached, 'breach');
  expect(breached.sla).toMatchObject({ resolution_breached: true, response_breached: false, warned: true });
  expect(breached.sla_breach_at).toBe(first.sla_breach_at);

  const { rows } = await app.pool.query(`SELECT action, actor, after, occurred_at FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action LIKE 'incident.sla_%' ORDER BY id`, [
    app.tenant,
    created.id,
  ]);
  expect(rows.map((r) => r.action)).toEqual(['incident.sla_warning', 'incident.sla_breach']);
  expect(rows[0].after).toMatchObject({ target: 'resolution', priority: 'P1', at: new Date(at(created.created_at) + 3 * SECOND).toISOString() });
  expect(rows[1]).toMatchObject({ actor: 'tollgate', after: { target: 'resolution', at: first.sla_breach_at } });

  const handle = app.client.workflow.getHandle(`${app.tenant}:incident:${created.id}`);
  await eventually(async () => {
    const described = await handle.describe();
    expect(described.searchAttributes).toMatchObject({
      TollgateTenant: [app.tenant],
      TollgateKind: ['incident'],
      TollgateResourceId: [created.id],
      TollgateState: ['new'],
      TollgatePriority: ['P1'],
      TollgateFlags: ['sla_warning', 'sla_breached'],
    });
    expect(await described.staticSummary()).toBe('Card payments failing');
  });
  await eventually(async () => {
    const found = [];
    for await (const w of app.client.workflow.list({ query: `TollgateTenant="${app.tenant}" AND TollgateKind="incident" AND TollgatePriority="P1" AND TollgateFlags="sla_breached"` })) found.push(w.workflowId);
    expect(found).toEqual([`${app.tenant}:incident:${created.id}`]);
  });
  const metadata: { currentDetails: string } = await handle.query('__temporal_workflow_metadata');
  expect(metadata.currentDetails).toMatch(/Resolution: ⚠ breached at \S+, \d+s ago/);

  await eventually(() => {
    expect(received.filter((r) => r.body.incident.id === created.id).map((r) => r.event)).toEqual(['incident.resolution_warning', 'incident.resolution_breach']);
  });
  expect(received.find((r) => r.event === 'incident.resolution_breach')!.body).toMatchObject({ tenant_id: app.tenant, reason: 'resolution_breach', incident: { id: created.id, sla_breached: true } });
});

test('on hold pauses the clock: the breach time moves out by exactly the time paused', async () => {
  const created = await createIncident(app, token, { short_description: 'Batch import stuck', priority: 'P3' });
  await patchIncident(app, token, created.id, { state: 'in_progress' });
  const before = await slaOf(created.id, (i) => i.sla.clock === 'running' && i.state === 'in_progress', 'running clock');
  expect(at(before.sla_breach_at)).toBe(at(created.created_at) + 60 * MINUTE);

  const held = await patchIncident(app, token, created.id, { state: 'on_hold' });
  const paused = await slaOf(created.id, (i) => i.sla.clock === 'paused', 'paused clock');
  expect(paused.sla_breach_at).toBe(before.sla_breach_at);
  // The row answers paused at once; the workflow's own view follows when it has heard of the hold.
  await eventually(async () => {
    const current: { currentDetails: string } = await app.client.workflow.getHandle(`${app.tenant}:incident:${created.id}`).query('__temporal_workflow_metadata');
    expect(current.currentDetails).toContain('clock paused');
  });

  await new Promise((r) => setTimeout(r, 1_500));
  const resumed = await patchIncident(app, token, created.id, { state: 'in_progress' });
  const moved = await slaOf(created.id, (i) => i.sla.clock === 'running' && i.sla_breach_at !== before.sla_breach_at, 'moved breach time');
  const pausedFor = at(resumed.updated_at) - at(held.updated_at);
  expect(pausedFor).toBeGreaterThanOrEqual(1_500);
  expect(at(moved.sla_breach_at)).toBe(at(before.sla_breach_at) + pausedFor);
});

test('a priority change recomputes the target but keeps the time already counted', async () => {
  const created = await createIncident(app, token, { short_description: 'Search results stale', priority: 'P3' });
  await slaOf(created.id, (i) => i.sla_breach_at, 'breach time');
  await patchIncident(app, token, created.id, { state: 'in_progress' });
  await patchIncident(app, token, created.id, { priority: 'P2' });
  // Counting never stopped, so the P2 target is measured from creation, not from the change.
  const recomputed = await slaOf(created.id, (i) => i.priority === 'P2' && i.sla.computed_at >= i.updated_at, 'P2 breach time');
  expect(at(recomputed.sla_breach_at)).toBe(at(created.created_at) + 10 * MINUTE);
  expect(recomputed.sla_breached).toBe(false);

  // Raised to P1 while on hold: the 6 s target applies to what was counted before the pause, and runs out after resuming.
  const held = await patchIncident(app, token, created.id, { state: 'on_hold' });
  await patchIncident(app, token, created.id, { priority: 'P1' });
  const countedBeforeHold = at(held.updated_at) - at(created.created_at);
  await slaOf(created.id, (i) => i.priority === 'P1' && i.sla.clock === 'paused', 'P1 on hold');
  const resumed = await patchIncident(app, token, created.id, { state: 'in_progress' });
  const breached = await slaOf(created.id, (i) => i.sla_breached, 'breach after resuming');
  expect(at(breached.sla_breach_at)).toBe(at(resumed.updated_at) + Math.max(0, 6 * SECOND - countedBeforeHold));
});

test('resolving stops the clock, reopening resumes it, closing ends the workflow', async () => {
  const created = await createIncident(app, token, { short_description: 'Intermittent 502s', priority: 'P3', state: 'in_progress' });
  const running = await slaOf(created.id, (i) => i.sla.clock === 'running', 'running clock');
  const resolved = await patchIncident(app, token, created.id, { state: 'resolved' });
  await slaOf(created.id, (i) => i.sla.clock === 'stopped', 'stopped clock');
  await new Promise((r) => setTimeout(r, 1_000));
  const reopened = await patchIncident(app, token, created.id, { state: 'reopened' });
  const resumed = await slaOf(created.id, (i) => i.sla.clock === 'running' && i.state === 'reopened' && i.sla_breach_at !== running.sla_breach_at, 'resumed clock');
  expect(at(resumed.sla_breach_at)).toBe(at(running.sla_breach_at) + (at(reopened.updated_at) - at(resolved.updated_at)));
  await patchIncident(app, token, created.id, { state: 'in_progress' });
  await patchIncident(app, token, created.id, { state: 'resolved' });
  await patchIncident(app, token, created.id, { state: 'closed' });
  const result = await app.client.workflow.getHandle(`${app.tenant}:incident:${created.id}`).result();
  expect(result).toEqual({ id: created.id, state: 'closed' });
  await eventually(async () => expect((await getIncident(app, token, created.id)).sla).toMatchObject({ clock: 'stopped' }));
});

test('the response target runs while the incident is new, and is met by starting work', async () => {
  const waiting = await createIncident(app, token, { short_description: 'Nobody picked this up', priority: 'P4' });
  const breached = await slaOf(waiting.id, (i) => i.sla.response_breached, 'response breach');
  expect(breached).toMatchObject({ sla_breached: true, sla: { resolution_breached: false } });
  expect(at(breached.sla.response_due_at)).toBe(at(waiting.created_at) + 3 * SECOND);

  const answered = await createIncident(app, token, { short_description: 'Picked up at once', priority: 'P4' });
  await patchIncident(app, token, answered.id, { state: 'in_progress' });
  // Once the clock has seen the start, the response target no longer runs, so no timer is left to breach it.
  const status: any = await until('clock after start', async () => {
    const s: any = await app.client.workflow.getHandle(`${app.tenant}:incident:${answered.id}`).query('getSlaStatus');
    return s.clock?.state === 'in_progress' ? s : undefined;
  });
  expect(status.clock.response).toMatchObject({ running: false, breached_at: null });
  expect(status.recorded).not.toContain('response_breach');
  // The row's sla block is written by the workflow after its state moves: poll it rather than read it once.
  await eventually(async () => expect((await getIncident(app, token, answered.id)).sla).toMatchObject({ response_breached: false }));
});

test('a notification for a group without a webhook is a log line, and the run says so', async () => {
  const created = await createIncident(app, token, { short_description: 'Printer queue jammed', assignment_group: 'Facilities', notify_stakeholders: true });
  const handle = app.client.workflow.getHandle(`${app.tenant}:incident-notify:${created.id}:v1:created`);
  expect(await handle.result()).toEqual({ delivered: 'log' });
  const toPayments = await createIncident(app, token, { short_description: 'Refunds delayed', assignment_group: 'Payments', notify_stakeholders: true });
  expect(await app.client.workflow.getHandle(`${app.tenant}:incident-notify:${toPayments.id}:v1:created`).result()).toEqual({ delivered: 'webhook' });
  await eventually(() => expect(received.filter((r) => r.body.incident.id === toPayments.id).map((r) => r.event)).toEqual(['incident.created']));
  await patchIncident(app, token, toPayments.id, { assigned_to: 'ops@example.com', notify_stakeholders: true });
  await eventually(() => expect(received.filter((r) => r.body.incident.id === toPayments.id).map((r) => r.event)).toEqual(['incident.created', 'incident.updated']));
});
