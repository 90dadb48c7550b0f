import { WorkflowUpdateFailedError } from '@temporalio/client';
import { mapTemporalError } from '../../api/temporal-errors';
import { workflowId } from '../../domain/workflow-ids';
import type { changeLifecycle } from '../../workflows/changes/change-lifecycle';
import { patchChange, type CommandMeta } from '../../workflows/changes/messages';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, HOUR, iso, step, until } from '../support/changes';
import { eventually } from '../support/eventually';

/**
 * Text Postgres cannot store (NUL, half a surrogate pair) and timestamps it
 * cannot hold are refused where they enter, in both dialects, naming the
 * field; and should such a value reach a workflow anyway, the command fails
 * at once with a 4xx and the change stays usable.
 */
let app: TestApp;
let requester: string;

const PREFIXES = ['/api/v1', '/prod/api'] as const;
/** What an attacker sends: the JSON escape, as text, which JSON.parse turns into a lone surrogate. */
const LONE_SURROGATE_JSON = '"bad \\ud800"';
const NUL = 'a\u0000b';
const YEAR_ZERO = '0000-01-01T00:00:00Z';

beforeAll(async () => {
  app = await startTestApp();
  requester = await app.token('alice@example.com', { roles: ['requester'] });
});
afterAll(() => app.close());

type FieldError = { field: string; code: string; message: string };

/** Sends a raw JSON body (so escapes reach the server as written) and expects a 400 naming `field`. */
async function refused(method: string, path: string, rawBody: string | undefined, field: string, token = requester): Promise<FieldError[]> {
  const res = await app.http(method, path, { token, raw: rawBody, headers: rawBody === undefined ? {} : { 'content-type': 'application/json' } });
  if (res.status !== 400) throw new Error(`${method} ${path} ${rawBody ?? ''}: expected 400, got ${res.status}: ${res.text}`);
  const error = res.body.error;
  expect(error.code).toBe('VALIDATION_FAILED');
  const errors: FieldError[] = error.validationErrors ?? error.validation_errors;
  expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  return errors;
}

const json = (value: Record<string, unknown>) => JSON.stringify(value);
/** A body with one field set to the lone-surrogate escape, as raw text. */
const withSurrogate = (value: Record<string, unknown>, field: string) => json({ ...value, [field]: '__X__' }).replace('"__X__"', LONE_SURROGATE_JSON);

async function get(path: string, token = requester) {
  return (await app.http('GET', `/prod/api/changes/${path}`, { token })).body;
}

describe('create', () => {
  test.each(PREFIXES)('%s: a NUL or a lone surrogate in any text field is a 400 naming it, and nothing is created', async (prefix) => {
    const before = (await app.http('GET', '/prod/api/changes', { token: requester })).body.total;
    const base = auroraChange();
    for (const field of ['short_description', 'description', 'implementation_plan', 'backout_plan', 'test_plan', 'assignment_group', 'assigned_to', 'ci_id']) {
      const nul = await refused('POST', `${prefix}/changes`, json({ ...base, [field]: NUL }), field);
      expect(nul).toEqual([{ field, code: 'invalid_format', message: expect.stringContaining('NUL') }]);
      await refused('POST', `${prefix}/changes`, withSurrogate(base, field), field);
    }
    await refused('POST', `${prefix}/changes`, json({ ...base, cab_approvers: ['bob@example.com', `bob${NUL}@example.com`] }), 'cab_approvers.1');
    expect((await app.http('GET', '/prod/api/changes', { token: requester })).body.total).toBe(before);
  });

  test('a key holding a NUL is refused by name too', async () => {
    await refused('POST', '/api/v1/changes', json({ ...auroraChange(), [`x${NUL}`]: 1 }), `x${NUL}`);
  });

  test.each([
    ['year 0000', YEAR_ZERO, '0000-01-01T01:00:00Z'],
    ['year 0001 moved into year 0000 by its offset', '0001-01-01T00:30:00+01:00', '0001-01-01T02:00:00Z'],
    ['year 9999 moved past 9999 by its offset', '9999-12-31T20:00:00Z', '9999-12-31T23:00:00-05:00'],
  ])('a window in %s is a 400 naming the field', async (_name, start, end) => {
    const errors = await refused('POST', '/api/v1/changes', json(auroraChange({ scheduled_start: start, scheduled_end: end })), end.startsWith('9999') ? 'scheduled_end' : 'scheduled_start');
    expect(errors[0].message).toContain('between 0001-01-01');
  });
});

describe('commands on an existing change', () => {
  test('PATCH with a NUL, a lone surrogate or year 0000 is a 400 naming the field; the change then accepts a good PATCH', async () => {
    const change = await createChange(app, requester, auroraChange());
    const path = `/prod/api/changes/${change.id}`;
    await refused('PATCH', path, json({ description: NUL }), 'description');
    await refused('PATCH', path, withSurrogate({}, 'short_description'), 'short_description');
    await refused('PATCH', path, json({ scheduled_start: YEAR_ZERO, scheduled_end: '2026-05-22T01:00:00Z' }), 'scheduled_start');
    await refused('PATCH', path, json({ state: 'in_progress', actual_start: YEAR_ZERO }), 'actual_start');
    await refused('PATCH', path, json({ review: { outcome: 'successful', notes: NUL } }), 'review.notes');

    const started = Date.now();
    const good = await app.http('PATCH', path, { token: requester, body: { description: 'A clean description' } });
    expect(good.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(good.body).toMatchObject({ description: 'A clean description', version: change.version + 1 });
  });

  test('approve comment, reject reason and submit-cab notes: 400 naming the field; the approvers can still decide', async () => {
    const bobToken = await app.token('bob@example.com', { roles: ['cab-member'] });
    const carolToken = await app.token('carol@example.com', { roles: ['cab-member'] });
    const { id } = await createChange(app, requester, auroraChange({ cab_approvers: ['bob@example.com', 'carol@example.com'] }));
    await step(app, requester, 'POST', `${id}/submit`);
    await refused('POST', `/api/v1/changes/${id}/submit-cab`, json({ notes: NUL }), 'notes');
    await refused('POST', `/api/v1/changes/${id}/submit-cab`, json({ cab_meeting_date: YEAR_ZERO }), 'cab_meeting_date');
    await step(app, requester, 'POST', `${id}/submit-cab`, {});

    for (const prefix of PREFIXES) {
      await refused('POST', `${prefix}/changes/${id}/approve`, json({ comment: NUL }), 'comment', bobToken);
      await refused('POST', `${prefix}/changes/${id}/approve`, withSurrogate({}, 'comment'), 'comment', bobToken);
      await refused('POST', `${prefix}/changes/${id}/reject`, withSurrogate({}, 'reason'), 'reason', carolToken);
      await refused('POST', `${prefix}/changes/${id}/reject`, json({ reason: 'no', comment: NUL }), 'comment', carolToken);
    }

    const approved = await app.http('POST', `/prod/api/changes/${id}/approve`, { token: bobToken, body: { comment: 'Looks good' } });
    expect(approved.status).toBe(200);
    expect(approved.body.approvals).toEqual([expect.objectContaining({ approver: 'bob@example.com', comment: 'Looks good' })]);
    const rejected = await app.http('POST', `/prod/api/changes/${id}/reject`, { token: carolToken, body: { reason: 'Not this week' } });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ state: 'rejected', rejection_reason: 'Not this week' });
  });

  test('cancel reason and review notes are guarded the same way', async () => {
    const { id } = await createChange(app, requester, auroraChange());
    await refused('POST', `/prod/api/changes/${id}/cancel`, json({ reason: NUL }), 'reason');
    const reviewer = await app.token('rita@example.com', { roles: ['change-manager'] });
    await refused('POST', `/prod/api/changes/${id}/review`, json({ outcome: 'successful', notes: NUL }), 'notes', reviewer);
    expect((await app.http('POST', `/prod/api/changes/${id}/cancel`, { token: requester, body: { reason: 'Superseded' } })).status).toBe(200);
  });
});

describe('reads', () => {
  /** An id that cannot exist: refused for its characters, or simply not found. */
  const NOT_SERVED = [400, 404];
  const idRoutes = ['', '/history', '/risk', '/risk/history'];

  test.each(PREFIXES)('%s: an id holding a NUL is a 400 or 404 on every {id} route, in the envelope, never a 500', async (prefix) => {
    const auditor = await app.token('audrey@example.com', { roles: ['auditor'] });
    for (const id of ['%00', 'CHG%000000001', 'a%00b', '%ED%A0%80', '%F0%9F%9A%80']) {
      for (const route of idRoutes) {
        const res = await app.http('GET', `${prefix}/changes/${id}${route}`, { token: auditor });
        expect([`${id}${route}`, NOT_SERVED.includes(res.status)]).toEqual([`${id}${route}`, true]);
        expect(res.body.error.code).toEqual(expect.any(String));
      }
    }
  });

  test.each(PREFIXES)('%s: commands on an id holding a NUL are a 400 or 404', async (prefix) => {
    for (const route of ['/submit', '/approve', '/cancel']) {
      const res = await app.http('POST', `${prefix}/changes/%00${route}`, { token: requester, body: {} });
      expect([route, NOT_SERVED.includes(res.status)]).toEqual([route, true]);
    }
    expect(NOT_SERVED).toContain((await app.http('PATCH', `${prefix}/changes/%00`, { token: requester, body: { description: 'x' } })).status);
  });

  test.each(PREFIXES)('%s: list filters holding a NUL or an impossible timestamp are a 400 naming the parameter', async (prefix) => {
    await refused('GET', `${prefix}/changes?q=%00`, undefined, 'q');
    await refused('GET', `${prefix}/changes?q=deploy%00now`, undefined, 'q');
    await refused('GET', `${prefix}/changes?ci_id=a%00b`, undefined, 'ci_id');
    await refused('GET', `${prefix}/changes?assignment_group=%00`, undefined, 'assignment_group');
    await refused('GET', `${prefix}/changes?assigned_to=x%00`, undefined, 'assigned_to');
    await refused('GET', `${prefix}/changes?created_after=0000-01-01T00:00:00Z`, undefined, 'created_after');
    await refused('GET', `${prefix}/changes?created_before=0000-12-31T23:59:59Z`, undefined, 'created_before');
    await refused('GET', `${prefix}/changes?created_after=9999-12-31T23:00:00-05:00`, undefined, 'created_after');
  });

  test('the widest storable bounds still answer 200', async () => {
    const res = await app.http('GET', '/prod/api/changes?created_after=0001-01-01T00:00:00Z&created_before=9999-12-31T23:59:59Z', { token: requester });
    expect(res.status).toBe(200);
  });
});

describe('a value that slips past the API', () => {
  const alice: CommandMeta = { actor: { userId: 'alice@example.com', email: 'alice@example.com', permissions: ['change:read', 'change:create', 'change:update'] } };

  /** Sends a patch straight to the workflow, as another module or an operator could; returns the API's answer and how long it took. */
  async function patchDirectly(id: string, body: Record<string, unknown>) {
    const handle = app.client.workflow.getHandle<typeof changeLifecycle>(workflowId(app.tenant, 'change', id));
    const started = Date.now();
    const err = await handle.executeUpdate(patchChange, { args: [body, alice] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { err, elapsed: Date.now() - started };
  }

  test.each([
    ['a NUL in a text column (22021)', { description: NUL }],
    ['a lone surrogate, which only the json columns refuse (22P02)', { description: JSON.parse(LONE_SURROGATE_JSON) }],
    ['a year-0000 window, refused while assessing risk (22008)', { scheduled_start: '0000-01-01T00:00:00.000Z', scheduled_end: '0000-01-01T01:00:00.000Z' }],
  ])('%s fails that command at once with a 400, and the change stays usable', async (_name, body) => {
    const change = await createChange(app, requester, auroraChange({ ci_id: 'aurora-prod' }));
    const { err, elapsed } = await patchDirectly(change.id, body);

    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    // Well inside the API's 30 s command timeout: one attempt, not a retry loop.
    expect(elapsed).toBeLessThan(10_000);
    const answer = mapTemporalError(err);
    expect(answer).toMatchObject({ status: 400, code: 'UNSTORABLE_VALUE', details: { sqlstate: expect.stringMatching(/^22/) } });

    const after = await get(change.id);
    expect(after).toMatchObject({ version: change.version, description: change.description, scheduled_start: change.scheduled_start });

    const started = Date.now();
    const next = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token: requester, body: { description: 'Fixed' } });
    expect(next.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(next.body).toMatchObject({ description: 'Fixed', version: change.version + 1 });
    expect(await get(change.id)).toMatchObject({ description: 'Fixed', version: change.version + 1 });
    expect((await step(app, requester, 'POST', `${change.id}/submit`)).state).toBe('submitted');
  });
});

describe('a deadline the database refuses for good', () => {
  test('does not end the change: the workflow keeps running, takes commands, and records the deadline once the database accepts it', async () => {
    const change = await createChange(app, requester, auroraChange({ scheduled_start: iso(2_000), scheduled_end: iso(HOUR) }));
    // What a migration adding a rule that existing data breaks looks like to the workflow: 23514 on every write of the opened window.
    const constraint = `hostile_${change.id.toLowerCase()}_${app.tenant.replace(/\W/g, '_')}`;
    await app.pool.query(
      `ALTER TABLE changes ADD CONSTRAINT ${constraint} CHECK (tenant_id <> '${app.tenant}' OR id <> '${change.id}' OR (body->>'window_opened_at') IS NULL)`,
    );
    try {
      // Submitted, the change waits for its window to open (already open by now, or in a moment).
      await step(app, requester, 'POST', `${change.id}/submit`);
      const handle = app.client.workflow.getHandle(workflowId(app.tenant, 'change', change.id));
      await until('the window-open deadline to be refused', async () => {
        const { events } = await handle.fetchHistory();
        return (events ?? []).some((e) => e.activityTaskFailedEventAttributes);
      });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const patched = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token: requester, body: { assigned_to: 'dba@example.com' } });
      expect(patched.status).toBe(200);
      expect(patched.body.window_opened_at).toBeNull();
    } finally {
      await app.pool.query(`ALTER TABLE changes DROP CONSTRAINT ${constraint}`);
    }
    const fixed = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token: requester, body: { assigned_to: 'oncall@example.com' } });
    expect(fixed.status).toBe(200);
    const opened = await eventually(async () => {
      const row = await get(change.id);
      expect(row.window_opened_at).toBe(change.scheduled_start);
      return row;
    });
    expect(opened).toMatchObject({ state: 'submitted', assigned_to: 'oncall@example.com' });
  });
});
