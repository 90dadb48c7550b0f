import { planOf, type PlanTargetRow } from '../../domain/rollouts/backends';
import { checkRolloutIntegrations, integrationIdsOf, type IntegrationRef } from '../../domain/rollouts/integrations';
import { createRolloutSchema } from '../../domain/rollouts/requests';
import { trafficStateOf, webhookAnswerSchema, webhookBody } from '../../domain/rollouts/traffic-webhook';
import { DomainError } from '../../domain/errors';

const ids = { env: '00000000-0000-4000-8000-000000000001', stable: '00000000-0000-4000-8000-000000000002', canary: '00000000-0000-4000-8000-000000000003' };
const PROM = '00000000-0000-4000-8000-0000000000a1';
const HOOK = '00000000-0000-4000-8000-0000000000a2';
const NOTIFIER = '00000000-0000-4000-8000-0000000000a3';
const found = new Map<string, IntegrationRef>([
  [PROM, { id: PROM, typeId: 'prometheus', name: 'prom' }],
  [HOOK, { id: HOOK, typeId: 'traffic-webhook', name: 'edge' }],
  [NOTIFIER, { id: NOTIFIER, typeId: 'webhook', name: 'chat' }],
]);
const body = (extra: Record<string, unknown>) => createRolloutSchema.parse({ name: 'r', environmentId: ids.env, stableReleaseId: ids.stable, canaryReleaseId: ids.canary, steps: [{ setWeight: 10 }], ...extra });
const promAnalysis = (integrationId: string) => ({ analysis: { provider: 'prometheus', metric: 'error-rate', max: 0.05, integrationId } });
const refusal = (b: ReturnType<typeof body>) => {
  try {
    checkRolloutIntegrations(b, found);
    return null;
  } catch (err) {
    return err instanceof DomainError ? { kind: err.kind, code: err.code, field: err.details?.field } : err;
  }
};

test('the integrations a body names, once each, from steps, blue-green analyses and the traffic field', () => {
  expect(integrationIdsOf(body({ steps: [promAnalysis(PROM), promAnalysis(PROM)], trafficIntegrationId: HOOK }))).toEqual([PROM, HOOK]);
  expect(integrationIdsOf(body({ strategy: 'blueGreen', steps: undefined, blueGreen: { prePromotionAnalysis: promAnalysis(PROM).analysis } }))).toEqual([PROM]);
  expect(integrationIdsOf(body({}))).toEqual([]);
});

test('integrations that fit pass; missing, wrong-type and agent-bound analyses are refused with the field', () => {
  expect(refusal(body({ steps: [{ setWeight: 10 }, promAnalysis(PROM)], trafficIntegrationId: HOOK }))).toBeNull();
  expect(refusal(body({ steps: [promAnalysis('00000000-0000-4000-8000-0000000000ff')] }))).toEqual({ kind: 'rule', code: 'INTEGRATION_NOT_FOUND', field: 'steps.0.analysis.integrationId' });
  expect(refusal(body({ steps: [promAnalysis(NOTIFIER)] }))).toEqual({ kind: 'rule', code: 'INTEGRATION_WRONG_TYPE', field: 'steps.0.analysis.integrationId' });
  expect(refusal(body({ trafficIntegrationId: PROM }))).toEqual({ kind: 'rule', code: 'INTEGRATION_WRONG_TYPE', field: 'trafficIntegrationId' });
  expect(refusal(body({ trafficIntegrationId: HOOK, steps: [{ analysis: { metric: 'error-rate', max: 0.05 } }] }))).toEqual({ kind: 'rule', code: 'ANALYSIS_NEEDS_ROUTER_AGENT', field: 'steps.0.analysis.provider' });
  expect(refusal(body({ trafficIntegrationId: HOOK, steps: [{ analysis: { provider: 'http', metric: 'error-rate', max: 0.05 } }] }))).toMatchObject({ code: 'ANALYSIS_NEEDS_ROUTER_AGENT' });
  // Without a traffic integration the router analysis is what it always was.
  expect(refusal(body({ steps: [{ analysis: { metric: 'error-rate', max: 0.05 } }] }))).toBeNull();
});

test('the schema refuses integrationId beside address or on a provider other than prometheus', () => {
  const parsed = (analysis: Record<string, unknown>) => createRolloutSchema.safeParse({ name: 'r', environmentId: ids.env, stableReleaseId: ids.stable, canaryReleaseId: ids.canary, steps: [{ analysis }] });
  expect(parsed({ provider: 'prometheus', metric: 'error-rate', max: 1, integrationId: PROM }).success).toBe(true);
  expect(parsed({ provider: 'prometheus', metric: 'error-rate', max: 1, integrationId: PROM, address: 'http://p:9090' }).error?.issues[0].message).toMatch(/exclude each other/);
  expect(parsed({ provider: 'router', metric: 'error-rate', max: 1, integrationId: PROM }).error?.issues[0].message).toMatch(/only for provider prometheus/);
});

test('the webhook body carries both weights and backends; an answer must give weights adding to 100', () => {
  const spec = { routeId: 'env-1', stable: [{ name: 's1', targetId: 't1', host: '10.0.0.1', port: 80 }], canary: [{ name: 'c1', targetId: 't2', host: '10.0.0.2', port: 81 }], canaryWeight: 25, match: null };
  expect(webhookBody('r-1', spec)).toEqual({ routeId: 'env-1', rolloutId: 'r-1', stable: { weight: 75, backends: [{ name: 's1', host: '10.0.0.1', port: 80 }] }, canary: { weight: 25, backends: [{ name: 'c1', host: '10.0.0.2', port: 81 }] }, match: null });
  const answer = webhookAnswerSchema.parse({ stable: { weight: 75, backends: [{ name: 's1' }] }, canary: { weight: 25 }, extra: true });
  expect(trafficStateOf(answer, 'env-1', 'now')).toEqual({ provider: 'webhook', routeId: 'env-1', canaryWeight: 25, stableWeight: 75, match: null, servers: [{ name: 's1', variant: 'stable', weight: 75, state: 'reported' }], readAt: 'now' });
  expect(webhookAnswerSchema.safeParse({ stable: { weight: 70 }, canary: { weight: 25 } }).success).toBe(false);
  expect(webhookAnswerSchema.safeParse({ ok: true }).success).toBe(false);
});

test('a plan with a traffic integration needs no router agent; without either it is NO_ROUTER', () => {
  const targets: PlanTargetRow[] = [
    { id: 't1', name: 's1', labels: {}, properties: { port: '80' }, releaseId: ids.stable },
    { id: 't2', name: 'c1', labels: { track: 'canary' }, properties: { port: '81' }, releaseId: ids.canary },
  ];
  const input = { environmentName: 'prod', agent: undefined, targets, canaryReleaseId: ids.canary, canaryReleaseName: 'c', stableVersion: '1', canaryVersion: '2' };
  expect(planOf({ ...input, trafficIntegration: { id: HOOK, name: 'edge' } })).toMatchObject({ routerAgentId: null, routerProvider: 'traffic-webhook', routerListen: 'edge', trafficIntegration: { id: HOOK, name: 'edge' } });
  expect(() => planOf(input)).toThrow(expect.objectContaining({ code: 'NO_ROUTER' }));
});
