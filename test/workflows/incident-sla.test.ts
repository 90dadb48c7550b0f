import { randomUUID } from 'node:crypto';
import type { IncidentState, Priority } from '../../domain/incidents/model';
import type { SlaEvent } from '../../domain/incidents/sla';
import { DEFAULT_SLA_POLICY, type SlaPolicy } from '../../domain/incidents/sla-policy';
import type { Pool } from '../../platform/db';
import type { incidentSla } from '../../workflows/incidents/incident-sla';
import { getSlaStatus, incidentChanged, SLA_WORKFLOW_TYPE, type IncidentSlaInput } from '../../workflows/incidents/messages';
import { eventually } from '../support/eventually';
import { startWorkflowWorker, type WorkflowWorker } from '../support/workflow-worker';

/**
 * incidentSla driven directly through Temporal (no API): signals in any
 * order, timers an operator can read, and continue-as-new carrying the
 * timeline and the facts already recorded.
 */
let harness: WorkflowWorker;
let env: WorkflowWorker['env'];
let pool: Pool;
let taskQueue: string;
const tenantId = `wf-${randomUUID().slice(0, 8)}`;
let counter = 0;

const policy: SlaPolicy = { ...DEFAULT_SLA_POLICY, resolution_ms: { ...DEFAULT_SLA_POLICY.resolution_ms, P1: 2_000 } };

beforeAll(async () => {
  harness = await startWorkflowWorker('wf-sla');
  ({ env, pool, taskQueue } = harness);
});

afterAll(() => harness.close());

function events(start: number, ...steps: Array<[number, IncidentState, Priority]>): SlaEvent[] {
  return steps.map(([ms, state, priority], i) => ({ version: i + 1, state, priority, at: new Date(start + ms).toISOString() }));
}

async function startClock(first: SlaEvent[], extra: Partial<IncidentSlaInput> = {}, clockPolicy: SlaPolicy = policy) {
  counter += 1;
  const incidentId = `INC${9_100_000 + counter}`;
  const workflowId = `${tenantId}:incident:${incidentId}`;
  await env.client.workflow.signalWithStart(SLA_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [{ tenantId, incidentId, ...extra }],
    signal: incidentChanged,
    signalArgs: [{ events: first, policy: clockPolicy, shortDescription: `Clock ${counter}` }],
    staticSummary: `Clock ${counter}`,
  });
  return { incidentId, handle: env.client.workflow.getHandle<typeof incidentSla>(workflowId) };
}

const summaries = async (handle: { fetchHistory(): Promise<{ events?: any[] | null }> }, kind: 'timerStartedEventAttributes' | 'activityTaskScheduledEventAttributes') =>
  ((await handle.fetchHistory()).events ?? []).filter((e) => e[kind]).map((e) => JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? '""').toString('utf8')) as string);

test('signals merge by version whatever their order; the clock follows the newest state', async () => {
  const t0 = Date.now();
  const all = events(t0, [0, 'new', 'P3'], [100, 'in_progress', 'P3'], [200, 'on_hold', 'P3']);
  const { handle } = await startClock([all[2]]);
  await handle.signal(incidentChanged, { events: [all[0], all[1]], policy, shortDescription: 'Clock' });
  await eventually(async () => {
    const status = await handle.query(getSlaStatus);
    expect(status.clock).toMatchObject({ state: 'on_hold', clock: 'paused', resolution: { elapsed_ms: 200, running: false } });
  });
});

test('timers and activities carry summaries; a breach is recorded once, with its audit row', async () => {
  const t0 = Date.now();
  // A target long enough that the clock sets its warning and breach timers before either is due, however loaded the
  // machine (with 2 s the first recomputation could come after the warning time, and find only facts to record).
  const roomy: SlaPolicy = { ...policy, resolution_ms: { ...policy.resolution_ms, P1: 8_000 } };
  const { incidentId, handle } = await startClock(events(t0, [0, 'in_progress', 'P1']), {}, roomy);
  await eventually(async () => expect((await handle.query(getSlaStatus)).recorded).toEqual(['resolution_warning', 'resolution_breach']), { timeoutMs: 30_000 });
  expect(await summaries(handle, 'timerStartedEventAttributes')).toEqual(expect.arrayContaining(['resolution SLA warning', 'resolution SLA breach']));
  expect(await summaries(handle, 'activityTaskScheduledEventAttributes')).toEqual(
    expect.arrayContaining([`Record ${incidentId} SLA: running clock`, `Record ${incidentId} SLA: resolution_breach`, `Notify resolution breach of ${incidentId}`]),
  );
  const { rows } = await pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [tenantId, incidentId]);
  expect(rows.map((r) => r.action)).toEqual(['incident.sla_warning', 'incident.sla_breach']);
  const described = await handle.describe();
  expect(await described.staticSummary()).toBe(`Clock ${counter}`);
});

test('the workflow continues as new when history grows, carrying the timeline and what it recorded', async () => {
  const t0 = Date.now();
  const first = events(t0, [0, 'in_progress', 'P1']);
  const { incidentId, handle } = await startClock(first, { maxHistoryEvents: 40 });
  const firstRun = (await handle.describe()).runId;
  await eventually(async () => expect((await handle.query(getSlaStatus)).recorded).toContain('resolution_breach'), { timeoutMs: 20_000 });
  // Hold and resume, again and again, until history asks for a new run.
  let version = 1;
  for (let i = 0; i < 12; i++) {
    version += 1;
    const state: IncidentState = i % 2 ? 'in_progress' : 'on_hold';
    await handle.signal(incidentChanged, { events: [{ version, state, priority: 'P1', at: new Date().toISOString() }], policy, shortDescription: 'Clock' });
  }
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(firstRun));
  await eventually(async () => {
    const status = await handle.query(getSlaStatus);
    expect(status.recorded).toEqual(['resolution_warning', 'resolution_breach']);
    expect(status.clock?.state).toBe('in_progress');
  });
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.sla_breach'`, [tenantId, incidentId]);
  expect(rows[0].n).toBe(1);
});

test('closing ends the clock; so does deleting', async () => {
  const t0 = Date.now();
  const closed = await startClock(events(t0, [0, 'in_progress', 'P3'], [1, 'resolved', 'P3'], [2, 'closed', 'P3']));
  expect(await closed.handle.result()).toEqual({ id: closed.incidentId, state: 'closed' });
  const deleted = await startClock(events(t0, [0, 'new', 'P3']));
  await deleted.handle.signal(incidentChanged, { events: [], policy, shortDescription: 'x', deleted: true });
  expect(await deleted.handle.result()).toEqual({ id: deleted.incidentId, state: 'deleted' });
});
