import { AURORA_EXAMPLE } from '../fixtures/spec-examples';
import { assessRisk, levelFor, planSubstance, RISK_MODEL_VERSION, RISK_WEIGHTS, withAssessedDecision, type RiskInput } from '../../domain/changes/risk';
import { decide } from '../../domain/changes/commands';
import type { ChangeConflict, DecideContext } from '../../domain/changes/model';

const NOW = '2026-05-19T10:00:00.000Z';

/** The change in the StackFlow spec's "Get Change" example. */
const aurora: RiskInput = {
  ...AURORA_EXAMPLE,
  ci_id: null,
  scheduled_start: '2026-05-25T02:00:00Z',
  scheduled_end: '2026-05-25T04:00:00Z',
  conflictIds: [],
  groupHistory: { completed: 0, failed: 0 },
};

const trivialStandard: RiskInput = {
  type: 'standard',
  short_description: 'Rotate log files on the build agents',
  description: null,
  implementation_plan: '1. Run the logrotate job\n2. Confirm disk usage dropped',
  backout_plan: 'Restore the archived log files from the backup bucket',
  test_plan: 'Check the agents report healthy and disk usage is below 70%',
  ci_id: null,
  assignment_group: 'Build Tooling',
  scheduled_start: '2026-05-22T01:00:00Z',
  scheduled_end: '2026-05-22T02:00:00Z',
  conflictIds: [],
  groupHistory: { completed: 12, failed: 0 },
};

const paymentsEmergency: RiskInput = {
  type: 'emergency',
  short_description: 'Emergency production database schema migration on the payments cluster',
  description: 'Hotfix: add a missing index to the payments ledger in production',
  implementation_plan: 'Run the migration',
  backout_plan: null,
  test_plan: null,
  ci_id: 'payments-db-prod',
  assignment_group: null,
  scheduled_start: null,
  scheduled_end: null,
  conflictIds: [],
  groupHistory: { completed: 0, failed: 0 },
};

const samples: Record<string, RiskInput> = {
  aurora,
  trivialStandard,
  paymentsEmergency,
  conflicted: { ...aurora, conflictIds: ['CHG0000001', 'CHG0000002', 'CHG0000003', 'CHG0000004'] },
  badHistory: { ...aurora, groupHistory: { completed: 2, failed: 7 } },
  ciOnly: { ...trivialStandard, ci_id: 'build-agent-pool', scheduled_start: '2026-05-22T00:00:00Z', scheduled_end: '2026-05-22T10:30:00Z' },
  disruptive: { ...aurora, description: 'Requires a reboot of the live Aurora cluster and a short outage' },
};

describe('the spec examples', () => {
  test("the spec's Aurora upgrade is medium risk", () => {
    const a = assessRisk(aurora, NOW);
    expect(a.risk_level).toBe('medium');
    expect(a.risk_score).toBeGreaterThanOrEqual(25);
    expect(a.risk_score).toBeLessThan(50);
    expect(a.factors[0].factor).toMatch(/database/i);
    // Like the spec's own recommendation: CAB review with a DBA on call.
    expect(a.recommendation).toMatch(/^Proceed with CAB review\./);
    expect(a.recommendation).toMatch(/DBA/);
  });

  test(`pins the Aurora score for ${RISK_MODEL_VERSION} (a model change must bump RISK_MODEL_VERSION and this pin)`, () => {
    const a = assessRisk(aurora, NOW);
    expect(a.model_version).toBe('tollgate-risk-1.2');
    expect(a.risk_score).toBe(35);
    expect(a.factors.map((f) => f.score)).toEqual([70, 10, 15, 20, 0, 30, 30]);
  });

  test('a trivial standard change with plans and a 1h window is low risk', () => {
    const a = assessRisk(trivialStandard, NOW);
    expect(a.risk_level).toBe('low');
    expect(a.risk_score).toBeLessThan(25);
    expect(a.recommendation).toMatch(/^Low risk/);
  });

  // "No production or critical-system signals" names a category it did not find; no on-call advice follows from it.
  test('advice follows the impact category found, not words in the factor label', () => {
    expect(assessRisk(trivialStandard, NOW).recommendation).not.toMatch(/on call/);
    const payments = assessRisk({ ...trivialStandard, short_description: 'Rotate the payments API certificate' }, NOW);
    expect(payments.recommendation).toMatch(/owning team on call/);
  });

  test('an emergency production schema migration on payments, without backout, test plan or window, is high or critical', () => {
    const a = assessRisk(paymentsEmergency, NOW);
    expect(['high', 'critical']).toContain(a.risk_level);
    expect(a.risk_score).toBeGreaterThanOrEqual(50);
    expect(a.recommendation).toMatch(/rollback procedure/);
    expect(a.recommendation).toMatch(/test plan/);
    expect(a.recommendation).toMatch(/maintenance window/);
  });
});

describe('explainability invariants', () => {
  test('the model weights sum to 1', () => {
    expect(Math.abs(Object.values(RISK_WEIGHTS).reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-9);
  });

  test.each(Object.entries(samples))('%s: weights sum to 1, scores are integers 0..100, and the score is the rounded weighted sum', (_name, input) => {
    const a = assessRisk(input, NOW);
    expect(a.factors.length).toBeGreaterThan(0);
    expect(Math.abs(a.factors.reduce((s, f) => s + f.weight, 0) - 1)).toBeLessThanOrEqual(1e-9);
    for (const f of a.factors) {
      expect(Number.isInteger(f.score)).toBe(true);
      expect(f.score).toBeGreaterThanOrEqual(0);
      expect(f.score).toBeLessThanOrEqual(100);
      expect(f.factor).toEqual(expect.any(String));
      expect(f.factor.length).toBeGreaterThan(0);
    }
    const weighted = a.factors.reduce((s, f) => s + f.weight * f.score, 0);
    expect(Math.abs(weighted - a.risk_score)).toBeLessThanOrEqual(0.5);
    expect(Number.isInteger(a.risk_score)).toBe(true);
    expect(a.risk_level).toBe(levelFor(a.risk_score));
  });

  test('the model version and assessment time are stamped', () => {
    const a = assessRisk(aurora, NOW);
    expect(a.model_version).toBe(RISK_MODEL_VERSION);
    expect(a.assessed_at).toBe(NOW);
  });

  test('deterministic: the same input gives an identical assessment, and the input is not modified', () => {
    const input = structuredClone(paymentsEmergency);
    const first = assessRisk(input, NOW);
    const second = assessRisk(input, NOW);
    expect(second).toEqual(first);
    expect(input).toEqual(paymentsEmergency);
  });
});

describe('levelFor', () => {
  test.each([
    [0, 'low'],
    [24, 'low'],
    [25, 'medium'],
    [49, 'medium'],
    [50, 'high'],
    [74, 'high'],
    [75, 'critical'],
    [100, 'critical'],
  ] as const)('%d → %s', (score, level) => {
    expect(levelFor(score)).toBe(level);
  });
});

describe('monotonic factors', () => {
  const score = (input: RiskInput) => assessRisk(input, NOW).risk_score;

  test('more conflicting changes never lower the score', () => {
    const scores = [[], ['CHG0000001'], ['CHG0000001', 'CHG0000002'], ['CHG0000001', 'CHG0000002', 'CHG0000003', 'CHG0000004', 'CHG0000005']].map((conflictIds) =>
      score({ ...aurora, conflictIds }),
    );
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1]);
    expect(scores[1]).toBeGreaterThan(scores[0]);
    expect(scores[2]).toBeGreaterThan(scores[1]);
  });

  test('conflicts are named in the factor and the recommendation', () => {
    const a = assessRisk({ ...aurora, conflictIds: ['CHG0000007'] }, NOW);
    expect(a.factors.some((f) => f.factor.includes('CHG0000007'))).toBe(true);
    expect(a.recommendation).toContain('CHG0000007');
  });

  test("a higher failure rate in the assignment group's history never lowers the score", () => {
    const rates = [0, 1, 2, 5, 8, 10].map((failed) => score({ ...aurora, groupHistory: { completed: 10 - failed, failed } }));
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThanOrEqual(rates[i - 1]);
    expect(rates[rates.length - 1]).toBeGreaterThan(rates[0]);
  });

  test('too little history is judged neutrally, between a clean and a poor record', () => {
    const thin = score({ ...aurora, groupHistory: { completed: 1, failed: 1 } });
    expect(thin).toBe(score({ ...aurora, groupHistory: { completed: 0, failed: 0 } }));
    expect(score({ ...aurora, groupHistory: { completed: 20, failed: 0 } })).toBeLessThan(thin);
    expect(score({ ...aurora, groupHistory: { completed: 5, failed: 5 } })).toBeGreaterThan(thin);
  });

  test('removing the backout plan, test plan or window raises the score', () => {
    const base = score(aurora);
    expect(score({ ...aurora, backout_plan: null })).toBeGreaterThan(base);
    expect(score({ ...aurora, test_plan: 'TBD' })).toBeGreaterThan(base);
    expect(score({ ...aurora, scheduled_start: null, scheduled_end: null })).toBeGreaterThan(base);
  });

  test('emergency > normal > standard, all else equal', () => {
    expect(score({ ...aurora, type: 'emergency' })).toBeGreaterThan(score(aurora));
    expect(score(aurora)).toBeGreaterThan(score({ ...aurora, type: 'standard' }));
  });

  test('critical systems and production signals raise impact', () => {
    const impact = (input: RiskInput) => assessRisk(input, NOW).factors[0].score;
    const plain = { ...trivialStandard };
    expect(impact({ ...plain, short_description: 'Rotate the payments service certificate' })).toBeGreaterThan(impact({ ...plain, short_description: 'Rotate the redis cache keys' }));
    expect(impact({ ...plain, short_description: 'Resize the redis cache' })).toBeGreaterThan(impact(plain));
    expect(impact({ ...plain, short_description: 'Resize the production redis cache' })).toBeGreaterThan(impact({ ...plain, short_description: 'Resize the redis cache' }));
    expect(impact(samples.disruptive)).toBeGreaterThan(impact(aurora));
  });
});

describe('planSubstance', () => {
  test.each([null, undefined, '', '   ', 'n/a', 'N/A', 'TBD', 'tbd', 'none', 'TODO', '-'])('%j is absent', (plan) => {
    expect(planSubstance(plan)).toBe('absent');
  });

  test.each(['Restart', 'Restart the service', 'Roll back deploy'])('%j (1–3 words) is thin', (plan) => {
    expect(planSubstance(plan)).toBe('thin');
  });

  test.each(['Restore from the snapshot', 'Run StackFlow health check and full regression test suite', '1. Restore from pre-upgrade snapshot'])(
    '%j is present',
    (plan) => {
      expect(planSubstance(plan)).toBe('present');
    },
  );

  test.each([
    '1. Take Aurora snapshot\n2. Apply version upgrade\n3. Validate connections\n4. Run smoke tests',
    '1) Drain the node\n2) Reboot the node',
    '- Drain the node\n- Reboot the node',
    'Stop traffic at the load balancer then restore the previous build from the artifact store then warm the caches then re-enable traffic and watch errors',
  ])('%j (2+ steps, or long prose) is thorough', (plan) => {
    expect(planSubstance(plan)).toBe('thorough');
  });

  // The 1–3 word "thin" threshold is about words of instruction; numbering the single step must not make it "present".
  test.each(['1. Roll back now', '- Roll back now', '1) Revert the deploy'])('step markers are not counted as words: %j is thin', (plan) => {
    expect(planSubstance(plan)).toBe('thin');
  });

  test('a thorough backout plan scores lower than a thin one', () => {
    const backout = (plan: string | null) => assessRisk({ ...aurora, backout_plan: plan }, NOW).factors.find((f) => /rollback plan/i.test(f.factor))!;
    const scores = ['n/a', 'Roll back', '1. Restore from pre-upgrade snapshot', '1. Restore snapshot\n2. Repoint the endpoint'].map((p) => backout(p).score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(new Set(scores).size).toBe(4);
  });
});

describe('the recommendation fits the change type', () => {
  // One input per level; only the type varies between the rows of a level.
  const atLevel: Record<string, RiskInput> = {
    low: trivialStandard,
    medium: { ...trivialStandard, short_description: 'Upgrade the Aurora database' },
    high: { ...trivialStandard, short_description: 'Upgrade the production payments database with downtime', backout_plan: null, test_plan: null },
    critical: {
      ...trivialStandard,
      short_description: 'Upgrade the production payments database with downtime',
      backout_plan: null,
      test_plan: null,
      scheduled_start: null,
      scheduled_end: null,
      conflictIds: ['CHG0000001', 'CHG0000002'],
      groupHistory: { completed: 0, failed: 9 },
    },
  };
  const cases = Object.entries(atLevel).flatMap(([level, input]) => (['standard', 'normal', 'emergency'] as const).map((type) => [type, level, { ...input, type }] as const));

  test.each(cases)('%s change at %s risk', (type, level, input) => {
    const a = assessRisk(input, NOW);
    expect(a.risk_level).toBe(level);
    // Only normal changes go to CAB; the advice for the others never sends them there.
    if (type === 'normal') {
      if (level !== 'low') expect(a.recommendation).toMatch(/CAB/);
    } else {
      expect(a.recommendation).not.toMatch(/CAB/);
    }
  });

  test('a medium standard change is told to proceed, not to go to CAB', () => {
    const a = assessRisk(atLevel.medium, NOW);
    expect(a.recommendation).toMatch(/^Medium risk: proceed as planned/);
    expect(assessRisk({ ...atLevel.medium, type: 'normal' }, NOW).recommendation).toMatch(/^Proceed with CAB review\./);
  });

  test('a critical standard change is told to become a normal change', () => {
    expect(assessRisk(atLevel.critical, NOW).recommendation).toMatch(/^Critical risk: do not proceed as a standard change; raise it as a normal change/);
  });

  test('an emergency change is reminded of its post-implementation review', () => {
    expect(assessRisk({ ...atLevel.medium, type: 'emergency' }, NOW).recommendation).toMatch(/post-implementation review/);
  });
});

describe('an assessment applied to a decision: the audit trail shows what the caller was answered', () => {
  const ctx: DecideContext = {
    now: NOW,
    settings: { reviewDeadlineMs: 60_000, defaultCabQuorum: 1 },
    actor: { userId: 'alice', email: 'alice@example.com', permissions: ['change:create', 'change:update'] },
    number: 42,
  };
  const input = { ...aurora, type: 'normal' as const, scheduled_start: aurora.scheduled_start, scheduled_end: aurora.scheduled_end };
  const { conflictIds: _c, groupHistory: _g, ...createInput } = input;
  const assessment = assessRisk(input, NOW);

  test("a create's snapshot is the assessed change, not the unassessed default", () => {
    const decided = decide(undefined, { kind: 'create', input: createInput }, ctx);
    expect(decided.events[0].after).toMatchObject({ risk_score: 0, risk_assessment: { model_version: 'unassessed' } });
    const conflicts: ChangeConflict[] = [{ id: 'CHG0000007', short_description: 'Other', state: 'scheduled', scheduled_start: NOW, scheduled_end: NOW, overlap_on: ['ci'] }];
    const assessed = withAssessedDecision(decided, assessment, conflicts);
    expect(assessed.next).toMatchObject({ risk_score: assessment.risk_score, risk_level: assessment.risk_level, risk_assessment: assessment, conflicts });
    expect(assessed.events).toEqual([{ action: 'change.create', before: null, after: assessed.next }]);
    expect(assessed.next.version).toBe(1);
  });

  test('an edit that moves the score records the move on the event that edited a risk input', () => {
    const created = withAssessedDecision(decide(undefined, { kind: 'create', input: createInput }, ctx), assessment, []).next;
    const edit = decide(created, { kind: 'patch', input: { backout_plan: null, assigned_to: 'dba@example.com' } }, ctx);
    const rescored = assessRisk({ ...input, backout_plan: null }, NOW);
    // The score rises; the level stays medium, so only the score is recorded as moved.
    expect([assessment.risk_score, rescored.risk_score, assessment.risk_level, rescored.risk_level]).toEqual([35, 48, 'medium', 'medium']);
    const assessed = withAssessedDecision(edit, rescored, []);
    expect(assessed.events).toEqual([
      {
        action: 'change.update',
        before: { backout_plan: created.backout_plan, assigned_to: null, risk_score: 35 },
        after: { backout_plan: null, assigned_to: 'dba@example.com', risk_score: 48 },
      },
    ]);
  });

  test('an assessment that moves nothing leaves the events alone', () => {
    const created = withAssessedDecision(decide(undefined, { kind: 'create', input: createInput }, ctx), assessment, []).next;
    const edit = decide(created, { kind: 'patch', input: { description: 'More detail' } }, ctx);
    expect(withAssessedDecision(edit, assessment, []).events).toEqual(edit.events);
  });
});
