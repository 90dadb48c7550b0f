import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ROLE_PERMISSIONS, hasPermission, permissionsFor, type Permission } from '../../domain/permissions';
import { patchChange, reviewChange } from '../../workflows/changes/messages';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, HOUR, iso, standardChange, step } from '../support/changes';

/**
 * Walks the role table against every change route: each role gets 403 (naming
 * the permission) exactly when it lacks what the route needs. A role that may
 * act is stopped by something cheap instead — a state the command does not
 * apply to — so two fixture changes serve every row and nothing moves.
 */
let app: TestApp;
let draft: string;
let scheduled: string;
const tokens: Record<string, string> = {};
/** Every role of the table, and a token naming no role it knows (every role can read). */
const NO_ROLE = 'no-known-role';
const ROLES = [...Object.keys(ROLE_PERMISSIONS), NO_ROLE];

beforeAll(async () => {
  app = await startTestApp();
  const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
  draft = (await createChange(app, owner, auroraChange({ short_description: 'Matrix draft', cab_approvers: ['named@example.com'] }))).id;
  // A window an hour away: no timer moves the fixture while the matrix runs.
  scheduled = (await createChange(app, owner, standardChange({ short_description: 'Matrix scheduled', scheduled_start: iso(HOUR), scheduled_end: iso(2 * HOUR) }))).id;
  await step(app, owner, 'POST', `${scheduled}/submit`);
  for (const role of ROLES) tokens[role] = await app.token(`${role}@example.com`, { roles: [role] });
});
afterAll(() => app.close());

interface Row {
  name: string;
  method: string;
  path: () => string;
  body?: unknown;
  permission: Permission;
  /** What a role holding the permission gets: the route's answer, or the cheap refusal that follows authorization. */
  allowed: number;
}

const review = { outcome: 'successful', notes: 'Checked' };
const ROWS: Row[] = [
  { name: 'list', method: 'GET', path: () => '/prod/api/changes?limit=1', permission: 'change:read', allowed: 200 },
  { name: 'get', method: 'GET', path: () => `/prod/api/changes/${draft}`, permission: 'change:read', allowed: 200 },
  { name: 'risk', method: 'GET', path: () => `/prod/api/changes/${draft}/risk`, permission: 'change:read', allowed: 200 },
  { name: 'risk history', method: 'GET', path: () => `/prod/api/changes/${draft}/risk/history`, permission: 'change:read', allowed: 200 },
  { name: 'history (StackFlow)', method: 'GET', path: () => `/prod/api/changes/${draft}/history`, permission: 'audit:read', allowed: 200 },
  { name: 'history (Stella)', method: 'GET', path: () => `/api/v1/changes/${draft}/history`, permission: 'audit:read', allowed: 200 },
  { name: 'create', method: 'POST', path: () => '/prod/api/changes', body: standardChange({ short_description: 'Matrix create' }), permission: 'change:create', allowed: 201 },
  { name: 'PATCH fields', method: 'PATCH', path: () => `/prod/api/changes/${scheduled}`, body: { description: 'edited' }, permission: 'change:update', allowed: 409 },
  { name: 'PATCH state draft (revise)', method: 'PATCH', path: () => `/prod/api/changes/${scheduled}`, body: { state: 'draft' }, permission: 'change:update', allowed: 409 },
  { name: 'submit', method: 'POST', path: () => `/prod/api/changes/${scheduled}/submit`, permission: 'change:update', allowed: 409 },
  { name: 'submit-cab', method: 'POST', path: () => `/prod/api/changes/${scheduled}/submit-cab`, body: {}, permission: 'change:update', allowed: 422 },
  { name: 'cancel', method: 'POST', path: () => `/prod/api/changes/${scheduled}/cancel`, body: {}, permission: 'change:update', allowed: 409 },
  { name: 'PATCH state cancelled', method: 'PATCH', path: () => `/prod/api/changes/${scheduled}`, body: { state: 'cancelled' }, permission: 'change:update', allowed: 409 },
  ...(['in_progress', 'completed', 'failed', 'post_review', 'closed'] as const).map(
    (state): Row => ({ name: `PATCH state ${state}`, method: 'PATCH', path: () => `/prod/api/changes/${draft}`, body: { state }, permission: 'change:implement', allowed: 409 }),
  ),
  { name: 'PATCH state rejected', method: 'PATCH', path: () => `/prod/api/changes/${draft}`, body: { state: 'rejected' }, permission: 'change:update', allowed: 409 },
  { name: 'PATCH review', method: 'PATCH', path: () => `/prod/api/changes/${draft}`, body: { review }, permission: 'change:review', allowed: 409 },
  { name: 'POST review', method: 'POST', path: () => `/prod/api/changes/${draft}/review`, body: review, permission: 'change:review', allowed: 409 },
  { name: 'approve', method: 'POST', path: () => `/prod/api/changes/${draft}/approve`, body: {}, permission: 'change:approve', allowed: 409 },
  { name: 'reject', method: 'POST', path: () => `/prod/api/changes/${draft}/reject`, body: { reason: 'no' }, permission: 'change:approve', allowed: 409 },
  // The CMDB: a CI that does not exist makes the answer after authorization a cheap 404.
  { name: 'CMDB list', method: 'GET', path: () => '/prod/api/cmdb/cis?limit=1', permission: 'cmdb:read', allowed: 200 },
  { name: 'CMDB impact (Stella)', method: 'GET', path: () => '/api/v1/cmdb/cis/CI9999999/impact', permission: 'cmdb:read', allowed: 404 },
  { name: 'CMDB PATCH', method: 'PATCH', path: () => '/prod/api/cmdb/cis/CI9999999', body: { description: 'x' }, permission: 'cmdb:write', allowed: 404 },
  { name: 'CMDB DELETE (Stella)', method: 'DELETE', path: () => '/api/v1/cmdb/cis/CI9999999', permission: 'cmdb:write', allowed: 404 },
  {
    name: 'CMDB relationship',
    method: 'POST',
    path: () => '/prod/api/cmdb/cis/CI9999999/relationships',
    body: { type: 'depends_on', target_id: 'CI9999998' },
    permission: 'cmdb:write',
    allowed: 404,
  },
  // The knowledge base: an article id no tenant has, so an allowed edit stops at 404 and nothing moves.
  { name: 'knowledge list', method: 'GET', path: () => '/prod/api/knowledge/articles?limit=1', permission: 'knowledge:read', allowed: 200 },
  { name: 'knowledge get', method: 'GET', path: () => '/api/v1/knowledge/articles/KB9999999', permission: 'knowledge:read', allowed: 404 },
  { name: 'knowledge versions', method: 'GET', path: () => '/prod/api/knowledge/articles/KB9999999/versions', permission: 'knowledge:read', allowed: 404 },
  { name: 'AI query', method: 'POST', path: () => '/prod/api/ai/query', body: { question: 'matrix' }, permission: 'knowledge:read', allowed: 200 },
  { name: 'knowledge create', method: 'POST', path: () => '/prod/api/knowledge/articles', body: { title: 'Matrix article', body: 'Text' }, permission: 'knowledge:write', allowed: 201 },
  { name: 'knowledge PATCH', method: 'PATCH', path: () => '/prod/api/knowledge/articles/KB9999999', body: { body: 'edited' }, permission: 'knowledge:write', allowed: 404 },
  { name: 'knowledge delete', method: 'DELETE', path: () => '/api/v1/knowledge/articles/KB9999999', permission: 'knowledge:write', allowed: 404 },
  // Integrations and plugins: ids no tenant has, so an allowed write stops at 404 and nothing moves.
  { name: 'integration types', method: 'GET', path: () => '/api/v1/integration-types', permission: 'integration:read', allowed: 200 },
  { name: 'integration get', method: 'GET', path: () => '/api/v1/integrations/00000000-0000-4000-8000-000000000000', permission: 'integration:read', allowed: 404 },
  { name: 'integration delete', method: 'DELETE', path: () => '/api/v1/integrations/00000000-0000-4000-8000-000000000000', permission: 'integration:write', allowed: 404 },
  { name: 'plugins list', method: 'GET', path: () => '/api/v1/plugins', permission: 'plugin:read', allowed: 200 },
  { name: 'plugin instance delete', method: 'DELETE', path: () => '/api/v1/plugin-instances/00000000-0000-4000-8000-000000000000', permission: 'plugin:write', allowed: 404 },
];

test('the matrix covers every change, audit, CMDB, knowledge, integration and plugin permission any role holds', () => {
  const held = new Set(Object.values(ROLE_PERMISSIONS).flat().filter((p) => /^(change|audit|cmdb|knowledge|integration|plugin):/.test(p)));
  expect([...new Set(ROWS.map((r) => r.permission))].sort()).toEqual([...held].sort());
});

test.each(ROWS.map((row) => [row.name, row] as const))('%s: 403 exactly for the roles without the permission', async (_name, row) => {
  const answers = await Promise.all(
    ROLES.map(async (role) => {
      const res = await app.http(row.method, row.path(), { token: tokens[role], body: row.body });
      return { role, res, may: hasPermission({ permissions: permissionsFor([role]) }, row.permission) };
    }),
  );
  const wrong = answers
    .filter(({ res, may }) => (may ? res.status !== row.allowed : res.status !== 403 || res.body.error?.details?.required !== row.permission || !namesWhoMay(res.body.error, row.permission)))
    .map(({ role, res, may }) => `${role} (${may ? `may, expected ${row.allowed}` : 'may not, expected 403'}): ${res.status} ${res.text.slice(0, 200)}`);
  expect(wrong).toEqual([]);
  // Both kinds of role exist for every row, so each row tests a refusal and a pass.
  expect(new Set(answers.map((a) => a.may))).toEqual(new Set([true, false]));
});

/** A 403 names the roles that have the permission (details.allowedRoles, and in its message), each one truly holding it. */
function namesWhoMay(error: { message?: string; details?: { allowedRoles?: unknown } } | undefined, permission: Permission): boolean {
  const roles = error?.details?.allowedRoles;
  if (!Array.isArray(roles) || roles.length < 2) return false;
  return roles.every((role) => hasPermission({ permissions: permissionsFor([role]) }, permission) && error?.message?.includes(role));
}

test('nothing the matrix sent moved the fixtures', async () => {
  const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
  expect((await app.http('GET', `/prod/api/changes/${draft}`, { token: owner })).body).toMatchObject({ state: 'draft', version: 1, approvals: [] });
  expect((await app.http('GET', `/prod/api/changes/${scheduled}`, { token: owner })).body).toMatchObject({ state: 'scheduled', version: 2, description: null });
});

test('a named approver needs no CAB role: refused by the state, not by the table', async () => {
  const named = await app.token('named@example.com', { roles: ['viewer'] });
  const res = await app.http('POST', `/prod/api/changes/${draft}/approve`, { token: named, body: {} });
  expect(res.status).toBe(409);
  expect(res.body.error.code).toBe('NOT_UNDER_REVIEW');
});

test('the workflow enforces the same table for a command that reaches it by any other path', async () => {
  const handle = app.client.workflow.getHandle(`${app.tenant}:change:${scheduled}`);
  const developer = { actor: { userId: 'dev@example.com', email: 'dev@example.com', permissions: permissionsFor(['developer']) } };
  const start = await handle.executeUpdate(patchChange, { args: [{ state: 'in_progress' }, developer] }).catch((e) => e);
  expect(start).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(start.cause).toMatchObject({ type: 'FORBIDDEN', details: [{ kind: 'forbidden', details: { required: 'change:implement' } }] });
  const review = await handle.executeUpdate(reviewChange, { args: [{ outcome: 'successful', notes: 'n' }, developer] }).catch((e) => e);
  expect(review.cause).toMatchObject({ type: 'FORBIDDEN', details: [{ kind: 'forbidden', details: { required: 'change:review' } }] });
});

describe('deploy hooks and freeze overrides (deployment:hook-write, deployment:override-freeze)', () => {
  /** What a role gets: the first permission it lacks of `needs` is named in a 403, else `allowed`. */
  const expected = (role: string, needs: Permission[], allowed: number) => {
    const missing = needs.find((p) => !hasPermission({ permissions: permissionsFor([role]) }, p));
    return missing ? { status: 403, required: missing } : { status: allowed, required: undefined };
  };

  test('setting a component’s deploy hook: release:write and deployment:hook-write', async () => {
    const answers = await Promise.all(
      ROLES.map(async (role) => {
        const res = await app.http('POST', '/api/v1/components', { token: tokens[role], body: { name: `hooked-${role}`, deployHook: 'sh ./deploy.sh' } });
        return { role, got: { status: res.status, required: res.body.error?.details?.required }, want: expected(role, ['release:write', 'deployment:hook-write'], 201) };
      }),
    );
    expect(answers.filter((a) => a.got.status !== a.want.status || a.got.required !== a.want.required)).toEqual([]);
    expect(answers.filter((a) => a.got.status === 201).map((a) => a.role).sort()).toEqual(['admin', 'release-manager', 'super_admin']);
  });

  test('a rollback during a freeze: deployment:operate and deployment:override-freeze', async () => {
    const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
    const env = (await app.http('POST', '/api/v1/environments', { token: owner, body: { name: 'Matrix frozen', order: 4242, requiredApprovals: 0 } })).body.data;
    const releaseId = '00000000-0000-4000-8000-00000000beef';
    await app.pool.query(
      `INSERT INTO releases (tenant_id, id, name, version, components, created_by) VALUES ($1, $2, 'matrix-release', '1.0.0', '[]', 'owner@example.com')`,
      [app.tenant, releaseId],
    );
    await app.pool.query(`INSERT INTO release_deployments (tenant_id, release_id, environment_id, status) VALUES ($1, $2, $3, 'deployed')`, [app.tenant, releaseId, env.id]);
    const freeze = { name: 'Matrix freeze', start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 3_600_000).toISOString() };
    expect((await app.http('POST', `/api/v1/environments/${env.id}/freeze-windows`, { token: owner, body: freeze })).status).toBe(201);
    const answers = [];
    for (const role of ROLES) {
      const res = await app.http('POST', '/api/v1/rollbacks', { token: tokens[role], body: { environmentId: env.id, releaseId, reason: `matrix ${role}` } });
      answers.push({ role, got: { status: res.status, required: res.body.error?.details?.required }, want: expected(role, ['deployment:operate', 'deployment:override-freeze'], 201) });
    }
    expect(answers.filter((a) => a.got.status !== a.want.status || a.got.required !== a.want.required)).toEqual([]);
    expect(answers.filter((a) => a.got.status === 201).map((a) => a.role).sort()).toEqual(['admin', 'release-manager', 'super_admin']);
  });
});

describe('workflow templates (template:read, template:write)', () => {
  let template: string;
  const invalid = { name: 'Matrix invalid', nodes: [{ id: 'a', type: 'wait', dependsOn: ['a'], inputs: { duration: '1s' } }] };
  beforeAll(async () => {
    const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
    const res = await app.http('POST', '/api/v1/workflow-templates', { token: owner, body: { name: 'Matrix template', nodes: [{ id: 'a', type: 'wait', inputs: { duration: '1s' } }] } });
    expect(res.status).toBe(201);
    template = res.body.data.id;
  });

  // A writer is stopped by the template's own problem (422) or a template that does not exist (404), so nothing is written.
  const TEMPLATE_ROWS: Row[] = [
    { name: 'list', method: 'GET', path: () => '/api/v1/workflow-templates', permission: 'template:read', allowed: 200 },
    { name: 'get', method: 'GET', path: () => `/api/v1/workflow-templates/${template}?version=1`, permission: 'template:read', allowed: 200 },
    { name: 'versions', method: 'GET', path: () => `/api/v1/workflow-templates/${template}/versions`, permission: 'template:read', allowed: 200 },
    { name: 'validate', method: 'POST', path: () => `/api/v1/workflow-templates/${template}/validate`, body: invalid, permission: 'template:read', allowed: 200 },
    { name: 'step types', method: 'GET', path: () => '/api/v1/step-types', permission: 'template:read', allowed: 200 },
    { name: 'a step type', method: 'GET', path: () => '/api/v1/step-types/approval', permission: 'template:read', allowed: 200 },
    { name: 'create', method: 'POST', path: () => '/api/v1/workflow-templates', body: invalid, permission: 'template:write', allowed: 422 },
    { name: 'update', method: 'PUT', path: () => `/api/v1/workflow-templates/${template}`, body: invalid, permission: 'template:write', allowed: 422 },
    { name: 'delete', method: 'DELETE', path: () => `/api/v1/workflow-templates/${crypto.randomUUID()}`, permission: 'template:write', allowed: 404 },
  ];

  test.each(TEMPLATE_ROWS.map((row) => [row.name, row] as const))('%s: 403 exactly for the roles without the permission', async (_name, row) => {
    const wrong: string[] = [];
    const kinds = new Set<boolean>();
    for (const role of ROLES) {
      const res = await app.http(row.method, row.path(), { token: tokens[role], body: row.body });
      const may = hasPermission({ permissions: permissionsFor([role]) }, row.permission);
      kinds.add(may);
      const right = may ? res.status === row.allowed : res.status === 403 && res.body.error?.details?.required === row.permission && namesWhoMay(res.body.error, row.permission);
      if (!right) wrong.push(`${role} (${may ? `may, expected ${row.allowed}` : 'may not, expected 403'}): ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
    expect(kinds).toEqual(new Set([true, false]));
  });

  test('the rows cover both template permissions, and the fixture did not move', async () => {
    expect([...new Set(TEMPLATE_ROWS.map((r) => r.permission))].sort()).toEqual(['template:read', 'template:write']);
    const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
    expect((await app.http('GET', `/api/v1/workflow-templates/${template}`, { token: owner })).body.data).toMatchObject({ version: 1, name: 'Matrix template' });
  });
});

test('cmdb:write is held by release managers, ITSM managers and SREs (and admins); every reader holds cmdb:read', () => {
  const writers = Object.keys(ROLE_PERMISSIONS).filter((role) => hasPermission({ permissions: permissionsFor([role]) }, 'cmdb:write'));
  expect(writers.sort()).toEqual(['admin', 'itsm_manager', 'release-manager', 'sre', 'super_admin']);
  const readers = Object.keys(ROLE_PERMISSIONS).filter((role) => hasPermission({ permissions: permissionsFor([role]) }, 'change:read'));
  expect(readers.filter((role) => !hasPermission({ permissions: permissionsFor([role]) }, 'cmdb:read'))).toEqual([]);
});
