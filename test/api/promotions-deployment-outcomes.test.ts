import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { reaches, request, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * How a promotion ends with its deployment job, over the real API, worker and
 * Temporal: a job whose only failure touched no target (no agent) ends failed
 * and so does the promotion, saying nothing was rolled back; a job an operator
 * cancels ends the promotion cancelled, its stopped task counted as cancelled.
 * No agent process runs: an agent registered and never started never picks
 * its task up, which holds the job still while it is cancelled.
 */
let app: TestApp;
let s: Scene;

beforeAll(async () => {
  app = await startTestApp({ env: { DEPLOY_PICKUP_TIMEOUT: '120s' } });
});
// A tenant per test: each environment is first in its own pipeline.
beforeEach(async () => {
  s = await scene(app);
});
afterAll(() => app?.close());

/** An environment that deploys at once (no approval) and rolls back on a failure, with one target. */
async function environmentWithTarget(target: string) {
  const st = await stage(s, { env: { requiredApprovals: 0, deployment: { failurePolicy: 'rollback' } } });
  await s.expect(201, 'POST', '/targets', s.admin, { name: target, environmentId: st.env.id, labels: { role: 'web' } });
  return st;
}

const jobOf = (promotionId: string) => until(`the job of promotion ${promotionId}`, async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotionId}`))[0]);

test('a job that failed on a target with no agent ends failed, not rolled_back; the promotion ends failed and says why', async () => {
  const st = await environmentWithTarget('web-orphan');
  const promotion = await request(s, s.admin, st);
  const ended = await reaches(s, promotion.id, 'failed');
  expect(ended.statusReason).toBe('web-orphan failed: NO_AGENT: target web-orphan has no agent to run its deployment; no target was changed, so nothing was rolled back');
  const job = await jobOf(promotion.id);
  expect(job).toMatchObject({ status: 'failed', statusReason: ended.statusReason, progress: { total: 1, failed: 1, cancelled: 0 } });
});

test('a cancelled job ends its promotion cancelled, and its stopped task counts as cancelled in the progress', async () => {
  const st = await environmentWithTarget('web-silent');
  await s.expect(201, 'POST', '/agents/register', s.admin, { name: 'never-started', environmentId: st.env.id, targets: ['web-silent'] });
  const promotion = await request(s, s.admin, st);
  await reaches(s, promotion.id, 'deploying');
  const job = await jobOf(promotion.id);
  await until('the task to wait on its agent', async () => (await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks`)).some((t: any) => t.status === 'running'));

  const operator = await s.token('sre@example.com', { roles: ['sre'] });
  await s.expect(200, 'POST', `/deployment-jobs/${job.id}/cancel`, operator, { reason: 'wrong window' });
  const ended = await reaches(s, promotion.id, 'cancelled');
  expect(ended.statusReason).toBe('cancelled by sre@example.com: wrong window');
  const cancelled = await s.expect(200, 'GET', `/deployment-jobs/${job.id}`);
  expect(cancelled).toMatchObject({ status: 'cancelled', progress: { total: 1, succeeded: 0, failed: 0, cancelled: 1, running: 0, pending: 0 } });
  expect((await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks`)).map((t: any) => t.status)).toEqual(['cancelled']);
});
