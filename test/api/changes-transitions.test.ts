import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, iso, HOUR, standardChange, step } from '../support/changes';

/**
 * Every illegal transition is a 409 carrying the current state and the allowed
 * next states; who may decide is enforced (403); work starts only inside the window (422).
 */
let app: TestApp;
let requester: string;
let approver: string;

beforeAll(async () => {
  app = await startTestApp();
  requester = await app.token('alice@example.com', { roles: ['engineer'] });
  approver = await app.token('bob@example.com', { roles: ['cab-member'] });
});
afterAll(() => app.close());

// The spec's machine for a normal change, written out independently of domain/.
const NORMAL_NEXT: Record<string, string[]> = {
  draft: ['submitted', 'cancelled'],
  submitted: ['cab_review'],
  cab_review: ['scheduled', 'rejected'],
  rejected: ['draft'],
  scheduled: ['in_progress'],
  in_progress: ['completed', 'failed'],
  completed: ['closed'],
  failed: ['post_review'],
  post_review: ['closed'],
  closed: [],
  cancelled: [],
};
const ALL_STATES = Object.keys(NORMAL_NEXT);

/** Walks a fresh normal change (one approver needed) to `state` through the API. */
async function changeIn(state: string): Promise<string> {
  const { id } = await createChange(app, requester, auroraChange({ short_description: `Reach ${state}` }));
  const path: Record<string, Array<[string, string, unknown?]>> = {
    draft: [],
    cancelled: [['PATCH', '', { state: 'cancelled' }]],
    submitted: [['POST', '/submit']],
    cab_review: [['POST', '/submit'], ['POST', '/submit-cab', {}]],
    rejected: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['REJECT', '/reject', { reason: 'no' }]],
    scheduled: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['APPROVE', '/approve', {}]],
    in_progress: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['APPROVE', '/approve', {}], ['PATCH', '', { state: 'in_progress' }]],
    completed: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['APPROVE', '/approve', {}], ['PATCH', '', { state: 'in_progress' }], ['PATCH', '', { state: 'completed' }]],
    closed: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['APPROVE', '/approve', {}], ['PATCH', '', { state: 'in_progress' }], ['PATCH', '', { state: 'completed' }], ['PATCH', '', { state: 'closed' }]],
    failed: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['APPROVE', '/approve', {}], ['PATCH', '', { state: 'in_progress' }], ['PATCH', '', { state: 'failed' }]],
    post_review: [['POST', '/submit'], ['POST', '/submit-cab', {}], ['APPROVE', '/approve', {}], ['PATCH', '', { state: 'in_progress' }], ['PATCH', '', { state: 'failed' }], ['PATCH', '', { state: 'post_review' }]],
  };
  for (const [method, suffix, body] of path[state]) {
    const token = method === 'APPROVE' || method === 'REJECT' ? approver : requester;
    const real = method === 'APPROVE' || method === 'REJECT' ? 'POST' : method;
    await step(app, token, real, `${id}${suffix}`, body);
  }
  const current = (await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body;
  expect(current.state).toBe(state);
  return id;
}

describe.each(ALL_STATES)('from %s', (state) => {
  test('every target the machine does not allow is a 409 with current and allowed states', async () => {
    const id = await changeIn(state);
    const illegal = ALL_STATES.filter((to) => to !== state && !NORMAL_NEXT[state].includes(to));
    for (const to of illegal) {
      const res = await app.http('PATCH', `/prod/api/changes/${id}`, { token: requester, body: { state: to } });
      if (res.status !== 409) throw new Error(`${state} → ${to}: expected 409, got ${res.status} ${res.text}`);
      expect(res.body.error.details).toMatchObject({ current_state: state, allowed_next_states: expect.any(Array) });
    }
    // Nothing moved.
    expect((await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body.state).toBe(state);
  });
});

test('edges owned by another command are refused on PATCH: approvals schedule, reject rejects', async () => {
  const id = await changeIn('cab_review');
  for (const to of ['scheduled', 'rejected']) {
    const res = await app.http('PATCH', `/prod/api/changes/${id}`, { token: requester, body: { state: to } });
    expect(res.status).toBe(409);
    expect(res.body.error.details).toMatchObject({ current_state: 'cab_review', requested_state: to });
  }
});

test('commands out of order are 409 too: approve before CAB, submit twice, review before completion', async () => {
  const id = await changeIn('submitted');
  const early = await app.http('POST', `/prod/api/changes/${id}/approve`, { token: approver, body: {} });
  expect(early.status).toBe(409);
  expect(early.body.error).toMatchObject({ code: 'NOT_UNDER_REVIEW', details: { current_state: 'submitted', allowed_next_states: ['cab_review'] } });
  expect((await app.http('POST', `/prod/api/changes/${id}/submit`, { token: requester })).status).toBe(409);
  const manager = await app.token('carol@example.com', { roles: ['change-manager'] });
  expect((await app.http('POST', `/prod/api/changes/${id}/review`, { token: manager, body: { outcome: 'successful', notes: 'n/a' } })).status).toBe(409);
});

describe('who may decide', () => {
  test('the requester cannot approve or reject their own change, even holding the CAB role (403 SOD_VIOLATION)', async () => {
    const selfApprover = await app.token('sam@example.com', { roles: ['release-manager'] });
    const { id } = await createChange(app, selfApprover, auroraChange());
    await step(app, selfApprover, 'POST', `${id}/submit`);
    await step(app, selfApprover, 'POST', `${id}/submit-cab`, {});
    for (const action of ['approve', 'reject']) {
      const res = await app.http('POST', `/api/v1/changes/${id}/${action}`, { token: selfApprover, body: action === 'reject' ? { reason: 'mine' } : {} });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('SOD_VIOLATION');
    }
  });

  test('someone neither listed nor in the CAB role gets 403 NOT_AN_APPROVER; a listed approver without the role may approve', async () => {
    const { id } = await createChange(app, requester, auroraChange({ cab_approvers: ['dana@example.com'] }));
    await step(app, requester, 'POST', `${id}/submit`);
    await step(app, requester, 'POST', `${id}/submit-cab`, {});
    const outsider = await app.token('eve@example.com', { roles: ['developer'] });
    const res = await app.http('POST', `/prod/api/changes/${id}/approve`, { token: outsider, body: {} });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'NOT_AN_APPROVER', details: { cab_approvers: ['dana@example.com'] } });
    const dana = await app.token('dana@example.com', { roles: ['viewer'] });
    expect((await step(app, dana, 'POST', `${id}/approve`, {})).state).toBe('scheduled');
  });

  test('a listed approver matches case-insensitively and decides only once', async () => {
    const { id } = await createChange(app, requester, auroraChange({ cab_approvers: ['Frank@Example.com', 'gina@example.com'] }));
    await step(app, requester, 'POST', `${id}/submit`);
    await step(app, requester, 'POST', `${id}/submit-cab`, {});
    const frank = await app.token('frank@example.com', { roles: ['viewer'] });
    expect((await step(app, frank, 'POST', `${id}/approve`, {})).state).toBe('cab_review');
    const again = await app.http('POST', `/prod/api/changes/${id}/reject`, { token: frank, body: { reason: 'changed my mind' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_DECIDED');
  });
});

describe('maintenance windows', () => {
  test('starting work before the window opens is 422 OUTSIDE_MAINTENANCE_WINDOW; the change stays scheduled', async () => {
    const { id } = await createChange(app, requester, standardChange({ scheduled_start: iso(HOUR), scheduled_end: iso(2 * HOUR) }));
    await step(app, requester, 'POST', `${id}/submit`);
    const res = await app.http('PATCH', `/prod/api/changes/${id}`, { token: requester, body: { state: 'in_progress' } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'OUTSIDE_MAINTENANCE_WINDOW', details: { scheduled_start: expect.any(String), scheduled_end: expect.any(String) } });
    expect((await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body.state).toBe('scheduled');
  });

  test('an emergency change may start with no window at all', async () => {
    const { id } = await createChange(app, requester, { type: 'emergency', short_description: 'Block the abusive IP range' });
    await step(app, requester, 'POST', `${id}/submit`);
    expect((await step(app, requester, 'PATCH', id, { state: 'in_progress' })).state).toBe('in_progress');
  });

  test('submitting a normal change without its plans or window is 422 naming what is missing', async () => {
    const { id } = await createChange(app, requester, { type: 'normal', short_description: 'Half-planned change' });
    const res = await app.http('POST', `/prod/api/changes/${id}/submit`, { token: requester });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'SUBMISSION_INCOMPLETE', details: { missing: ['scheduled_start', 'scheduled_end', 'implementation_plan', 'backout_plan'] } });
  });
});

test('plan edits outside draft are 409 FIELD_NOT_EDITABLE; assignment edits are allowed', async () => {
  const id = await changeIn('scheduled');
  const plan = await app.http('PATCH', `/prod/api/changes/${id}`, { token: requester, body: { implementation_plan: 'different' } });
  expect(plan.status).toBe(409);
  expect(plan.body.error).toMatchObject({ code: 'FIELD_NOT_EDITABLE', details: { current_state: 'scheduled', fields: ['implementation_plan'] } });
  expect((await step(app, requester, 'PATCH', id, { assigned_to: 'oncall@example.com' })).assigned_to).toBe('oncall@example.com');
});

describe('validation messages say what to send', () => {
  test('an unknown field on approve suggests the nearest known one', async () => {
    const id = await changeIn('cab_review');
    const res = await app.http('POST', `/api/v1/changes/${id}/approve`, { token: approver, body: { comments: 'LGTM' } });
    expect(res.status).toBe(400);
    expect(res.body.error.validationErrors).toEqual([{ field: 'comments', code: 'unknown_field', message: '"comments" is not a recognised field; did you mean "comment"?' }]);
  });

  test('a reject without a reason says the reason is required', async () => {
    const id = await changeIn('cab_review');
    const res = await app.http('POST', `/api/v1/changes/${id}/reject`, { token: approver, body: { comment: 'no' } });
    expect(res.status).toBe(400);
    expect(res.body.error.validationErrors).toEqual([{ field: 'reason', code: expect.any(String), message: 'reason is required: say why the change is rejected' }]);
    expect((await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body.state).toBe('cab_review');
  });
});
