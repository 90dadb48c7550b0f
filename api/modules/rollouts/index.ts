import { judge } from '../../../domain/rollouts/judge';
import { STRATEGIES } from '../../../domain/rollouts/strategies';
import { advanceRollout, pauseRollout, promoteRollout, resumeRollout, retryRollout, rollbackRollout, startRollout } from '../../../workflows/rollouts/messages';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { commandWithPlan, createRolloutWorkflow, existing, readTraffic, updateRolloutWorkflow } from './rollouts.dispatch';
import { reconcileRollout } from './rollouts.ended';
import { listRollouts, measurementsOf, ROLLOUT_SORT_COLUMNS } from './rollouts.queries';
import * as routes from './rollouts.routes';

/** Rollouts (PROGDL /ab-releases): workflow-owned, commands go to the workflow, reads come from Postgres and the router. */
export function rolloutsRouter() {
  const router = createRouter();

  router.openapi(routes.strategiesRoute, async (c) => {
    requirePermission(c, 'rollout:read');
    return ok(c, STRATEGIES);
  });

  router.openapi(routes.listRolloutsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'rollout:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, Object.keys(ROLLOUT_SORT_COLUMNS), { field: 'created_at', direction: 'desc' });
    return okList(c, await listRollouts(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:create');
    const created = await createRolloutWorkflow(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${created.id}`);
    return ok(c, created, 201);
  });

  router.openapi(routes.getRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:read');
    return ok(c, await existing(c, c.req.valid('param').id));
  });

  router.openapi(routes.startRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await commandWithPlan(c, c.req.valid('param').id, startRollout, { input: c.req.valid('json') ?? {} }));
  });
  router.openapi(routes.retryRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await commandWithPlan(c, c.req.valid('param').id, retryRollout, { input: c.req.valid('json') ?? {} }));
  });
  router.openapi(routes.advanceRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await updateRolloutWorkflow(c, c.req.valid('param').id, advanceRollout, c.req.valid('json') ?? {}));
  });
  router.openapi(routes.promoteRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await updateRolloutWorkflow(c, c.req.valid('param').id, promoteRollout, c.req.valid('json') ?? { full: false }));
  });
  router.openapi(routes.rollbackRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await updateRolloutWorkflow(c, c.req.valid('param').id, rollbackRollout, c.req.valid('json')));
  });
  router.openapi(routes.pauseRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await updateRolloutWorkflow(c, c.req.valid('param').id, pauseRollout, c.req.valid('json') ?? {}));
  });
  router.openapi(routes.resumeRolloutRoute, async (c) => {
    requirePermission(c, 'rollout:operate');
    return ok(c, await updateRolloutWorkflow(c, c.req.valid('param').id, resumeRollout, c.req.valid('json') ?? {}));
  });

  router.openapi(routes.reconcileRolloutRoute, async (c) => ok(c, await reconcileRollout(c, c.req.valid('param').id)));

  router.openapi(routes.trafficRoute, async (c) => {
    requirePermission(c, 'rollout:read');
    const r = await existing(c, c.req.valid('param').id);
    const reading = await readTraffic(c, r);
    return ok(c, { rolloutId: r.id, state: r.state, ...reading, requested: { canaryWeight: r.canaryWeight, match: r.activeMatch } });
  });

  router.openapi(routes.healthRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'rollout:read');
    const r = await existing(c, c.req.valid('param').id);
    const query = c.req.valid('query');
    const override = query.max !== undefined || query.min !== undefined || query.minScore !== undefined || query.minRequests !== undefined;
    const measurements = (await measurementsOf(c.get('deps').pool, tenantId, r.id)).map((m) => ({
      id: m.id,
      stepIndex: m.stepIndex,
      at: m.at,
      metric: m.metric,
      provider: m.provider,
      sample: m.sample,
      thresholds: m.thresholds,
      judgement: m.judgement,
      integration: m.integration,
      rejudged: override
        ? judge(m.sample, {
            metric: m.metric,
            max: query.max ?? (query.min !== undefined ? null : m.thresholds.max),
            min: query.min ?? (query.max !== undefined ? null : m.thresholds.min),
            minScore: query.minScore ?? m.thresholds.minScore,
            minRequests: query.minRequests ?? m.thresholds.minRequests,
          })
        : null,
    }));
    const step = r.steps[r.stepIndex];
    return ok(c, {
      rolloutId: r.id,
      state: r.state,
      stepIndex: r.stepIndex,
      currentAnalysis: step && 'analysis' in step ? step.analysis : null,
      analysis: r.analysis,
      lastVerdict: r.lastVerdict,
      measurements,
    });
  });

  return router;
}
