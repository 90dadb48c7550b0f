import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, step } from '../support/changes';

/**
 * The change resource says whose decision it waits on (`awaiting`): under CAB
 * review its named approvers who have not decided this round, empty otherwise.
 * Every answer carrying the change agrees (commands, GET, lists, both
 * dialects), and the OpenAPI documents declare the field.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

test('awaiting names the CAB approvers still to decide, in every answer, and empties when the review ends', async () => {
  const requester = await app.token('alice@example.com', { roles: ['engineer'] });
  const carol = await app.token('carol@example.com', { roles: ['viewer'] });
  const dan = await app.token('Dan@Example.com', { roles: ['viewer'] });
  const created = await createChange(app, requester, auroraChange({ cab_approvers: ['carol@example.com', 'dan@example.com'] }));
  expect(created.awaiting).toEqual([]);
  expect((await step(app, requester, 'POST', `${created.id}/submit`)).awaiting).toEqual([]);

  const inReview = await step(app, requester, 'POST', `${created.id}/submit-cab`, {});
  expect(inReview).toMatchObject({ state: 'cab_review', awaiting: ['carol@example.com', 'dan@example.com'] });
  const afterCarol = await step(app, carol, 'POST', `${created.id}/approve`, { comment: 'fine by me' });
  expect(afterCarol).toMatchObject({ state: 'cab_review', awaiting: ['dan@example.com'] });

  // A read agrees with the command's answer: GET in both dialects, and the lists.
  const read = await app.http('GET', `/prod/api/changes/${created.id}`, { token: requester });
  expect(read.body).toEqual(afterCarol);
  const stella = await app.http('GET', `/api/v1/changes/${created.id}`, { token: requester });
  expect(stella.body.data.awaiting).toEqual(['dan@example.com']);
  const listed = await app.http('GET', '/prod/api/changes?state=cab_review', { token: requester });
  expect(listed.body.data.find((c: { id: string }) => c.id === created.id).awaiting).toEqual(['dan@example.com']);
  // The inbox's summary names the same people.
  const inbox = await app.http('GET', '/api/v1/my/pending-approvals?kind=change', { token: dan });
  expect(inbox.body.data.map((i: any) => [i.id, i.awaiting.approvers])).toEqual([[created.id, ['dan@example.com']]]);

  // Dan (whose token spells his email in capitals) decides: the change is scheduled and waits on nobody.
  const scheduled = await step(app, dan, 'POST', `${created.id}/approve`, {});
  expect(scheduled).toMatchObject({ state: 'scheduled', awaiting: [] });
  expect((await app.http('GET', `/prod/api/changes/${created.id}`, { token: requester })).body.awaiting).toEqual([]);
});

test('a rejection ends the review: awaiting is empty; a change naming no approvers lists nobody', async () => {
  const requester = await app.token('alice@example.com', { roles: ['engineer'] });
  const carol = await app.token('carol@example.com', { roles: ['viewer'] });
  const named = await createChange(app, requester, auroraChange({ cab_approvers: ['carol@example.com', 'dan@example.com'] }));
  await step(app, requester, 'POST', `${named.id}/submit`);
  await step(app, requester, 'POST', `${named.id}/submit-cab`, {});
  const rejected = await step(app, carol, 'POST', `${named.id}/reject`, { reason: 'no rollback rehearsal' });
  expect(rejected).toMatchObject({ state: 'rejected', awaiting: [] });

  const open = await createChange(app, requester, auroraChange({ short_description: 'Rotate the TLS certificates' }));
  await step(app, requester, 'POST', `${open.id}/submit`);
  expect(await step(app, requester, 'POST', `${open.id}/submit-cab`, {})).toMatchObject({ state: 'cab_review', awaiting: [] });
});

test('the OpenAPI documents of both dialects declare awaiting on the change', async () => {
  for (const url of ['/api/v1/openapi.json', '/prod/api/openapi.json']) {
    const doc = (await app.http('GET', url)).body;
    const change = doc.components.schemas.Change;
    expect(change.required).toContain('awaiting');
    expect(change.properties.awaiting).toMatchObject({ type: 'array', items: { type: 'string' }, description: expect.stringContaining('cab_approvers') });
  }
});

test('a row written before the change carried awaiting is served with it, by the same rule', async () => {
  const requester = await app.token('alice@example.com', { roles: ['engineer'] });
  const created = await createChange(app, requester, auroraChange({ short_description: 'An old row', cab_approvers: ['carol@example.com'] }));
  await step(app, requester, 'POST', `${created.id}/submit`);
  await step(app, requester, 'POST', `${created.id}/submit-cab`, {});
  // As an earlier version of the persistence activity wrote it: the record without awaiting.
  await app.pool.query("UPDATE changes SET body = (body::jsonb - 'awaiting')::json WHERE tenant_id = $1 AND id = $2", [app.tenant, created.id]);
  const listed = await app.http('GET', '/prod/api/changes?state=cab_review', { token: requester });
  expect(listed.body.data.find((c: { id: string }) => c.id === created.id).awaiting).toEqual(['carol@example.com']);
  expect((await app.http('GET', `/prod/api/changes/${created.id}`, { token: requester })).body.awaiting).toEqual(['carol@example.com']);
});
