import { startTestApp, type TestApp } from '../support/app';
import { auroraChange } from '../support/changes';
import { until } from '../support/eventually';
import { awaiting, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * One inbox: GET /my/pending-approvals lists the promotions the caller may
 * approve, the changes under CAB review waiting on their decision and the
 * workflow runs' approval steps that would take it, each
 * with `kind` and `awaiting`, oldest first, filterable by kind and paged.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

async function changeInCab(s: Scene, token: string, overrides: Record<string, unknown>) {
  const created = await s.expect(201, 'POST', '/prod/api/changes', token, auroraChange(overrides));
  await s.expect(200, 'POST', `/prod/api/changes/${created.id}/submit`, token);
  const inCab = await s.expect(200, 'POST', `/prod/api/changes/${created.id}/submit-cab`, token, {});
  expect(inCab.state).toBe('cab_review');
  return inCab;
}

test('promotions and CAB decisions in one list, with what each still awaits', async () => {
  const s = await scene(app);
  const prod = await stage(s, { policy: { requiredApprovals: 2, approverGroups: ['sre-team'], requireSeparationOfDuties: true } });
  const requester = await s.token('alice@example.com', { roles: ['engineer'] });
  const promotion = await awaiting(s, requester, prod);
  const named = await changeInCab(s, requester, { cab_approvers: ['carol@example.com', 'dan@example.com'] });
  const byQuorum = await changeInCab(s, requester, { short_description: 'Rotate the TLS certificates' });

  const carol = await s.token('carol@example.com', { roles: ['viewer'], claims: { groups: ['sre-team'] } });
  const dan = await s.token('dan@example.com', { roles: ['viewer'] });
  const erin = await s.token('erin@example.com', { roles: ['cab-member'] });
  const inbox = async (token: string, query = '') => {
    const res = await s.call('GET', `/my/pending-approvals${query}`, token);
    expect(res.status).toBe(200);
    return res.body;
  };
  const ids = async (token: string, query = '') => (await inbox(token, query)).data.map((i: any) => `${i.kind}:${i.id}`);

  const carols = await inbox(carol);
  expect(carols.data.map((i: any) => `${i.kind}:${i.id}`)).toEqual([`promotion:${promotion.id}`, `change:${named.id}`]);
  const [p, c] = carols.data;
  // The promotion keeps every field it has elsewhere, so existing clients read it as before.
  const { kind: _kind, awaiting: promotionAwaits, ...promotionFields } = p;
  expect(promotionFields).toEqual(await s.expect(200, 'GET', `/promotions/${promotion.id}`));
  expect(promotionAwaits).toEqual({ approvals: 2, approvers: [], approverGroups: ['sre-team'] });
  expect(c).toMatchObject({ id: named.id, state: 'cab_review', cab_approvers: ['carol@example.com', 'dan@example.com'] });
  expect(c.awaiting).toEqual({ approvals: 2, approvers: ['carol@example.com', 'dan@example.com'], approverGroups: [] });

  // A CAB member decides the change that names no approvers; a named approver only their own.
  expect(await ids(erin)).toEqual([`change:${byQuorum.id}`]);
  expect((await inbox(erin)).data[0].awaiting).toEqual({ approvals: 1, approvers: [], approverGroups: [] });
  expect(await ids(dan)).toEqual([`change:${named.id}`]);
  // The requester decides neither their promotion (SoD) nor their changes.
  expect(await ids(requester)).toEqual([]);

  // Filters and pages.
  expect(await ids(carol, '?kind=change')).toEqual([`change:${named.id}`]);
  expect(await ids(carol, '?kind=promotion')).toEqual([`promotion:${promotion.id}`]);
  const first = await inbox(carol, '?pageSize=1');
  expect(first.data.map((i: any) => i.id)).toEqual([promotion.id]);
  expect(first.meta.pagination).toMatchObject({ page: 1, pageSize: 1, totalItems: 2, totalPages: 2, hasNext: true });
  const second = await inbox(carol, '?pageSize=1&page=2');
  expect(second.data.map((i: any) => i.id)).toEqual([named.id]);
  expect(second.meta.pagination).toMatchObject({ hasNext: false, hasPrevious: true });
  expect((await s.call('GET', '/my/pending-approvals?kind=incident', carol)).status).toBe(400);

  // The StackFlow dialect pages by cursor over the same list.
  const sf = await s.call('GET', '/prod/api/my/pending-approvals?limit=1', carol);
  expect(sf.status).toBe(200);
  expect(sf.body.data.map((i: any) => i.id)).toEqual([promotion.id]);
  expect(sf.body.total).toBe(2);
  const next = await s.call('GET', `/prod/api/my/pending-approvals?limit=1&cursor=${sf.body.next_cursor}`, carol);
  expect(next.body.data.map((i: any) => i.id)).toEqual([named.id]);
  expect(next.body.next_cursor).toBeNull();

  // Carol decides the change: it leaves her inbox, and Dan's shows who is still missing.
  await s.expect(200, 'POST', `/prod/api/changes/${named.id}/approve`, carol, { comment: 'ok' });
  expect(await ids(carol)).toEqual([`promotion:${promotion.id}`]);
  expect((await inbox(dan)).data[0].awaiting).toEqual({ approvals: 1, approvers: ['dan@example.com'], approverGroups: [] });

  // An approval of the promotion: it leaves Carol's inbox, and another member sees one approval missing.
  await s.expect(200, 'POST', `/promotions/${promotion.id}/approve`, carol, {});
  expect(await ids(carol)).toEqual([]);
  const other = await s.token('sam@example.com', { roles: ['viewer'], claims: { groups: ['sre-team'] } });
  expect((await inbox(other)).data[0]).toMatchObject({ kind: 'promotion', id: promotion.id, awaiting: { approvals: 1 } });
});

test('a workflow run’s waiting approval step: listed for whoever may decide it, with its kind and decision links; gone once decided', async () => {
  const s = await scene(app);
  const rita = await s.token('rita@example.com', { roles: ['release-manager'] });
  const bob = await s.token('bob@example.com', { roles: ['viewer'], claims: { groups: ['release-leads'] } });
  const vic = await s.token('vic@example.com', { roles: ['viewer'] });
  const template = await s.expect(201, 'POST', '/workflow-templates', rita, {
    name: 'sign then soak',
    nodes: [
      { id: 'sign_off', type: 'approval', inputs: { approvals: 1, groups: ['release-leads'], expiresIn: '1h', message: 'ship 2.4?' } },
      { id: 'soak', type: 'wait', dependsOn: ['sign_off'], inputs: { duration: '1s' } },
    ],
  });
  const run = await s.expect(201, 'POST', '/workflow-runs', rita, { templateId: template.id, parameters: {} });
  const listed = await until('the step in Bob’s inbox', async () => {
    const res = await s.call('GET', '/my/pending-approvals?kind=workflow-step', bob);
    return res.body.data?.length ? res.body.data : undefined;
  }, 30_000);
  expect(listed).toEqual([
    expect.objectContaining({
      kind: 'workflow-step',
      id: `${run.id}/sign_off`,
      runId: run.id,
      nodeId: 'sign_off',
      templateId: template.id,
      templateName: 'sign then soak',
      requestedBy: 'rita@example.com',
      approval: { required: 1, groups: ['release-leads'], separationOfDuties: true, expiresAt: expect.any(String), message: 'ship 2.4?' },
      awaiting: { approvals: 1, approvers: [], approverGroups: ['release-leads'] },
      links: { step: `/api/v1/workflow-runs/${run.id}/steps/sign_off`, approve: `/api/v1/workflow-runs/${run.id}/steps/sign_off/approve`, reject: `/api/v1/workflow-runs/${run.id}/steps/sign_off/reject` },
    }),
  ]);
  // The whole inbox holds it too; the other kinds' filters do not.
  expect((await s.expect(200, 'GET', '/my/pending-approvals', bob)).map((i: any) => i.kind)).toEqual(['workflow-step']);
  expect(await s.expect(200, 'GET', '/my/pending-approvals?kind=promotion', bob)).toEqual([]);
  // Not in the group, or the run's requester under SoD: not theirs to decide.
  expect(await s.expect(200, 'GET', '/my/pending-approvals', vic)).toEqual([]);
  expect(await s.expect(200, 'GET', '/my/pending-approvals?kind=workflow-step', rita)).toEqual([]);
  // The link is where the decision goes; once decided, the step leaves the inbox.
  await s.expect(200, 'POST', listed[0].links.approve, bob, { comment: 'go' });
  expect(await s.expect(200, 'GET', '/my/pending-approvals', bob)).toEqual([]);
});
