import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { prepareDeployStep } from '../../activities/template-runs/steps/deploy';
import { gateStep } from '../../activities/template-runs/steps/gate';
import { promoteStep } from '../../activities/template-runs/steps/promote';
import { lazyStepClient, type StepTask } from '../../activities/template-runs/steps/step-client';
import type { StepRequest } from '../../domain/templates/model';
import { STEP_TYPE_DEFINITIONS } from '../../domain/templates/step-types';
import { createLogger } from '../../platform/logger';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { buildPipeline, deployToStaging, expectStatus, type Pipeline } from '../support/promotions';

/**
 * The template steps that reach the promotions module, each on its own against
 * the real stack: the step code runs here as its activity would (real Postgres,
 * real promotion workflows on the app's worker), with a real cancellation signal.
 */
let app: TestApp;
let p: Pipeline;
let deps: Parameters<typeof promoteStep>[0];

beforeAll(async () => {
  app = await startTestApp();
  p = await buildPipeline(app);
  deps = { pool: app.pool, config: app.config, log: createLogger('steps-test', 'silent'), client: lazyStepClient(app.config) };
});
afterAll(async () => {
  await (await deps?.client())?.connection.close();
  await app?.close();
});

const stepOf = (type: StepRequest['type'], inputs: Record<string, unknown>, more: Partial<StepRequest> = {}): StepRequest => ({
  tenantId: app.tenant,
  runId: randomUUID(),
  nodeId: `${type.replace('-', '_')}_node`,
  type,
  inputs,
  attempt: 1,
  requestedBy: { userId: 'dev@example.com', email: 'dev@example.com' },
  ...more,
});

function task(): StepTask & { controller: AbortController; beats: unknown[] } {
  const controller = new AbortController();
  const beats: unknown[] = [];
  return { controller, beats, signal: controller.signal, heartbeat: (d) => beats.push(d) };
}

/** The gate executor as the step dispatcher calls it: inputs parsed with the type's schema first. */
const runGate = (inputs: Record<string, unknown>) => {
  const request = stepOf('gate', inputs);
  return gateStep(STEP_TYPE_DEFINITIONS.gate.input.parse(inputs) as never, { deps, request, signal: new AbortController().signal, log: async () => undefined });
};

async function failureOf(work: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await work;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the step to fail');
}

const promotionsOf = async (envId: string) =>
  (await app.pool.query('SELECT id, status FROM promotions WHERE tenant_id = $1 AND release_id = $2 AND target_environment_id = $3 ORDER BY requested_at', [app.tenant, p.release.id, envId])).rows;

describe('the gate step', () => {
  it('answers what POST /promotions/preview-gates answers, and fails the node when a gate blocks', async () => {
    const preview = await expectStatus<any>(app.http('POST', '/api/v1/promotions/preview-gates', { token: p.admin, body: { releaseId: p.release.id, targetEnvironmentId: p.production.id } }), 200);
    const blocked = await failureOf(runGate({ releaseId: p.release.id, environmentId: p.production.id }));
    expect(blocked.type).toBe('GATE_BLOCKED');
    expect(blocked.nonRetryable).toBe(true);
    expect(blocked.message).toContain('promotion-order-gate: myapp-v2.3.1 is not deployed to Staging');
    const quiet = await runGate({ releaseId: p.release.id, environmentId: p.production.id, failOnBlocked: false });
    expect(quiet.passed).toBe(false);
    // Same gates, same messages: one evaluator (the dev requester and the admin differ only in the SoD gate's wording, not here).
    expect((quiet.gates as any[]).map((g) => [g.gateName, g.passed, g.blocking])).toEqual(preview.data.gates.map((g: any) => [g.gateName, g.passed, g.blocking]));
    const staging = await runGate({ releaseId: p.release.id, environmentId: p.staging.id });
    expect(staging.passed).toBe(true);
  });

  it('fails with the loader’s 404 code for an environment that does not exist', async () => {
    expect((await failureOf(runGate({ releaseId: p.release.id, environmentId: randomUUID() }))).type).toBe('ENVIRONMENT_NOT_FOUND');
  });
});

describe('the promote step', () => {
  it('requests the promotion, waits until it is deployed, and a retried step reaches the same promotion', async () => {
    const request = stepOf('promote', { releaseId: p.release.id, environmentId: p.staging.id, reason: 'pipeline: staging' });
    const result = await promoteStep(deps)(request, task());
    expect(result.outputs).toMatchObject({ status: 'deployed', promotionId: expect.any(String), deploymentJobId: expect.any(String) });
    const again = await promoteStep(deps)({ ...request, attempt: 2 }, task());
    expect(again.outputs).toEqual(result.outputs);
    expect(await promotionsOf(p.staging.id)).toEqual([{ id: result.outputs.promotionId, status: 'deployed' }]);
    const shown = await expectStatus<any>(app.http('GET', `/api/v1/promotions/${result.outputs.promotionId}`, { token: p.admin }), 200);
    expect(shown.data).toMatchObject({ requestedBy: 'dev@example.com', reason: 'pipeline: staging', targetEnvironmentName: 'Staging' });
  });

  it('fails with the promotion’s outcome when an approver rejects it', async () => {
    const request = stepOf('promote', { releaseId: p.release.id, environmentId: p.production.id });
    const t = task();
    const running = failureOf(promoteStep(deps)(request, t));
    const id = await until('the production promotion to await approval', async () => (await promotionsOf(p.production.id)).find((r) => r.status === 'awaiting_approval')?.id);
    const approver = await app.token('sre1@example.com', { roles: ['release-manager'] });
    await expectStatus(app.http('POST', `/api/v1/promotions/${id}/reject`, { token: approver, body: { reason: 'not this week' } }), 200);
    const failure = await running;
    expect(failure.type).toBe('PROMOTION_REJECTED');
    expect(failure.message).toContain(`Promotion ${id} of myapp-v2.3.1 to Production ended rejected`);
    expect(t.beats.length).toBeGreaterThan(0);
  });

  it('is refused by the same in-flight lock as POST /promotions, and cancelling the step cancels its promotion', async () => {
    const t = task();
    const running = promoteStep(deps)(stepOf('promote', { releaseId: p.release.id, environmentId: p.production.id }), t).catch((err) => err);
    const id = await until('the production promotion to await approval', async () => (await promotionsOf(p.production.id)).find((r) => r.status === 'awaiting_approval')?.id);
    const second = await failureOf(promoteStep(deps)(stepOf('promote', { releaseId: p.release.id, environmentId: p.production.id }), task()));
    expect([second.type, second.message]).toEqual(['PROMOTION_IN_FLIGHT', `Promotion ${id} of this release to this environment is still awaiting_approval; cancel it or wait for it to end`]);
    const api = await app.http('POST', '/api/v1/promotions', { token: p.admin, body: { releaseId: p.release.id, targetEnvironmentId: p.production.id, reason: 'again' } });
    expect([api.status, api.body.error.code, api.body.error.message]).toEqual([409, 'PROMOTION_IN_FLIGHT', second.message]);

    t.controller.abort(new Error('run cancelled'));
    expect((await running).name).toBe('CancelledFailure');
    const cancelled = await expectStatus<any>(app.http('GET', `/api/v1/promotions/${id}`, { token: p.admin }), 200);
    expect(cancelled.data).toMatchObject({ status: 'cancelled', statusReason: 'the template run that requested it was cancelled' });
  });
});

describe('the deploy step’s clearance', () => {
  it('refuses a promotion never approved for its environment, with the reason', async () => {
    const rejected = (await promotionsOf(p.production.id)).find((r) => r.status === 'rejected')!;
    const failure = await failureOf(prepareDeployStep(deps)(stepOf('deploy', { promotionId: rejected.id })));
    expect([failure.type, failure.message]).toEqual(['PROMOTION_NOT_APPROVED', `Promotion ${rejected.id} (myapp-v2.3.1 → Production) is rejected: it was never approved for Production, so it cannot be deployed`]);
    expect((await failureOf(prepareDeployStep(deps)(stepOf('deploy', { promotionId: randomUUID() })))).type).toBe('PROMOTION_NOT_FOUND');
  });

  it('clears a deployed promotion and plans a job of its own per try, tied to the promotion', async () => {
    const deployed = (await promotionsOf(p.staging.id))[0];
    const request = stepOf('deploy', { promotionId: deployed.id });
    const plan = await prepareDeployStep(deps)(request);
    expect(plan).toMatchObject({ environmentName: 'Staging', releaseName: 'myapp-v2.3.1', job: { kind: 'promotion', promotionId: deployed.id, environmentId: p.staging.id, releaseId: p.release.id } });
    expect((await prepareDeployStep(deps)(request)).job.jobId).toBe(plan.job.jobId);
    expect((await prepareDeployStep(deps)({ ...request, attempt: 2 })).job.jobId).not.toBe(plan.job.jobId);
  });

  it('refuses while a freeze of the environment is active, as every deploying path does', async () => {
    const deployed = (await promotionsOf(p.staging.id))[0];
    const now = Date.now();
    await expectStatus(
      app.http('POST', `/api/v1/environments/${p.staging.id}/freeze-windows`, {
        token: p.admin,
        body: { name: 'holiday', start: new Date(now - 60_000).toISOString(), end: new Date(now + 3_600_000).toISOString(), reason: 'holiday' },
      }),
      201,
    );
    const failure = await failureOf(prepareDeployStep(deps)(stepOf('deploy', { promotionId: deployed.id })));
    expect(failure.type).toBe('FREEZE_ACTIVE');
    expect(failure.message).toContain('a freeze of Staging is active until');
  });
});
