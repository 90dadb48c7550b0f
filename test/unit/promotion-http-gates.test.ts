import { clearDeployment } from '../../domain/promotions/clearance';
import { decide } from '../../domain/promotions/commands';
import { blockers, evaluateGates } from '../../domain/promotions/gates';
import type { HttpGate, HttpGateCheck } from '../../domain/promotions/gates-http';
import type { GateInputs } from '../../domain/promotions/model';
import { approvalPolicySchema } from '../../domain/promotions/requests';
import { DomainError } from '../../domain/errors';
import { thrown } from '../support/thrown';
import { gateInputs } from './promotion-fixtures';

const NOW = '2026-11-23T10:00:00.000Z';
const requester = { userId: 'alice', email: 'alice@example.com' };
const FREEZE: HttpGate = { name: 'change-freeze', integrationId: 'int-1', message: 'wait for the freeze service to say OK', blocking: true };
const SLO: HttpGate = { name: 'slo-budget', integrationId: 'int-2', message: null, blocking: false };

const ok = (gate: HttpGate): HttpGateCheck => ({ name: gate.name, integrationId: gate.integrationId, integrationName: `${gate.name}-svc`, passed: true, status: 200, reason: null, checkedAt: NOW });
const refused = (gate: HttpGate, status = 503): HttpGateCheck => ({ ...ok(gate), passed: false, status, reason: `GET https://svc/ answered ${status} (expected 200)` });

function withHttpGates(gates: HttpGate[], checks?: HttpGateCheck[]): GateInputs {
  const base = gateInputs();
  return { ...base, policy: { ...base.policy, httpGates: gates }, ...(checks ? { httpGateChecks: checks } : {}) };
}
const httpResults = (inputs: GateInputs) => evaluateGates(inputs, { now: NOW, requester, approvals: [] }).filter((g) => g.gateName === 'http-gate');

describe('http gates of an approval policy', () => {
  it('add nothing to the results of inputs without them (a policy without gates, a history from before them)', () => {
    const before = evaluateGates(gateInputs(), { now: NOW, requester, approvals: [] });
    expect(before.some((g) => g.gateName === 'http-gate')).toBe(false);
    expect(evaluateGates({ ...gateInputs(), httpGateChecks: [ok(FREEZE)] }, { now: NOW, requester, approvals: [] })).toEqual(before);
  });

  it('pass when the service answered an expected status, and say which service answered what', () => {
    expect(httpResults(withHttpGates([FREEZE], [ok(FREEZE)]))).toEqual([
      {
        gateName: 'http-gate',
        passed: true,
        blocking: false,
        message: 'change-freeze: change-freeze-svc answered 200',
        details: { name: 'change-freeze', integrationId: 'int-1', integrationName: 'change-freeze-svc', status: 200, reason: null, checkedAt: NOW },
      },
    ]);
  });

  it('fail with what would unblock them and why they did not pass, blocking or not as the policy says, in the policy’s order', () => {
    const results = httpResults(withHttpGates([FREEZE, SLO], [refused(SLO, 500), refused(FREEZE)]));
    expect(results.map((r) => [r.details.name, r.passed, r.blocking, r.message])).toEqual([
      ['change-freeze', false, true, 'change-freeze: wait for the freeze service to say OK (GET https://svc/ answered 503 (expected 200))'],
      ['slo-budget', false, false, 'slo-budget: slo-budget-svc must answer OK (GET https://svc/ answered 500 (expected 200))'],
    ]);
    expect(blockers(evaluateGates(withHttpGates([FREEZE, SLO], [refused(FREEZE), refused(SLO)]), { now: NOW, requester, approvals: [] })).map((g) => g.details.name)).toEqual([
      'change-freeze',
    ]);
  });

  it('fail closed when a gate was not checked (inputs gathered without calling the service)', () => {
    expect(httpResults(withHttpGates([FREEZE]))).toEqual([
      {
        gateName: 'http-gate',
        passed: false,
        blocking: true,
        message: 'change-freeze: wait for the freeze service to say OK (the service was not checked)',
        details: { name: 'change-freeze', integrationId: 'int-1', status: null, reason: 'not checked', checkedAt: null },
      },
    ]);
  });

  it('a plugin gate names its instance and plugin; checks recorded before plugin gates evaluate as they did', () => {
    const PLUGIN: HttpGate = { name: 'freeze-plugin', pluginInstanceId: 'inst-1', message: null, blocking: true };
    const check: HttpGateCheck = { name: 'freeze-plugin', pluginInstanceId: 'inst-1', pluginId: 'example-gate', integrationName: 'freeze', passed: true, status: null, reason: null, checkedAt: NOW };
    expect(httpResults(withHttpGates([PLUGIN, FREEZE], [check, ok(FREEZE)]))).toEqual([
      {
        gateName: 'http-gate',
        passed: true,
        blocking: false,
        message: 'freeze-plugin: plugin example-gate (freeze) passed',
        details: { name: 'freeze-plugin', pluginInstanceId: 'inst-1', pluginId: 'example-gate', integrationName: 'freeze', status: null, reason: null, checkedAt: NOW },
      },
      {
        gateName: 'http-gate',
        passed: true,
        blocking: false,
        message: 'change-freeze: change-freeze-svc answered 200',
        details: { name: 'change-freeze', integrationId: 'int-1', integrationName: 'change-freeze-svc', status: 200, reason: null, checkedAt: NOW },
      },
    ]);
    const [failed] = httpResults(withHttpGates([PLUGIN], [{ ...check, passed: false, reason: 'check did not answer within 1000 ms' }]));
    expect([failed.passed, failed.blocking, failed.message]).toEqual([false, true, 'freeze-plugin: plugin example-gate (freeze) must answer OK (check did not answer within 1000 ms)']);
    expect(httpResults(withHttpGates([PLUGIN]))[0].details).toEqual({ name: 'freeze-plugin', pluginInstanceId: 'inst-1', pluginId: null, status: null, reason: 'not checked', checkedAt: null });
  });

  it('refuse a promotion at create, and refuse to deploy an approved one, while a blocking gate fails', () => {
    const inputs = withHttpGates([FREEZE], [refused(FREEZE)]);
    const err = thrown(DomainError, () =>
      decide(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'go' }, gateInputs: inputs }, { now: NOW, actor: { ...requester, permissions: [] } }),
    );
    expect(err.code).toBe('PROMOTION_BLOCKED');
    expect(err.message).toBe('Blocked by http-gate: change-freeze: wait for the freeze service to say OK (GET https://svc/ answered 503 (expected 200))');
    const clearance = clearDeployment(inputs, { kind: 'promotion', promotion: { requestedBy: 'alice', requestedByEmail: null, approvals: [] }, ignoreBindings: true }, NOW);
    expect(clearance).toMatchObject({ outcome: 'refuse', error: { code: 'PROMOTION_BLOCKED' } });
    expect(clearDeployment(withHttpGates([FREEZE], [ok(FREEZE)]), { kind: 'promotion', promotion: { requestedBy: 'alice', requestedByEmail: null, approvals: [] }, ignoreBindings: true }, NOW)).toEqual({ outcome: 'clear', freezeOverride: null });
  });
});

describe('saving an http gate', () => {
  const body = (httpGates: unknown) => ({ name: 'prod', environmentId: '00000000-0000-4000-8000-000000000001', requiredApprovals: 1, httpGates });

  it('defaults to none, and a gate to blocking', () => {
    expect(approvalPolicySchema.parse(body(undefined)).httpGates).toEqual([]);
    expect(approvalPolicySchema.parse(body([{ name: 'freeze', integrationId: '00000000-0000-4000-8000-000000000002' }])).httpGates).toEqual([
      { name: 'freeze', integrationId: '00000000-0000-4000-8000-000000000002', blocking: true },
    ]);
  });

  it('names the field of each bad gate, and repeated names', () => {
    const bad = approvalPolicySchema.safeParse(body([{ name: '', integrationId: 'x', blocking: 1, colour: 'red' }]));
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['httpGates.0', 'httpGates.0.blocking', 'httpGates.0.integrationId', 'httpGates.0.name']);
    const twice = approvalPolicySchema.safeParse(body([{ name: 'freeze', integrationId: '00000000-0000-4000-8000-000000000002' }, { name: 'Freeze', integrationId: '00000000-0000-4000-8000-000000000002' }]));
    expect(twice.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['httpGates.1.name', 'repeats the name of an earlier gate (Freeze)']]);
  });
});
