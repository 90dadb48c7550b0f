import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { CreateChangeInput } from '../../domain/changes/requests';
import type { Change } from '../../domain/changes/model';
import type { Pool } from '../../platform/db';
import type { changeLifecycle } from '../../workflows/changes/change-lifecycle';
import {
  approveChange,
  CHANGE_WORKFLOW_TYPE,
  createChange,
  getChange,
  patchChange,
  submitCab,
  submitChange,
  type ChangeWorkflowInput,
  type CommandMeta,
} from '../../workflows/changes/messages';
import { iso, HOUR, MIN } from '../support/changes';
import { eventually, until } from '../support/eventually';
import { timersIn } from '../support/history';
import { startWorkflowWorker, type WorkflowWorker } from '../support/workflow-worker';

/**
 * changeLifecycle driven directly through Temporal (no API): what an operator
 * sees in the Temporal UI, what history holds, and continue-as-new.
 */
let harness: WorkflowWorker;
let env: WorkflowWorker['env'];
let pool: Pool;
let taskQueue: string;
const tenantId = `wf-${randomUUID().slice(0, 8)}`;
const alice: CommandMeta = { actor: { userId: 'alice', email: 'alice@example.com', permissions: ['change:create', 'change:update'] }, requestId: 'req-1' };
const bob: CommandMeta = { actor: { userId: 'bob', email: 'bob@example.com', permissions: ['change:approve'] } };
const implementer: CommandMeta = { actor: { userId: 'ivan', email: 'ivan@example.com', permissions: ['change:update', 'change:implement'] } };
let counter = 0;

beforeAll(async () => {
  harness = await startWorkflowWorker('wf-test');
  ({ env, pool, taskQueue } = harness);
});

afterAll(() => harness.close());

async function start(body: Partial<CreateChangeInput> = {}, extra: Partial<ChangeWorkflowInput> = {}) {
  counter += 1;
  const number = 9_000_000 + counter;
  const changeId = `CHG${number}`;
  const workflowId = `${tenantId}:change:${changeId}`;
  const input: ChangeWorkflowInput = { tenantId, changeId, number, settings: { reviewDeadlineMs: 60_000, defaultCabQuorum: 1 }, ...extra };
  const change = await env.client.workflow.executeUpdateWithStart(createChange, {
    args: [
      {
        type: 'normal',
        short_description: 'Upgrade Aurora PostgreSQL from 16.1 to 16.4',
        implementation_plan: '1. Snapshot\n2. Upgrade',
        backout_plan: 'Restore from the pre-upgrade snapshot',
        scheduled_start: iso(HOUR),
        scheduled_end: iso(2 * HOUR),
        assignment_group: 'Platform Engineering',
        cab_approvers: ['bob@example.com', 'carol@example.com'],
        ...body,
      },
      alice,
    ],
    updateId: randomUUID(),
    startWorkflowOperation: new WithStartWorkflowOperation<typeof changeLifecycle>(CHANGE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `${changeId}: Upgrade Aurora`,
    }),
  });
  return { change, handle: env.client.workflow.getHandle<typeof changeLifecycle>(workflowId) };
}

test('search attributes, current details and activity summaries tell an operator where the change stands', async () => {
  const { change, handle } = await start();
  await handle.executeUpdate(submitChange, { args: [{}, alice] });
  await handle.executeUpdate(submitCab, { args: [{}, alice] });
  await handle.executeUpdate(approveChange, { args: [{ comment: 'ok' }, bob] });

  const described = await eventually(async () => {
    const d = await handle.describe();
    expect(d.searchAttributes).toMatchObject({
      TollgateTenant: [tenantId],
      TollgateKind: ['change'],
      TollgateResourceId: [change.id],
      TollgateState: ['cab_review'],
      TollgateType: ['normal'],
      TollgateRiskLevel: [change.risk_level],
      TollgateAssignmentGroup: ['Platform Engineering'],
    });
    return d;
  });
  expect(await described.staticSummary()).toBe(`${change.id}: Upgrade Aurora`);

  const metadata: { currentDetails: string } = await handle.query('__temporal_workflow_metadata');
  const [state, missing, deadline] = metadata.currentDetails.split('\n\n');
  expect(state).toContain('**cab_review**');
  expect(missing).toBe('Waiting for: 1 more CAB approval (1/2) from carol@example.com');
  expect(deadline).toMatch(/^Next deadline: window open at \d{4}-/);

  const history = await handle.fetchHistory();
  const summaries = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => Buffer.from(e.userMetadata?.summary?.data ?? new Uint8Array()).toString('utf8'));
  expect(summaries).toEqual(expect.arrayContaining([expect.stringContaining(`Assess risk of ${change.id} v1`), expect.stringContaining(`Persist ${change.id} v1: change.create`)]));
  expect(summaries.some((s) => s.includes('change.approve'))).toBe(true);
});

test('a command the validator refuses never enters history', async () => {
  const { handle } = await start();
  const acceptedBefore = await acceptedUpdates(handle);
  const refused = await handle.executeUpdate(approveChange, { args: [{}, bob], updateId: 'early-approval' }).catch((e) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(refused.cause.type).toBe('NOT_UNDER_REVIEW');
  expect(refused.cause.details[0]).toMatchObject({ kind: 'invalid_state', details: { current_state: 'draft' } });
  expect(await acceptedUpdates(handle)).toEqual(acceptedBefore);
  const state = await handle.query(getChange);
  expect(state?.approvals).toEqual([]);
});

test('the workflow continues as new when history grows, carrying the change intact', async () => {
  const { handle } = await start({}, { maxHistoryEvents: 40 });
  const firstRun = (await handle.describe()).runId;
  let last: Change | undefined;
  for (let i = 0; i < 8; i++) last = await handle.executeUpdate(patchChange, { args: [{ assigned_to: `oncall-${i}@example.com` }, alice] });
  await until('the run to continue as new', async () => (await handle.describe()).runId !== firstRun, 20_000, 200);
  const carried = await handle.query(getChange);
  expect(carried).toEqual(last);
  // The new run keeps working, and its timers and search attributes are in place.
  const submitted = await handle.executeUpdate(submitChange, { args: [{}, alice] });
  expect(submitted).toMatchObject({ state: 'submitted', version: last!.version + 1, assigned_to: 'oncall-7@example.com' });
  await eventually(async () => expect((await handle.describe()).searchAttributes.TollgateState).toEqual(['submitted']));
  const { rows } = await pool.query('SELECT version, state FROM changes WHERE tenant_id = $1 AND id = $2', [tenantId, submitted.id]);
  expect(rows).toEqual([{ version: submitted.version, state: 'submitted' }]);
});

async function acceptedUpdates(handle: { fetchHistory(): Promise<{ events?: Array<{ workflowExecutionUpdateAcceptedEventAttributes?: unknown }> | null }> }) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

test('every durable timer carries a summary the Temporal UI shows (user metadata on TimerStarted)', async () => {
  const timersOf = async (handle: { fetchHistory(): Promise<Parameters<typeof timersIn>[0]> }) => timersIn(await handle.fetchHistory());

  // A normal change waiting for its window; the create grace timer was cancelled by the create itself.
  const normal = await start();
  await normal.handle.executeUpdate(submitChange, { args: [{}, alice] });
  const normalTimers = await eventually(async () => {
    const timers = await timersOf(normal.handle);
    expect(timers).toEqual([
      { summary: 'create grace', durationMs: 5 * MIN, outcome: 'cancelled' },
      { summary: 'window opens', durationMs: expect.any(Number), outcome: 'pending' },
    ]);
    return timers;
  });
  expect(normalTimers[1].durationMs).toBeGreaterThan(HOUR - 5 * MIN);

  // A standard change at work inside its window waits for the window's end.
  const standard = await start({ type: 'standard', scheduled_start: iso(-MIN), scheduled_end: iso(HOUR), cab_approvers: [] });
  await standard.handle.executeUpdate(submitChange, { args: [{}, alice] });
  await standard.handle.executeUpdate(patchChange, { args: [{ state: 'in_progress' }, implementer] });
  await eventually(async () => expect((await timersOf(standard.handle)).filter((t) => t.outcome === 'pending').map((t) => t.summary)).toEqual(['window ends']));

  // A completed emergency change waits for its review deadline.
  const emergency = await start({ type: 'emergency', scheduled_start: null, scheduled_end: null, cab_approvers: [] });
  await emergency.handle.executeUpdate(submitChange, { args: [{}, alice] });
  await emergency.handle.executeUpdate(patchChange, { args: [{ state: 'in_progress' }, implementer] });
  await emergency.handle.executeUpdate(patchChange, { args: [{ state: 'completed' }, implementer] });
  await eventually(async () => {
    const pending = (await timersOf(emergency.handle)).filter((t) => t.outcome === 'pending');
    expect(pending).toEqual([{ summary: 'review deadline', durationMs: expect.any(Number), outcome: 'pending' }]);
    expect(pending[0].durationMs).toBeLessThanOrEqual(60_000);
  });
});
