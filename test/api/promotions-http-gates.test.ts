import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { workflowId } from '../../domain/workflow-ids';
import { startTestApp, type TestApp } from '../support/app';
import { approve, awaiting, reaches, request, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * External checks as promotion gates: an approval policy names an http-gate
 * integration (a change-freeze service here, a node:http server the test
 * turns OK and not OK), the gate is called where the gate inputs are gathered,
 * and a promotion is refused, blocked at approval, or let through by what the
 * service answers, with the bearer token sent to the service and nowhere else.
 */
let app: TestApp;
let server: Server;
let base: string;
const TOKEN = `gate-token-${Math.random().toString(36).slice(2)}`;
/** What the service answers, per path; and the requests it saw. */
const answers = new Map<string, number>();
const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const status = answers.get(req.url ?? '') ?? 404;
    res.writeHead(status, { 'content-type': 'text/plain' });
    // A careless service that echoes the request: the token must still not reach a reason.
    res.end(status === 200 ? 'ok' : `freeze in force (you sent ${req.headers.authorization ?? 'nothing'})`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => server?.close(resolve));
});

let paths = 0;
/** An http-gate integration of the scene's tenant on its own path of the service, answering `status` until told otherwise. */
async function gateIntegration(s: Scene, status: number, extra: Record<string, unknown> = {}) {
  const path = `/freeze-${++paths}`;
  answers.set(path, status);
  const integration = await s.expect(201, 'POST', '/integrations', s.admin, {
    typeId: 'http-gate',
    name: `change-freeze-${paths}`,
    config: { url: `${base}${path}`, bearerToken: TOKEN, expectStatus: [200], timeoutMs: 2000, ...extra },
  });
  return { integration, path, answer: (s: number) => answers.set(path, s) };
}

const httpGates = (gates: any[]) => gates.filter((g) => g.gateName === 'http-gate');
const FREEZE_MESSAGE = 'wait until the change-freeze service says OK';

describe('http gates of an approval policy', () => {
  it('refuse a request while the service is not OK, block an approval when it turns, and let it through once it is OK again', async () => {
    const s = await scene(app);
    const gate = await gateIntegration(s, 503);
    const st = await stage(s, { policy: { requiredApprovals: 1, approverGroups: ['sre'], httpGates: [{ name: 'change-freeze', integrationId: gate.integration.id, message: FREEZE_MESSAGE }] } });
    expect(st.policy.httpGates).toEqual([{ name: 'change-freeze', integrationId: gate.integration.id, message: FREEZE_MESSAGE, blocking: true }]);
    const dev = await s.token('dev@example.com', { roles: ['developer'] });

    // The preview calls the service and says why it fails and what would unblock it.
    const preview = await s.expect(200, 'POST', '/promotions/preview-gates', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id });
    expect(preview.wouldPass).toBe(false);
    const [failing] = httpGates(preview.gates);
    expect(failing).toMatchObject({
      gateName: 'http-gate',
      passed: false,
      blocking: true,
      message: expect.stringMatching(new RegExp(`^change-freeze: ${FREEZE_MESSAGE} \\(GET ${base}/freeze-\\d+ answered 503 \\(expected 200\\)`)),
      details: { name: 'change-freeze', integrationId: gate.integration.id, integrationName: gate.integration.name, status: 503, checkedAt: expect.any(String) },
    });
    expect(failing.details.reason).toContain('[redacted]');

    // A blocking gate refuses the request with the same gates.
    const refused = await s.refuse(422, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship' });
    expect(refused.code).toBe('PROMOTION_BLOCKED');
    expect(httpGates(refused.details.gates)).toEqual([expect.objectContaining({ passed: false, details: expect.objectContaining({ status: 503 }) })]);

    // OK: the request goes through and waits for its approval.
    gate.answer(200);
    const p = await awaiting(s, dev, st);
    expect(httpGates(p.gates)).toEqual([
      { gateName: 'http-gate', passed: true, blocking: false, message: `change-freeze: ${gate.integration.name} answered 200`, details: expect.objectContaining({ status: 200, reason: null }) },
    ]);

    // The freeze starts: the approval (which gathers the inputs again) is refused, and the promotion waits.
    gate.answer(503);
    const sre = await s.member('sre1@example.com', 'sre');
    const blocked = await approve(s, p.id, sre);
    expect(blocked.status).toBe(422);
    expect(blocked.body.error).toMatchObject({ code: 'PROMOTION_BLOCKED', message: expect.stringContaining(`change-freeze: ${FREEZE_MESSAGE}`) });
    expect((await s.expect(200, 'GET', `/promotions/${p.id}`)).status).toBe('awaiting_approval');

    // The service turns OK: the approval re-evaluates the gates, passes, and the promotion deploys.
    gate.answer(200);
    expect((await approve(s, p.id, sre)).status).toBe(200);
    const deployed = await reaches(s, p.id, 'deployed');
    expect(httpGates(deployed.gates)).toEqual([expect.objectContaining({ passed: true })]);
    expect(deployed.gateInputs.httpGateChecks).toEqual([
      { name: 'change-freeze', integrationId: gate.integration.id, integrationName: gate.integration.name, passed: true, status: 200, reason: null, checkedAt: expect.any(String) },
    ]);

    // The decision record and the signed evidence list the gate.
    const decision = await s.expect(200, 'GET', `/promotions/${p.id}/decision`);
    expect(httpGates(decision.gates)).toEqual([expect.objectContaining({ passed: true, details: expect.objectContaining({ name: 'change-freeze', status: 200 }) })]);
    expect(decision.policy.httpGates).toEqual(st.policy.httpGates);
    const evidence = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=approved`);
    expect(httpGates(evidence.content.gates)).toEqual(httpGates(decision.gates));

    // The token went to the service, and nowhere a user or the history can read it.
    expect(seen.filter((r) => r.path === gate.path).every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    for (const answer of [preview, refused, p, deployed, decision, evidence, await s.expect(200, 'GET', `/integrations/${gate.integration.id}`)]) {
      expect(JSON.stringify(answer)).not.toContain(TOKEN);
    }
    const stored = await app.pool.query(
      `SELECT (SELECT count(*)::int FROM audit_log WHERE tenant_id = $1 AND concat(before::text, after::text) LIKE '%' || $2 || '%') AS audit,
              (SELECT count(*)::int FROM promotions WHERE tenant_id = $1 AND body::text LIKE '%' || $2 || '%') AS promotions,
              (SELECT count(*)::int FROM evidence_packets WHERE tenant_id = $1 AND packet::text LIKE '%' || $2 || '%') AS evidence`,
      [s.tenant, TOKEN],
    );
    expect(stored.rows[0]).toEqual({ audit: 0, promotions: 0, evidence: 0 });
    // The integration's own test makes the same call, and its answer quotes the service without the token.
    gate.answer(503);
    const tested = await s.expect(200, 'POST', `/integrations/${gate.integration.id}/test`);
    expect(tested).toMatchObject({ ok: false, reason: expect.stringContaining('answered 503 (expected 200): freeze in force (you sent Bearer [redacted])') });
    gate.answer(200);
    expect(await s.expect(200, 'POST', `/integrations/${gate.integration.id}/test`)).toMatchObject({ ok: true, details: { status: 200, expected: [200] } });
    const history = await app.client.workflow.getHandle(workflowId(s.tenant, 'promotion', p.id)).fetchHistory();
    const payloads = payloadsIn(history);
    expect(payloads.length).toBeGreaterThan(5);
    const decoded = (await app.decode(payloads)).map((payload) => JSON.stringify(defaultPayloadConverter.fromPayload(payload) ?? null)).join('\n');
    expect(decoded).toContain('change-freeze');
    expect(decoded).toContain('answered 503');
    expect(decoded).not.toContain(TOKEN);
  });

  it('a non-blocking gate is listed as failed and lets the promotion go on', async () => {
    const s = await scene(app);
    const gate = await gateIntegration(s, 500);
    const st = await stage(s, { policy: { requiredApprovals: 0, httpGates: [{ name: 'slo-budget', integrationId: gate.integration.id, blocking: false }] } });
    const p = await request(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
    const deployed = await reaches(s, p.id, 'deployed');
    expect(httpGates(deployed.gates)).toEqual([
      expect.objectContaining({ passed: false, blocking: false, message: expect.stringMatching(new RegExp(`^slo-budget: ${gate.integration.name} must answer OK \\(GET .* answered 500`)) }),
    ]);
  });

  it('a service that does not answer in the integration’s timeout fails the gate with the reason', async () => {
    const s = await scene(app);
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/slow`;
      const integration = await s.expect(201, 'POST', '/integrations', s.admin, { typeId: 'http-gate', name: 'slow-gate', config: { url, timeoutMs: 300 } });
      const st = await stage(s, { policy: { requiredApprovals: 1, httpGates: [{ name: 'slow', integrationId: integration.id }] } });
      const started = Date.now();
      const preview = await s.expect(200, 'POST', '/promotions/preview-gates', s.admin, { releaseId: st.release.id, targetEnvironmentId: st.env.id });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(httpGates(preview.gates)).toEqual([expect.objectContaining({ passed: false, blocking: true, details: expect.objectContaining({ status: null, reason: expect.stringContaining('timed out after 300 ms') }) })]);
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  it('a policy is saved only with http gates that name http-gate integrations of the tenant', async () => {
    const s = await scene(app);
    const gate = await gateIntegration(s, 200);
    const webhook = await s.expect(201, 'POST', '/integrations', s.admin, { typeId: 'webhook', name: 'chat', config: { url: `${base}/hook` } });
    const other = await scene(app);
    const foreign = (await gateIntegration(other, 200)).integration;
    const st = await stage(s, {});
    const body = (httpGates: unknown) => ({ name: 'prod', environmentId: st.env.id, requiredApprovals: 1, httpGates });

    const shape = await s.call('POST', '/approval-policies', s.admin, body([{ name: 'x' }, { name: 'X', integrationId: 'nope', blocking: 'yes' }]));
    expect(shape.status).toBe(400);
    // A gate naming no target matches the document (integrationId or pluginInstanceId); only the save refuses it (422).
    expect(shape.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['httpGates.1.blocking', 'httpGates.1.integrationId']);
    const twice = await s.call('POST', '/approval-policies', s.admin, body([{ name: 'freeze', integrationId: gate.integration.id }, { name: 'FREEZE', integrationId: gate.integration.id }]));
    expect(twice.status).toBe(400);
    expect(twice.body.error.validationErrors).toEqual([expect.objectContaining({ field: 'httpGates.1.name' })]);

    const missing = '00000000-0000-4000-8000-00000000abcd';
    const refused = await s.refuse(422, 'POST', '/approval-policies', s.admin, body([
      { name: 'ok', integrationId: gate.integration.id },
      { name: 'gone', integrationId: missing },
      { name: 'chat', integrationId: webhook.id },
      { name: 'theirs', integrationId: foreign.id },
    ]));
    expect(refused).toMatchObject({ code: 'HTTP_GATE_INTEGRATION_INVALID' });
    expect(refused.details.fields).toEqual([
      { field: 'httpGates.1.integrationId', code: 'INTEGRATION_NOT_FOUND', message: `no integration ${missing} in this tenant` },
      { field: 'httpGates.2.integrationId', code: 'NOT_AN_HTTP_GATE', message: 'integration chat is a webhook integration (notifier), not an http gate' },
      { field: 'httpGates.3.integrationId', code: 'INTEGRATION_NOT_FOUND', message: `no integration ${foreign.id} in this tenant` },
    ]);
    expect((await s.expect(200, 'GET', `/approval-policies?environmentId=${st.env.id}`)).length).toBe(0);

    // An edit is judged the same way, and leaves the policy as it was.
    const saved = await s.expect(201, 'POST', '/approval-policies', s.admin, body([{ name: 'ok', integrationId: gate.integration.id }]));
    const edit = await s.refuse(422, 'PUT', `/approval-policies/${saved.id}`, s.admin, body([{ name: 'chat', integrationId: webhook.id }]));
    expect(edit.details.fields).toEqual([expect.objectContaining({ field: 'httpGates.0.integrationId', code: 'NOT_AN_HTTP_GATE' })]);
    expect(await s.expect(200, 'GET', `/approval-policies/${saved.id}`)).toMatchObject({ version: 1, httpGates: [{ name: 'ok', integrationId: gate.integration.id, message: null, blocking: true }] });
  });

  it('an integration a policy names cannot be deleted; one that went missing fails its gate with the reason', async () => {
    const s = await scene(app);
    const gate = await gateIntegration(s, 200);
    const st = await stage(s, { policy: { requiredApprovals: 1, httpGates: [{ name: 'freeze', integrationId: gate.integration.id }] } });

    const inUse = await s.refuse(409, 'DELETE', `/integrations/${gate.integration.id}`);
    expect(inUse).toMatchObject({ code: 'INTEGRATION_IN_USE', details: { policies: [{ id: st.policy.id, name: st.policy.name }] } });
    expect(inUse.message).toContain(st.policy.name);
    await s.expect(200, 'GET', `/integrations/${gate.integration.id}`);

    // Gone behind the API's back (a restore, a hand edit): the gate fails closed and says why, no 500.
    await app.pool.query('DELETE FROM integrations WHERE tenant_id = $1 AND id = $2', [s.tenant, gate.integration.id]);
    const preview = await s.expect(200, 'POST', '/promotions/preview-gates', s.admin, { releaseId: st.release.id, targetEnvironmentId: st.env.id });
    expect(httpGates(preview.gates)).toEqual([
      expect.objectContaining({ passed: false, blocking: true, details: expect.objectContaining({ status: null, reason: expect.stringContaining(`integration ${gate.integration.id} no longer exists`) }) }),
    ]);

    // Once no policy names it, an integration is deleted as before.
    const second = await gateIntegration(s, 200);
    await s.expect(200, 'PUT', `/approval-policies/${st.policy.id}`, s.admin, { name: st.policy.name, environmentId: st.env.id, requiredApprovals: 1, httpGates: [{ name: 'freeze', integrationId: second.integration.id }] });
    await s.expect(200, 'PUT', `/approval-policies/${st.policy.id}`, s.admin, { name: st.policy.name, environmentId: st.env.id, requiredApprovals: 1 });
    expect((await s.call('DELETE', `/integrations/${second.integration.id}`, s.admin)).status).toBe(204);
  });
});

/** Every payload of a history's events (inputs, results, updates, signals), found wherever an event keeps them. */
function payloadsIn(history: unknown): Payload[] {
  const found: Payload[] = [];
  const walk = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach(walk);
    const record = value as Record<string, unknown>;
    if (Array.isArray(record.payloads)) found.push(...(record.payloads as Payload[]));
    for (const [key, child] of Object.entries(record)) if (key !== 'payloads') walk(child);
  };
  walk(history);
  return found;
}
