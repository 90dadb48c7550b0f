import type { Actor } from '../../domain/actor';
import { approvalsMissing, bindingChanges, bindingOf, mayApproveNow } from '../../domain/promotions/approvals';
import { decide, type DecideContext, type PromotionCommand } from '../../domain/promotions/commands';
import type { Promotion } from '../../domain/promotions/model';
import { DomainError } from '../../domain/errors';
import { thrown } from '../support/thrown';
import { gateInputs } from './promotion-fixtures';

/** What an approval is judged on, when; how long a request stands. */
const NOW = '2026-11-23T10:00:00.000Z';
const requester: Actor = { userId: 'alice', email: 'alice@example.com', permissions: ['promotion:create'], groups: ['developer'] };
const sre = (n: number): Actor => ({ userId: `sre${n}`, permissions: [], groups: ['sre-team'] });

function run(p: Promotion | undefined, command: PromotionCommand, actor: Actor = requester, extra: Partial<DecideContext> = {}): Promotion {
  return decide(p, command, { now: NOW, actor, ...extra }).next;
}
const create = (inputs = gateInputs(), extra: Partial<DecideContext> = {}) =>
  run(run(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'fix' }, gateInputs: inputs }, requester, extra), { kind: 'open' });
const breaking = gateInputs({ release: { ...gateInputs().release, securityScan: { criticalCount: 2, highCount: 0 } } });

describe('approval expiry', () => {
  it('lasts autoExpireHours of the configured hour, fixed at the request', () => {
    expect(create().expiresAt).toBe('2026-11-24T10:00:00.000Z');
    expect(create(gateInputs(), { settings: { expiryHourMs: 1_000 } }).expiresAt).toBe('2026-11-23T10:00:24.000Z');
    expect(create(gateInputs({ policy: { ...gateInputs().policy, autoExpireHours: null } }), { settings: { expiryHourMs: 1_000 } }).expiresAt).toBeNull();
  });
});

describe('approving against stale and fresh gate inputs', () => {
  it('judges only who and when without fresh inputs (the validator), so stale gates refuse nobody', () => {
    const blocked = run(create(), { kind: 'reevaluate', gateInputs: breaking });
    expect(blocked.gates.find((g) => g.gateName === 'security-gate')).toMatchObject({ passed: false, blocking: true });
    // The validator's view: the scan may have been fixed since; the handler decides on what it loads.
    expect(() => run(blocked, { kind: 'approve', input: {} }, sre(1))).not.toThrow();
    const fixed = run(blocked, { kind: 'approve', input: {}, gateInputs: gateInputs() }, sre(1));
    expect(fixed).toMatchObject({ approvalCount: 1 });
    expect(fixed.approvals[0].binding.securityScan).toEqual({ criticalCount: 0, highCount: 3 });
  });

  it('refuses an approval while a blocking gate fails on the inputs loaded for it', () => {
    const err = thrown(DomainError, () => run(create(), { kind: 'approve', input: {}, gateInputs: breaking }, sre(1)));
    expect(err).toMatchObject({ kind: 'rule', code: 'PROMOTION_BLOCKED' });
    expect(err.message).toContain('2 critical vulnerabilities exceed threshold (max: 0)');
  });

  it('keeps who-may-decide errors first, whatever the gates say', () => {
    const approved = run(run(create(), { kind: 'approve', input: {} }, sre(1)), { kind: 'approve', input: {} }, sre(2));
    expect(thrown(DomainError, () => run(approved, { kind: 'approve', input: {}, gateInputs: breaking }, sre(3)))).toMatchObject({ code: 'ALREADY_DECIDED' });
  });
});

describe('my pending approvals', () => {
  it('leaves out promotions a blocking gate holds, the caller’s own under SoD, and ones they approved', () => {
    const p = create();
    expect(mayApproveNow(p, sre(1))).toBe(true);
    expect(mayApproveNow(p, { ...requester, groups: ['sre-team'] })).toBe(false);
    expect(mayApproveNow(run(p, { kind: 'approve', input: {} }, sre(1)), sre(1))).toBe(false);
    expect(mayApproveNow(run(p, { kind: 'reevaluate', gateInputs: breaking }), sre(1))).toBe(false);
  });
});

describe('approval bindings', () => {
  it('see no change in the key order a JSONB column hands back', () => {
    const was = bindingOf(gateInputs());
    const reordered = { ...was, securityScan: { highCount: 3, criticalCount: 0 }, securityThresholds: { maxHigh: 5, maxCritical: 0 } };
    expect(bindingChanges(was, reordered)).toEqual([]);
  });
});

describe('what a promotion still awaits', () => {
  it('counts the approvals still missing, from the policy’s groups, and none once enough were given', () => {
    const p = create();
    const required = p.requiredApprovals;
    expect(approvalsMissing(p)).toEqual({ approvals: required, approverGroups: p.policy.approverGroups });
    const once = run(p, { kind: 'approve', input: {}, gateInputs: gateInputs() }, sre(1));
    expect(approvalsMissing(once).approvals).toBe(Math.max(0, required - 1));
    expect(approvalsMissing({ ...once, approvalCount: required + 1 }).approvals).toBe(0);
  });
});
