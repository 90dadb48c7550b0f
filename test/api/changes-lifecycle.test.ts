import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, iso, MIN, standardChange, step } from '../support/changes';
import { eventually, until } from '../support/eventually';
import { timersIn } from '../support/history';

/** The three change types end to end over HTTP, against the real worker, Temporal and Postgres. */
let app: TestApp;
let requester: string;
let arch: string;
let security: string;

beforeAll(async () => {
  // Short deadlines so the timers can be watched firing.
  app = await startTestApp({ env: { CHANGE_REVIEW_DEADLINE: '3s' } });
  // Alice requests her changes and carries them out (change:implement).
  requester = await app.token('alice@example.com', { roles: ['engineer'] });
  arch = await app.token('arch-review@example.com', { roles: ['viewer'] });
  security = await app.token('security@example.com', { roles: ['cab-member'] });
});
afterAll(() => app.close());

const get = async (id: string) => (await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body;
const workflowOf = (id: string) => app.client.workflow.getHandle(`${app.tenant}:change:${id}`);

test('normal change: draft → submitted → cab_review → rejected → draft (revision) → … → scheduled → in_progress → completed → closed', async () => {
  const created = await createChange(app, requester, auroraChange({ cab_approvers: ['arch-review@example.com', 'security@example.com'] }));
  expect(created).toMatchObject({ state: 'draft', type: 'normal', cab_approval_required: true, risk_level: 'medium' });
  expect(created.id).toMatch(/^CHG\d{7}$/);

  expect((await step(app, requester, 'POST', `${created.id}/submit`)).state).toBe('submitted');
  const inCab = await step(app, requester, 'POST', `${created.id}/submit-cab`, { cab_meeting_date: '2026-05-21T14:00:00Z', notes: 'Urgent: addresses P1 incident PRB0000123' });
  expect(inCab).toMatchObject({ state: 'cab_review', cab_meeting_date: '2026-05-21T14:00:00.000Z', cab_notes: 'Urgent: addresses P1 incident PRB0000123', cab_round: 1 });

  const rejected = await step(app, security, 'POST', `${created.id}/reject`, { reason: 'Snapshot restore time not measured' });
  expect(rejected).toMatchObject({ state: 'rejected', rejection_reason: 'Snapshot restore time not measured' });

  // Revision: back to draft and edit the plan in one PATCH.
  const revised = await step(app, requester, 'PATCH', created.id, {
    state: 'draft',
    backout_plan: '1. Restore from pre-upgrade snapshot (measured: 12 minutes)\n2. Repoint the cluster endpoint',
  });
  expect(revised).toMatchObject({ state: 'draft', backout_plan: expect.stringContaining('measured') });

  await step(app, requester, 'POST', `${created.id}/submit`);
  await step(app, requester, 'POST', `${created.id}/submit-cab`, {});
  const oneApproval = await step(app, arch, 'POST', `${created.id}/approve`, { comment: 'LGTM' });
  expect(oneApproval.state).toBe('cab_review');
  const scheduled = await step(app, security, 'POST', `${created.id}/approve`, { comment: 'Security reviewed' });
  expect(scheduled.state).toBe('scheduled');
  expect(scheduled.approvals.filter((a: any) => a.round === 2).map((a: any) => a.approver).sort()).toEqual(['arch-review@example.com', 'security@example.com']);

  const started = await step(app, requester, 'PATCH', created.id, { state: 'in_progress', actual_start: iso(0) });
  expect(started.state).toBe('in_progress');
  const completed = await step(app, requester, 'PATCH', created.id, { state: 'completed' });
  expect(completed).toMatchObject({ state: 'completed', outcome: 'successful' });
  expect(completed.actual_end).toBeTruthy();
  const closed = await step(app, requester, 'PATCH', created.id, { state: 'closed' });
  expect(closed.state).toBe('closed');
  expect(closed.closed_at).toBeTruthy();

  // The read model agrees with the last answer, and the workflow ends (possibly in a later workflow task).
  expect(await get(created.id)).toEqual(closed);
  const described = await eventually(async () => {
    const d = await workflowOf(created.id).describe();
    expect(d.status.name).toBe('COMPLETED');
    return d;
  });
  expect(await described.staticSummary()).toBe('Upgrade Aurora PostgreSQL from 16.1 to 16.4');
  expect(await described.staticDetails()).toBe(`${created.id}: normal change requested by alice@example.com for Platform Engineering`);

  const auditor = await app.token('audrey@example.com', { roles: ['auditor'] });
  const history = (await app.http('GET', `/prod/api/changes/${created.id}/history`, { token: auditor })).body;
  const actions = history.map((e: any) => e.action);
  expect(actions).toEqual(
    expect.arrayContaining(['change.create', 'change.submit', 'change.submit_cab', 'change.reject', 'change.revise', 'change.approve', 'change.schedule', 'change.start', 'change.complete', 'change.close']),
  );
});

test('standard change skips CAB: submit schedules it at once', async () => {
  const created = await createChange(app, requester, standardChange());
  expect(created.cab_approval_required).toBe(false);
  const submitted = await step(app, requester, 'POST', `${created.id}/submit`);
  expect(submitted.state).toBe('scheduled');
  expect(submitted.approvals).toEqual([]);
  const cab = await app.http('POST', `/prod/api/changes/${created.id}/submit-cab`, { token: requester, body: {} });
  expect(cab.status).toBe(422);
  expect(cab.body.error.code).toBe('CAB_NOT_APPLICABLE');
  await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
  await step(app, requester, 'PATCH', created.id, { state: 'completed' });
  expect((await step(app, requester, 'PATCH', created.id, { state: 'closed' })).state).toBe('closed');
});

test('emergency change: starts outside any window, then owes a review that turns overdue and closes it', async () => {
  const created = await createChange(app, requester, {
    type: 'emergency',
    short_description: 'Hotfix the checkout null-pointer in production',
    implementation_plan: 'Deploy build 4812 to all pods',
  });
  expect(created.review_required).toBe(true);
  expect((await step(app, requester, 'POST', `${created.id}/submit`)).state).toBe('scheduled');
  expect((await step(app, requester, 'PATCH', created.id, { state: 'in_progress' })).state).toBe('in_progress');
  const completed = await step(app, requester, 'PATCH', created.id, { state: 'completed' });
  expect(completed.review_due_at).toBeTruthy();
  expect(completed.review_overdue).toBe(false);

  const close = await app.http('PATCH', `/prod/api/changes/${created.id}`, { token: requester, body: { state: 'closed' } });
  expect(close.status).toBe(422);
  expect(close.body.error.code).toBe('REVIEW_REQUIRED');

  const overdue = await until('review_overdue', async () => {
    const c = await get(created.id);
    return c.review_overdue ? c : undefined;
  });
  expect(overdue.state).toBe('completed');
  const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'change.review_overdue'`, [app.tenant, created.id]);
  expect(rows).toHaveLength(1);
  // The row is written by the activity; the search attribute by the workflow task after it.
  await eventually(async () => expect((await workflowOf(created.id).describe()).searchAttributes.TollgateFlags).toEqual(['review_overdue']));

  const manager = await app.token('carol@example.com', { roles: ['change-manager'] });
  const reviewed = await step(app, manager, 'POST', `${created.id}/review`, { outcome: 'successful_with_issues', notes: 'Fix held; add a regression test' });
  expect(reviewed).toMatchObject({ state: 'closed', review_outcome: 'successful_with_issues', reviewed_by: 'carol@example.com', review_overdue: true });
});

test('a review recorded in time clears the emergency deadline', async () => {
  const created = await createChange(app, requester, { type: 'emergency', short_description: 'Restart the stuck queue consumer' });
  await step(app, requester, 'POST', `${created.id}/submit`);
  await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
  await step(app, requester, 'PATCH', created.id, { state: 'completed' });
  const manager = await app.token('carol@example.com', { roles: ['change-manager'] });
  const closed = await step(app, manager, 'PATCH', created.id, { review: { outcome: 'successful', notes: 'Consumer healthy' } });
  expect(closed).toMatchObject({ state: 'closed', review_overdue: false });
});

test('failed implementation goes to post_review and the review closes it', async () => {
  const created = await createChange(app, requester, standardChange({ short_description: 'Resize the CI runner pool' }));
  await step(app, requester, 'POST', `${created.id}/submit`);
  await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
  const failed = await step(app, requester, 'PATCH', created.id, { state: 'failed', actual_end: iso(0) });
  expect(failed).toMatchObject({ state: 'failed', outcome: 'failed' });
  expect((await step(app, requester, 'PATCH', created.id, { state: 'post_review' })).state).toBe('post_review');
  const closeEarly = await app.http('PATCH', `/prod/api/changes/${created.id}`, { token: requester, body: { state: 'closed' } });
  expect(closeEarly.status).toBe(422);
  const manager = await app.token('carol@example.com', { roles: ['change-manager'] });
  const closed = await step(app, manager, 'POST', `${created.id}/review`, { outcome: 'unsuccessful', notes: 'Quota exceeded; request a limit increase first' });
  expect(closed).toMatchObject({ state: 'closed', review_outcome: 'unsuccessful', outcome: 'failed' });
});

test('a change still in progress at scheduled_end is flagged window_overrun (field, audit row, search attribute)', async () => {
  const created = await createChange(app, requester, standardChange({ scheduled_start: iso(-MIN), scheduled_end: iso(5_000), short_description: 'Short window change' }));
  await step(app, requester, 'POST', `${created.id}/submit`);
  const started = await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
  expect(started.window_overrun).toBe(false);
  const overrun = await until('window_overrun', async () => {
    const c = await get(created.id);
    return c.window_overrun ? c : undefined;
  });
  expect(overrun.state).toBe('in_progress');
  const { rows } = await app.pool.query(`SELECT actor FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'change.window_overrun'`, [app.tenant, created.id]);
  expect(rows).toEqual([{ actor: 'tollgate' }]);
  // The row is written by the activity; the search attributes by the workflow task after it.
  await eventually(async () => {
    const { searchAttributes } = await workflowOf(created.id).describe();
    expect(searchAttributes.TollgateFlags).toEqual(['window_overrun']);
    expect(searchAttributes.TollgateState).toEqual(['in_progress']);
  });
});

test('rescheduling moves the window timers: an extended window does not overrun', async () => {
  const originalEnd = Date.now() + 4_000;
  const created = await createChange(app, requester, standardChange({ scheduled_start: iso(-MIN), scheduled_end: new Date(originalEnd).toISOString(), short_description: 'Extended window change' }));
  await step(app, requester, 'POST', `${created.id}/submit`);
  await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
  const extended = await step(app, requester, 'PATCH', created.id, { scheduled_end: iso(HOUR_MS) });
  expect(extended.window_overrun).toBe(false);
  // The timer for the old end (if it was armed yet) is cancelled, and the one pending is for the new end.
  const windowEnds = async () => timersIn(await workflowOf(created.id).fetchHistory()).filter((t) => t.summary === 'window ends');
  const moved = await eventually(async () => {
    const timers = await windowEnds();
    expect(timers.map((t) => t.outcome)).toEqual([...timers.slice(0, -1).map(() => 'cancelled'), 'pending']);
    expect(timers.at(-1)!.durationMs).toBeGreaterThan(HOUR_MS - 5 * MIN);
    return timers;
  });
  // Once the old end has passed, the change still has not overrun.
  await until('the original end of the window to pass', () => Date.now() > originalEnd + 1_000, 10_000);
  expect((await get(created.id)).window_overrun).toBe(false);
  expect(await windowEnds()).toEqual(moved);
  const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action IN ('change.reschedule', 'change.window_overrun')`, [app.tenant, created.id]);
  expect(rows).toEqual([{ action: 'change.reschedule' }]);
});

const HOUR_MS = 3_600_000;
