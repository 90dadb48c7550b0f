import type { Actor } from '../../domain/actor';
import { canonicalJson } from '../../domain/canonical-json';
import { decide, type PromotionCommand } from '../../domain/promotions/commands';
import { promotionOutcomeOf } from '../../domain/promotions/deployment-outcome';
import { evaluateGates } from '../../domain/promotions/gates';
import type { Promotion } from '../../domain/promotions/model';
import { DomainError } from '../../domain/errors';
import { thrown } from '../support/thrown';
import { gateInputs } from './promotion-fixtures';

const NOW = '2026-11-23T10:00:00.000Z';
const requester: Actor = { userId: 'alice', email: 'alice@example.com', permissions: ['promotion:create'], groups: ['developer'] };
const sre = (n: number): Actor => ({ userId: `sre${n}`, email: `sre${n}@example.com`, permissions: [], groups: ['sre-team'] });
const outsider: Actor = { userId: 'mallory', permissions: ['promotion:approve'], groups: ['viewer'] };

function run(p: Promotion | undefined, command: PromotionCommand, actor: Actor = requester, now = NOW): Promotion {
  return decide(p, command, { now, actor }).next;
}

function created(inputs = gateInputs()): Promotion {
  const p = run(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'bug fix' }, gateInputs: inputs });
  return run(p, { kind: 'open' });
}

describe('promotion rules', () => {
  it('creates pending, then awaits approval with the policy in force', () => {
    const p = run(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'bug fix' }, gateInputs: gateInputs() });
    expect(p).toMatchObject({ status: 'pending', sourceEnvironmentName: 'Staging', targetEnvironmentName: 'Production', requiredApprovals: 2, expiresAt: '2026-11-24T10:00:00.000Z' });
    expect(run(p, { kind: 'open' }).status).toBe('awaiting_approval');
  });

  it('refuses creation when a blocking gate fails, with every gate result', () => {
    const err = thrown(DomainError, () => created(gateInputs({ release: { ...gateInputs().release, securityScan: { criticalCount: 3, highCount: 0 } } })));
    expect(err).toMatchObject({ kind: 'rule', code: 'PROMOTION_BLOCKED' });
    const security = (err as unknown as { details: { gates: Array<{ gateName: string; message: string }> } }).details.gates.find((g) => g.gateName === 'security-gate');
    expect(security?.message).toBe('3 critical vulnerabilities exceed threshold (max: 0)');
  });

  it('counts distinct approvers and approves at the required number', () => {
    let p = created();
    p = run(p, { kind: 'approve', input: { comment: 'LGTM' } }, sre(1));
    expect(p).toMatchObject({ status: 'awaiting_approval', approvalCount: 1 });
    expect(thrown(DomainError, () => run(p, { kind: 'approve', input: {} }, sre(1)))).toMatchObject({ code: 'ALREADY_APPROVED', kind: 'invalid_state' });
    p = run(p, { kind: 'approve', input: {} }, sre(2));
    expect(p).toMatchObject({ status: 'approved', approvalCount: 2, decision: 'allow', decidedAt: NOW });
    expect(thrown(DomainError, () => run(p, { kind: 'approve', input: {} }, sre(3)))).toMatchObject({ code: 'ALREADY_DECIDED', kind: 'invalid_state' });
  });

  it('refuses non-members and the requester under separation of duties', () => {
    const p = created();
    expect(thrown(DomainError, () => run(p, { kind: 'approve', input: {} }, outsider))).toMatchObject({ code: 'NOT_AN_APPROVER', kind: 'forbidden' });
    const selfApprover = { ...requester, groups: ['sre-team'] };
    expect(thrown(DomainError, () => run(p, { kind: 'approve', input: {} }, selfApprover))).toMatchObject({ code: 'SOD_VIOLATION', kind: 'forbidden' });
  });

  it('rejects with a reason and ends the decision', () => {
    const p = run(created(), { kind: 'reject', input: { reason: 'CVE unresolved' } }, sre(1));
    expect(p).toMatchObject({ status: 'rejected', decision: 'deny', statusReason: 'CVE unresolved' });
  });

  it('invalidates earlier approvals when the scan changes while waiting, and says why', () => {
    let p = run(created(), { kind: 'approve', input: {} }, sre(1));
    const rescanned = gateInputs({ release: { ...gateInputs().release, securityScan: { criticalCount: 0, highCount: 4 } } });
    p = run(p, { kind: 'reevaluate', gateInputs: rescanned });
    expect(p.approvalCount).toBe(0);
    expect(p.approvals[0].invalidated?.reasons).toEqual(['security scan changed from 0 critical/3 high to 0 critical/4 high']);
    // The same person may approve again, bound to the new inputs.
    p = run(p, { kind: 'approve', input: {} }, sre(1));
    expect(p.approvalCount).toBe(1);
  });

  it('invalidates on a policy edit and on a new digest', () => {
    let p = run(created(), { kind: 'approve', input: {} }, sre(1));
    const edited = gateInputs({ policy: { ...gateInputs().policy, policyVersion: 2 } });
    p = run(p, { kind: 'reevaluate', gateInputs: edited });
    expect(p.approvals[0].invalidated?.reasons[0]).toMatch(/approval policy changed from pol-1 v1 to pol-1 v2/);
    let q = run(created(), { kind: 'approve', input: {} }, sre(1));
    const redigested = gateInputs({ release: { ...gateInputs().release, components: [{ componentId: 'cmp-1', name: 'myapp', version: '2.3.1', digest: 'sha256:bbb' }] } });
    q = run(q, { kind: 'reevaluate', gateInputs: redigested });
    expect(q.approvals[0].invalidated?.reasons).toEqual(['digest of myapp@2.3.1 changed from sha256:aaa to sha256:bbb']);
  });

  it('expires undecided promotions as cancelled with reason approval_expired', () => {
    const p = run(created(), { kind: 'expire' });
    expect(p).toMatchObject({ status: 'cancelled', statusReason: 'approval_expired', decision: 'deny' });
  });

  it('walks approved → deploying → deployed and refuses skipping', () => {
    let p = run(run(created(), { kind: 'approve', input: {} }, sre(1)), { kind: 'approve', input: {} }, sre(2));
    expect(thrown(DomainError, () => run(p, { kind: 'finish', outcome: 'deployed' }))).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
    p = run(p, { kind: 'deploy' });
    p = run(p, { kind: 'finish', outcome: 'deployed' });
    expect(p.status).toBe('deployed');
  });

  it('ends as its deployment job ended: a cancelled job cancels the promotion, saying who stopped it; anything unknown is a failure', () => {
    const deploying = run(run(run(created(), { kind: 'approve', input: {} }, sre(1)), { kind: 'approve', input: {} }, sre(2)), { kind: 'deploy' });
    const job = (status: string, statusReason: string | null = null) => ({ id: 'job-1', status, statusReason });
    expect(promotionOutcomeOf(job('cancelled', 'cancelled by sre1@example.com: wrong window'))).toEqual({ outcome: 'cancelled', message: 'cancelled by sre1@example.com: wrong window' });
    expect(promotionOutcomeOf(job('cancelled'))).toEqual({ outcome: 'cancelled', message: 'deployment job job-1 was cancelled' });
    expect(promotionOutcomeOf(job('rolled_back', 'web-2 failed; rolled back 2 targets'))).toEqual({ outcome: 'rolled_back', message: 'web-2 failed; rolled back 2 targets' });
    expect(promotionOutcomeOf(job('deployed'))).toEqual({ outcome: 'deployed', message: null });
    expect(promotionOutcomeOf(job('failed', 'web-1 failed: NO_AGENT: no agent; no target was changed, so nothing was rolled back'))).toMatchObject({ outcome: 'failed' });
    expect(promotionOutcomeOf(job('queued'))).toEqual({ outcome: 'failed', message: 'deployment job job-1 ended queued' });

    const cancelled = run(deploying, { kind: 'finish', ...promotionOutcomeOf(job('cancelled', 'cancelled by sre1@example.com: wrong window')) });
    expect(cancelled).toMatchObject({ status: 'cancelled', statusReason: 'cancelled by sre1@example.com: wrong window', completedAt: NOW });
    // The requester's own cancel still stops at approval: a deploying promotion is cancelled only through its job.
    expect(thrown(DomainError, () => run(deploying, { kind: 'cancel', input: {} }))).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
  });

  it('a preview and the real evaluation agree', () => {
    const inputs = gateInputs({ previousEnvironment: { id: 'env-stg', name: 'Staging', releaseDeployed: false } });
    const preview = evaluateGates(inputs, { now: NOW, requester, approvals: [] });
    const err = thrown(DomainError, () => created(inputs)) as unknown as { details: { gates: unknown } };
    expect(err.details.gates).toEqual(preview);
    expect(preview.find((g) => g.gateName === 'promotion-order-gate')?.message).toBe('myapp-v2.3.1 is not deployed to Staging; promote it there first');
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], '\u20ac': 1, '\ud83d\ude00': 2, A: { z: 1.5, y: 1e21 } })).toBe(
      '{"A":{"y":1e+21,"z":1.5},"a":[true,null,"x"],"b":1,"\u20ac":1,"\ud83d\ude00":2}',
    );
  });
  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
  });
});
