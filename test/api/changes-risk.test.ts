import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, iso, HOUR, standardChange, step } from '../support/changes';

/** GET /changes/:id/risk: the spec's shape, honest arithmetic, and inputs that come from other changes. */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  token = await app.token('alice@example.com');
});
afterAll(() => app.close());

const risk = async (id: string, prefix = '/prod/api') => {
  const res = await app.http('GET', `${prefix}/changes/${id}/risk`, { token });
  expect(res.status).toBe(200);
  return prefix === '/api/v1' ? res.body.data : res.body;
};

function expectHonestArithmetic(r: { risk_score: number; factors: Array<{ factor: string; weight: number; score: number }> }) {
  const weights = r.factors.reduce((s, f) => s + f.weight, 0);
  expect(weights).toBeCloseTo(1, 9);
  const weighted = r.factors.reduce((s, f) => s + f.weight * f.score, 0);
  expect(Math.abs(weighted - r.risk_score)).toBeLessThanOrEqual(0.5);
  for (const f of r.factors) {
    // The spec's field order, as read back from Postgres.
    expect(Object.keys(f)).toEqual(['factor', 'weight', 'score']);
    expect(Number.isInteger(f.score) && f.score >= 0 && f.score <= 100).toBe(true);
  }
}

test("the spec's Aurora example is medium, with the spec's response shape", async () => {
  const change = await createChange(app, token, auroraChange({ scheduled_start: iso(HOUR), scheduled_end: iso(3 * HOUR) }));
  const r = await risk(change.id);
  expect(r).toMatchObject({ risk_level: 'medium', recommendation: expect.stringContaining('Proceed with CAB review') });
  expect(r.factors.map((f: any) => f.factor)).toEqual(
    expect.arrayContaining(['Database change', 'Maintenance window scheduled (2h)', 'Rollback plan present', 'Test plan present']),
  );
  expectHonestArithmetic(r);
  // Stored on the change too, and the requester's own estimate is left alone.
  expect(change).toMatchObject({ risk_score: r.risk_score, risk_level: 'medium', risk: null });
  expect(await risk(change.id, '/api/v1')).toEqual(r);
});

test('a trivial standard change is low; a risky emergency is high or critical', async () => {
  const trivial = await createChange(app, token, standardChange({ risk: 'critical' }));
  const low = await risk(trivial.id);
  expect(low.risk_level).toBe('low');
  expect(low.recommendation).toBe('Low risk: proceed as planned.');
  expect(trivial.risk).toBe('critical');
  expectHonestArithmetic(low);

  const risky = await createChange(app, token, {
    type: 'emergency',
    short_description: 'Emergency production database schema migration on the payments cluster',
    implementation_plan: 'Run the migration with downtime',
  });
  const high = await risk(risky.id);
  expect(['high', 'critical']).toContain(high.risk_level);
  expect(high.recommendation).toMatch(/rollback/i);
  expectHonestArithmetic(high);
});

test('overlapping windows on the same CI are conflicts: listed on the change and scored', async () => {
  const window = { scheduled_start: iso(5 * HOUR), scheduled_end: iso(7 * HOUR) };
  const first = await createChange(app, token, standardChange({ ...window, ci_id: 'CI0000789', assignment_group: 'Team A' }));
  const second = await createChange(app, token, standardChange({ scheduled_start: iso(6 * HOUR), scheduled_end: iso(8 * HOUR), ci_id: 'CI0000789', assignment_group: 'Team B' }));
  expect(second.conflicts).toEqual([expect.objectContaining({ id: first.id, overlap_on: ['ci'] })]);
  const r = await risk(second.id);
  const conflict = r.factors.find((f: any) => /Overlaps/.test(f.factor));
  expect(conflict).toMatchObject({ score: 60 });
  expect(conflict.factor).toContain(first.id);
  expect(r.recommendation).toContain(first.id);
  // Moving the window away clears the conflict on the next assessment.
  const moved = await step(app, token, 'PATCH', second.id, { scheduled_start: iso(20 * HOUR), scheduled_end: iso(21 * HOUR) });
  expect(moved.conflicts).toEqual([]);
});

test("the assignment group's recent failure rate feeds the score", async () => {
  const group = 'Flaky Team';
  for (const outcome of ['failed', 'failed', 'completed']) {
    const c = await createChange(app, token, standardChange({ assignment_group: group, short_description: `History ${outcome}` }));
    await step(app, token, 'POST', `${c.id}/submit`);
    await step(app, token, 'PATCH', c.id, { state: 'in_progress' });
    await step(app, token, 'PATCH', c.id, { state: outcome });
  }
  const next = await createChange(app, token, standardChange({ assignment_group: group }));
  const factor = (await risk(next.id)).factors.find((f: any) => f.factor.startsWith('Recent failure rate'));
  expect(factor).toEqual({ factor: 'Recent failure rate 67% for Flaky Team (2/3)', weight: 0.1, score: 100 });
});

test('risk is recomputed when plans change, each assessment kept with its model version', async () => {
  const change = await createChange(app, token, { type: 'normal', short_description: 'Patch the bastion hosts', scheduled_start: iso(HOUR), scheduled_end: iso(2 * HOUR) });
  const before = await risk(change.id);
  const improved = await step(app, token, 'PATCH', change.id, { backout_plan: '1. Re-image from the previous AMI\n2. Restore host keys from the vault', test_plan: 'SSH to every bastion and run the audit script' });
  expect(improved.risk_score).toBeLessThan(before.risk_score);
  // Editing something the model ignores does not add an assessment.
  await step(app, token, 'PATCH', change.id, { assigned_to: 'ops@example.com' });
  const history = (await app.http('GET', `/prod/api/changes/${change.id}/risk/history`, { token })).body;
  expect(history.map((h: any) => h.change_version)).toEqual([1, 2]);
  expect(history.every((h: any) => h.model_version === 'tollgate-risk-1.2')).toBe(true);
  expect(history[1].risk_score).toBe(improved.risk_score);
});

test('every mutation writes an audit row with actor, request id, before and after', async () => {
  const change = await createChange(app, token, auroraChange());
  await app.http('PATCH', `/prod/api/changes/${change.id}`, { token, body: { assigned_to: 'dba@example.com' }, headers: { 'x-request-id': 'req-audit-1' } });
  const { rows } = await app.pool.query(
    `SELECT actor, action, before, after, request_id FROM audit_log WHERE tenant_id = $1 AND resource_type = 'change' AND resource_id = $2 ORDER BY id`,
    [app.tenant, change.id],
  );
  expect(rows[0]).toMatchObject({ actor: 'alice@example.com', action: 'change.create', before: null });
  expect(rows[1]).toEqual({ actor: 'alice@example.com', action: 'change.update', before: { assigned_to: null }, after: { assigned_to: 'dba@example.com' }, request_id: 'req-audit-1' });
});

test("the create audit row records the change as the 201 answered it: assessed score, not the unassessed default", async () => {
  const created = await createChange(app, token, auroraChange({ short_description: 'Audited create' }));
  expect(created.risk_score).toBeGreaterThan(0);
  const { rows } = await app.pool.query(`SELECT after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'change.create'`, [app.tenant, created.id]);
  expect(rows).toHaveLength(1);
  expect(rows[0].after).toMatchObject({ risk_score: created.risk_score, risk_level: created.risk_level, conflicts: created.conflicts });
  expect(rows[0].after.risk_assessment.model_version).toBe('tollgate-risk-1.2');
  // And the history route shows the same.
  const history = (await app.http('GET', `/prod/api/changes/${created.id}/history`, { token })).body;
  expect(history.find((e: any) => e.action === 'change.create').after).toMatchObject({ risk_score: created.risk_score, risk_level: created.risk_level });
});

test('an edit that moves the score records the move in its audit row', async () => {
  const change = await createChange(app, token, { type: 'normal', short_description: 'Patch the jump hosts', scheduled_start: iso(HOUR), scheduled_end: iso(2 * HOUR) });
  const improved = await step(app, token, 'PATCH', change.id, { backout_plan: '1. Re-image from the previous AMI\n2. Restore host keys from the vault' });
  expect(improved.risk_score).toBeLessThan(change.risk_score);
  const { rows } = await app.pool.query(`SELECT before, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'change.update'`, [app.tenant, change.id]);
  expect(rows).toEqual([{ before: expect.objectContaining({ risk_score: change.risk_score }), after: expect.objectContaining({ risk_score: improved.risk_score }) }]);
});
