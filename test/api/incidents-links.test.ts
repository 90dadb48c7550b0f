import { startTestApp, type TestApp } from '../support/app';
import { createChange, standardChange } from '../support/changes';
import { createIncident, getIncident, patchIncident } from '../support/incidents';

/** ci_id, change_id and parent_problem_id are kept; a linked incident shows in the change's history. */
let app: TestApp;
let manager: string;

beforeAll(async () => {
  app = await startTestApp();
  manager = await app.token('rita@example.com', { roles: ['release-manager'] });
});
afterAll(() => app.close());

const history = async (changeId: string) => (await app.http('GET', `/prod/api/changes/${changeId}/history`, { token: manager })).body as Array<{ action: string; after: any; before: any }>;

test('an incident linked to a change appears in that change’s history, and leaves it when unlinked', async () => {
  const change = await createChange(app, manager, standardChange({ short_description: 'Upgrade the ingress controller' }));
  const incident = await createIncident(app, manager, {
    short_description: 'Ingress 502s after the upgrade',
    priority: 'P2',
    ci_id: 'CI0000789',
    parent_problem_id: 'PRB0000123',
    change_id: change.id,
  });
  expect(incident).toMatchObject({ ci_id: 'CI0000789', parent_problem_id: 'PRB0000123', change_id: change.id });
  const linked = (await history(change.id)).filter((e) => e.action.startsWith('incident.'));
  expect(linked).toEqual([
    expect.objectContaining({ action: 'incident.linked', after: { incident_id: incident.id, short_description: 'Ingress 502s after the upgrade', priority: 'P2', state: 'new' } }),
  ]);

  const other = await createChange(app, manager, standardChange({ short_description: 'Roll back the ingress controller' }));
  await patchIncident(app, manager, incident.id, { change_id: other.id });
  expect((await history(change.id)).map((e) => e.action)).toContain('incident.unlinked');
  expect((await history(other.id)).filter((e) => e.action === 'incident.linked').map((e) => e.after.incident_id)).toEqual([incident.id]);
  await patchIncident(app, manager, incident.id, { change_id: null });
  expect((await history(other.id)).map((e) => e.action).filter((a) => a.startsWith('incident.'))).toEqual(['incident.linked', 'incident.unlinked']);
  expect((await getIncident(app, manager, incident.id)).change_id).toBeNull();
});

test('a change_id that is not a change of this tenant is refused (422), and a malformed one is 400', async () => {
  const res = await app.http('POST', '/prod/api/incidents', { token: manager, body: { short_description: 'Linked to nothing', change_id: 'CHG9999999' } });
  expect(res.status).toBe(422);
  expect(res.body.error).toMatchObject({ code: 'UNKNOWN_CHANGE', details: { change_id: 'CHG9999999' } });
  expect((await app.http('POST', '/prod/api/incidents', { token: manager, body: { short_description: 'x', change_id: 'change-1' } })).status).toBe(400);
  const elsewhere = await app.token('rita@example.com', { tenant: 'another-tenant', roles: ['release-manager'] });
  // Numbers are per tenant: take one of theirs that this tenant does not also have.
  let theirs = await createChange(app, elsewhere, standardChange());
  const ours = async (id: string) => (await app.pool.query('SELECT 1 FROM changes WHERE tenant_id = $1 AND id = $2', [app.tenant, id])).rowCount;
  while (await ours(theirs.id)) theirs = await createChange(app, elsewhere, standardChange());
  expect((await app.http('POST', '/prod/api/incidents', { token: manager, body: { short_description: 'Cross-tenant link', change_id: theirs.id } })).status).toBe(422);
});

test('a change whose CI has an open P1/P2 incident gets a conflict factor in its risk', async () => {
  const fire = await createIncident(app, manager, { short_description: 'Cart service down', priority: 'P1', ci_id: 'CI0000321' });
  await createIncident(app, manager, { short_description: 'Cart typo', priority: 'P4', ci_id: 'CI0000321' });
  const change = await createChange(app, manager, standardChange({ short_description: 'Tune the cart service pool', ci_id: 'CI0000321', assignment_group: 'Cart Team' }));
  const factor = change.risk_assessment.factors.find((f: { factor: string }) => f.factor.startsWith('Open P1/P2'));
  expect(factor).toEqual({ factor: `Open P1/P2 incident on CI0000321 (${fire.id})`, weight: 0.1, score: 90 });
  expect(change.risk_assessment.recommendation).toContain(`Check with the owners of ${fire.id} before touching CI0000321.`);

  // Resolved, the incident no longer counts against the next assessment.
  await patchIncident(app, manager, fire.id, { state: 'in_progress' });
  await patchIncident(app, manager, fire.id, { state: 'resolved' });
  const calm = await createChange(app, manager, standardChange({ short_description: 'Tune the cart service pool again', ci_id: 'CI0000321', assignment_group: 'Cart Team' }));
  // Only the overlap with the first change is left.
  expect(calm.risk_assessment.factors.find((f: { weight: number; factor: string }) => f.factor.includes(change.id))).toMatchObject({ factor: expect.stringMatching(/^Overlaps 1 other change/), score: 60 });
  expect(calm.risk_score).toBeLessThan(change.risk_score);
});
