import { startTestApp, type TestApp } from '../support/app';
import { awaiting, reaches, request, scene, stage } from '../support/promotion-scene';

/**
 * One open promotion per release and environment: a second request while the
 * first is still open is 409 PROMOTION_IN_FLIGHT naming the first, also when
 * both arrive at once; once the first has ended, the release can be promoted again.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const POLICY = { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true };

test('a second promotion of the same release to the same environment is 409 while the first waits, and allowed once it ended', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: POLICY });
  const dev = await s.token('dev@example.com', { roles: ['developer'] });
  const first = await awaiting(s, dev, st);

  const error = await s.refuse(409, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'again' });
  expect(error).toMatchObject({ code: 'PROMOTION_IN_FLIGHT', details: { promotionId: first.id, status: 'awaiting_approval' } });
  expect(error.message).toContain(first.id);

  await s.expect(200, 'POST', `/promotions/${first.id}/cancel`, dev, {});
  await reaches(s, first.id, 'cancelled');
  const again = await request(s, dev, st);
  expect(again.id).not.toBe(first.id);
});

test('two concurrent requests: exactly one 201, the other 409 naming it', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: POLICY });
  const dev = await s.token('dev@example.com', { roles: ['developer'] });
  const body = { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it' };
  const results = await Promise.all([0, 1, 2, 3].map(() => s.call('POST', '/promotions', dev, body)));
  const created = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status === 409);
  expect(created).toHaveLength(1);
  expect(refused).toHaveLength(3);
  for (const r of refused) expect(r.body.error).toMatchObject({ code: 'PROMOTION_IN_FLIGHT', details: { promotionId: created[0].body.data.id } });
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM promotions WHERE tenant_id = $1 AND release_id = $2', [s.tenant, st.release.id]);
  expect(rows[0].n).toBe(1);
});

test('a keyed retry of the same create answers with its promotion, not 409', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: POLICY });
  const dev = await s.token('dev@example.com', { roles: ['developer'] });
  const body = { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it' };
  const headers = { 'Idempotency-Key': `k-${st.release.id}` };
  const first = await s.call('POST', '/promotions', dev, body, headers);
  expect(first.status).toBe(201);
  const retry = await s.call('POST', '/promotions', dev, body, headers);
  expect(retry.status).toBe(201);
  expect(retry.body.data.id).toBe(first.body.data.id);
});

test('the create route declares the 409', async () => {
  const res = await app.http('GET', '/api/v1/openapi.json');
  const doc = res.body;
  const responses = doc.paths['/api/v1/promotions']?.post?.responses ?? doc.paths['/promotions']?.post?.responses;
  expect(responses['409']).toBeDefined();
  expect(JSON.stringify(responses['409'])).toContain('PROMOTION_IN_FLIGHT');
});
