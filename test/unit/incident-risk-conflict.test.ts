import { assessRisk, type RiskInput } from '../../domain/changes/risk';

/** The change risk model's conflict factor counts open P1/P2 incidents on the change's CI. */
const base: RiskInput = {
  type: 'standard',
  short_description: 'Tune the cart service pool',
  description: null,
  implementation_plan: null,
  backout_plan: null,
  test_plan: null,
  ci_id: 'CI0000321',
  assignment_group: null,
  scheduled_start: null,
  scheduled_end: null,
  conflictIds: [],
  groupHistory: { completed: 0, failed: 0 },
};
const conflictOf = (input: RiskInput) => assessRisk(input, '2026-05-19T10:00:00.000Z').factors.find((f) => f.weight === 0.1 && /conflict|Overlaps|Open P1/.test(f.factor))!;

test('no incidents, no change overlap: the factor is zero as before', () => {
  expect(conflictOf(base)).toEqual({ factor: 'No conflicting changes in the window', weight: 0.1, score: 0 });
  expect(conflictOf({ ...base, incidentIds: [] }).score).toBe(0);
});

test('an open urgent incident on the CI scores 90; with overlapping changes too, 100', () => {
  expect(conflictOf({ ...base, incidentIds: ['INC0000007'] })).toEqual({ factor: 'Open P1/P2 incident on CI0000321 (INC0000007)', weight: 0.1, score: 90 });
  expect(conflictOf({ ...base, incidentIds: ['INC0000007', 'INC0000009'], conflictIds: ['CHG0000002'] })).toEqual({
    factor: 'Open P1/P2 incidents on CI0000321 (INC0000007, INC0000009); overlaps 1 other change on the same CI or group (CHG0000002)',
    weight: 0.1,
    score: 100,
  });
});

test('the score rises by the weighted difference and the advice names the incident', () => {
  const calm = assessRisk(base, '2026-05-19T10:00:00.000Z');
  const burning = assessRisk({ ...base, incidentIds: ['INC0000007'] }, '2026-05-19T10:00:00.000Z');
  expect(burning.risk_score).toBe(calm.risk_score + 9);
  expect(burning.recommendation).toContain('Check with the owners of INC0000007 before touching CI0000321.');
});
