import { celGateProblem } from '../../domain/promotions/cel-gates';
import { decide } from '../../domain/promotions/commands';
import { blockers, evaluateGates } from '../../domain/promotions/gates';
import type { Approval, GateInputs } from '../../domain/promotions/model';
import { approvalPolicySchema } from '../../domain/promotions/requests';
import { DomainError } from '../../domain/errors';
import { thrown } from '../support/thrown';
import { gateInputs } from './promotion-fixtures';

// 2026-11-23 is a Monday (CEL's getDayOfWeek: 1); 2026-11-28 a Saturday (6).
const MONDAY = '2026-11-23T10:00:00.000Z';
const SATURDAY = '2026-11-28T10:00:00.000Z';
const requester = { userId: 'alice', email: 'alice@example.com' };

const NO_CRITICALS = { name: 'no-criticals', expression: 'release.components.all(c, c.scan.critical == 0)', message: 'fix every critical vulnerability first' };
const WEEKDAYS = { name: 'weekdays', expression: 'now.getDayOfWeek() >= 1 && now.getDayOfWeek() <= 5', message: 'production changes ship Monday to Friday' };

function withGates(gates: GateInputs['policy']['celGates'], overrides: Partial<GateInputs> = {}): GateInputs {
  const base = gateInputs(overrides);
  return { ...base, policy: { ...base.policy, celGates: gates } };
}

const scanned = (criticalCount: number, highCount = 0): Partial<GateInputs> => ({ release: { ...gateInputs().release, securityScan: { criticalCount, highCount } } });
const celResults = (inputs: GateInputs, now = MONDAY, approvals: Approval[] = []) =>
  evaluateGates(inputs, { now, requester, approvals }).filter((g) => g.gateName === 'cel-gate');

function approval(approverId: string, approvedAt: string, invalidated = false): Approval {
  return {
    approverId,
    approverName: null,
    approverEmail: `${approverId}@example.com`,
    decision: 'approved',
    comment: null,
    approvedAt,
    binding: { digests: {}, securityScan: null, securityThresholds: null, policyId: 'pol-1', policyVersion: 1 },
    invalidated: invalidated ? { at: approvedAt, reasons: ['policy changed'] } : null,
  };
}

describe('CEL gates of an approval policy', () => {
  it('add nothing to the results of a policy without them', () => {
    const before = evaluateGates(gateInputs(), { now: MONDAY, requester, approvals: [] });
    expect(before.map((g) => g.gateName)).toEqual(['security-gate', 'freeze-window-gate', 'approval-gate', 'separation-of-duties-gate', 'promotion-order-gate', 'change-request-gate']);
    expect(evaluateGates(withGates([]), { now: MONDAY, requester, approvals: [] })).toEqual(before);
  });

  it('pass when the expression holds, and block with the policy’s message when it does not', () => {
    expect(celResults(withGates([NO_CRITICALS]))).toEqual([
      { gateName: 'cel-gate', passed: true, blocking: false, message: 'no-criticals holds', details: { name: 'no-criticals', expression: NO_CRITICALS.expression } },
    ]);
    const failing = celResults(withGates([NO_CRITICALS], scanned(2)));
    expect(failing).toEqual([
      { gateName: 'cel-gate', passed: false, blocking: true, message: 'no-criticals: fix every critical vulnerability first', details: { name: 'no-criticals', expression: NO_CRITICALS.expression } },
    ]);
    expect(blockers(evaluateGates(withGates([NO_CRITICALS], { ...scanned(2), environment: { ...gateInputs().environment, securityThresholds: null } }), { now: MONDAY, requester, approvals: [] }))).toEqual(failing);
  });

  it('read time from the evaluator’s now, as CEL timestamps', () => {
    expect(celResults(withGates([WEEKDAYS]), MONDAY)[0].passed).toBe(true);
    expect(celResults(withGates([WEEKDAYS]), SATURDAY)[0]).toMatchObject({ passed: false, blocking: true, message: 'weekdays: production changes ship Monday to Friday' });
    const hours = { name: 'office-hours', expression: 'now.getHours("Europe/Paris") >= 9 && now.getHours("Europe/Paris") < 18', message: 'ship in Paris office hours' };
    expect(celResults(withGates([hours]), '2026-11-23T07:30:00.000Z')[0].passed).toBe(false); // 08:30 in Paris
    expect(celResults(withGates([hours]), '2026-11-23T08:30:00.000Z')[0].passed).toBe(true);
  });

  it('see only the approvals that count, with their times', () => {
    const twoFresh = { name: 'two-recent', expression: 'approvals.filter(a, now - a.approvedAt < duration("1h")).size() >= 2', message: 'two approvals within the last hour' };
    const inputs = withGates([twoFresh]);
    const fresh = [approval('bob', '2026-11-23T09:30:00.000Z'), approval('carol', '2026-11-23T09:45:00.000Z')];
    expect(celResults(inputs, MONDAY, fresh)[0].passed).toBe(true);
    expect(celResults(inputs, MONDAY, [fresh[0], approval('carol', '2026-11-23T09:45:00.000Z', true)])[0].passed).toBe(false);
    expect(celResults(inputs, MONDAY, [fresh[0], approval('carol', '2026-11-23T08:00:00.000Z')])[0].passed).toBe(false);
  });

  it('fail closed when the expression cannot be evaluated on the promotion (a release without a scan)', () => {
    const [result] = celResults(withGates([NO_CRITICALS], { release: { ...gateInputs().release, securityScan: null } }));
    expect(result).toMatchObject({ passed: false, blocking: true, details: { name: 'no-criticals', error: expect.any(String) } });
    expect(result.message).toMatch(/^no-criticals: fix every critical vulnerability first \(the expression could not be evaluated: /);
  });

  it('refuse a promotion at create, naming the gate', () => {
    const err = thrown(DomainError, () =>
      decide(undefined, { kind: 'create', id: 'p-1', input: { releaseId: 'rel-1', targetEnvironmentId: 'env-prod', reason: 'go' }, gateInputs: withGates([NO_CRITICALS], { ...scanned(1), environment: { ...gateInputs().environment, securityThresholds: null } }) }, { now: MONDAY, actor: { ...requester, permissions: [] } }),
    );
    expect(err.code).toBe('PROMOTION_BLOCKED');
    expect(err.message).toBe('Blocked by cel-gate: no-criticals: fix every critical vulnerability first');
  });
});

describe('saving a CEL gate', () => {
  it('accepts an expression that evaluates to a boolean on a sample promotion', () => {
    expect(celGateProblem(NO_CRITICALS.expression)).toBeNull();
    expect(celGateProblem(WEEKDAYS.expression)).toBeNull();
    expect(celGateProblem('release.scan.high <= environment.securityThresholds.maxHigh && size(approvals) > 0')).toBeNull();
  });

  it('refuses bad syntax, unknown names, misspelt fields and answers that are not booleans', () => {
    expect(celGateProblem('release.components.all(c, ')).toMatch(/^is not a valid CEL expression: /);
    expect(celGateProblem('releases.size() > 0')).toMatch(/^fails on a sample promotion .*unresolved attribute \(an expression reads release, environment, approvals and now\)/);
    expect(celGateProblem('release.components.all(c, c.scan.critcal == 0)')).toMatch(/^fails on a sample promotion .*critcal/);
    expect(celGateProblem('release.name')).toMatch(/must be a boolean, got string/);
    expect(celGateProblem('now.getDayOfWeek() < "5"')).toMatch(/^fails on a sample promotion/);
  });

  it('names the field of each bad gate in the policy body, and repeated names', () => {
    const parsed = approvalPolicySchema.safeParse({
      name: 'prod',
      environmentId: '00000000-0000-4000-8000-000000000009',
      requiredApprovals: 1,
      celGates: [NO_CRITICALS, { name: 'bad', expression: 'release.', message: 'x' }, { ...WEEKDAYS, name: 'No-Criticals' }],
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(['celGates.1.expression', 'celGates.2.name']);
  });

  it('defaults to none', () => {
    const parsed = approvalPolicySchema.parse({ name: 'prod', environmentId: '00000000-0000-4000-8000-000000000009', requiredApprovals: 1 });
    expect(parsed.celGates).toEqual([]);
  });
});
