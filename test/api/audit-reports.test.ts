import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { verifyEvidence, type EvidencePacket } from '../../platform/evidence';
import { ensureSystemBinary } from '../../scripts/stack/system-package';
import { auditReportWorkflowId } from '../../workflows/audit-report-messages';
import { startTestApp, type TestApp } from '../support/app';
import { createChange, standardChange } from '../support/changes';
import { createIncident } from '../support/incidents';
import { eventually } from '../support/eventually';
import { testEnv } from '../support/env';
import { spawnTs } from '../support/processes';
import { approve, awaiting, reaches, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/**
 * Audit reports: the auditReport workflow gathers a scope's promotions with
 * their gates, approvals and jobs, re-verifies every evidence packet (one
 * edited in the database, one deleted), and renders a signed JSON and PDF;
 * the PDF's pages are rendered with poppler's pdftoppm and read with pdftotext.
 */
let app: TestApp;
let s: Scene;
let prod: Stage;
let qa: Stage;
let deployedId: string;
let rejectedId: string;
let changeId: string;
let incidentId: string;
let auditor: string;
let dir: string;
const started = new Date(Date.now() - 60_000).toISOString();
let ready: any;

const POLICY = { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true };

beforeAll(async () => {
  app = await startTestApp();
  dir = mkdtempSync(path.join(os.tmpdir(), 'audit-report-'));
  s = await scene(app);
  prod = await stage(s, { policy: POLICY });
  const dev = await s.token('dev@example.com', { roles: ['developer'] });
  const approver = await s.member('sre1@example.com', 'sre-team');
  // The production promotion names a change, and an incident is raised against that change.
  const sre = await s.token('sre@example.com', { roles: ['sre'] });
  changeId = (await createChange(app, sre, standardChange({ short_description: 'Ship web 1.0.0' }))).id;
  incidentId = (await createIncident(app, sre, { short_description: 'Checkout errors after the deploy', priority: 'P3', change_id: changeId })).id;
  const shipped = await awaiting(s, dev, prod, { reason: 'Ship it to production', changeId });
  await approve(s, shipped.id, approver, 'LGTM');
  await reaches(s, shipped.id, 'deployed');
  deployedId = shipped.id;
  // QA comes before Production in the pipeline: made after the production promotion, whose order gate it would have held.
  qa = await stage(s, { env: { name: 'QA', order: 0 }, policy: POLICY });
  const refused = await awaiting(s, dev, qa, { reason: 'Try it in QA' });
  await s.expect(200, 'POST', `/promotions/${refused.id}/reject`, approver, { reason: 'Not this week' });
  await reaches(s, refused.id, 'rejected');
  rejectedId = refused.id;
  auditor = await s.token('auditor@example.com', { roles: ['auditor'] });

  // One packet edited after signing (its reason rewritten), one decision's packet gone.
  const edited = await app.pool.query(
    `UPDATE evidence_packets SET packet = jsonb_set(packet::jsonb, '{content,reason}', '"Nothing to see here"')::json
      WHERE tenant_id = $1 AND promotion_id = $2 AND decision = 'approved'`,
    [s.tenant, deployedId],
  );
  expect(edited.rowCount).toBe(1);
  const deleted = await app.pool.query(`DELETE FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = $2`, [s.tenant, rejectedId]);
  expect(deleted.rowCount).toBe(1);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await app?.close();
});

const scopeOf = (extra: Record<string, unknown> = {}) => ({ scope: { environmentIds: [prod.env.id, qa.env.id], from: started, to: new Date(Date.now() + 3_600_000).toISOString(), ...extra } });

async function whenReady(id: string) {
  return eventually(
    async () => {
      const report = await s.expect(200, 'GET', `/audit-reports/${id}`, auditor);
      expect(report.status).toBe('ready');
      return report;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

describe('POST /audit-reports', () => {
  it('answers 202 queued; downloads are 409 until the workflow has made the report, which then shows its progress and signed manifest', async () => {
    await app.stopWorker();
    let id: string;
    try {
      const res = await s.call('POST', '/audit-reports', auditor, scopeOf());
      expect(res.status).toBe(202);
      id = res.body.data.id;
      expect(res.headers.get('location')).toBe(`/api/v1/audit-reports/${id}`);
      expect(res.body.data).toMatchObject({
        status: 'queued',
        scope: { environmentIds: [prod.env.id, qa.env.id], releaseId: null },
        progress: { step: 'queued' },
        summary: null,
        signature: null,
        downloads: null,
        error: null,
        requestedBy: 'auditor@example.com',
        completedAt: null,
      });
      const early = await s.refuse(409, 'GET', `/audit-reports/${id}/download?format=pdf`, auditor);
      expect(early).toMatchObject({ code: 'AUDIT_REPORT_NOT_READY', details: { status: 'queued' } });
    } finally {
      await app.startWorker();
    }
    ready = await whenReady(id!);
    expect(ready).toMatchObject({
      progress: { step: 'ready', promotions: 2, packets: 2, flagged: 2 },
      summary: { promotions: 2, approvals: 2, deploymentJobs: 1, changes: 1, incidents: 1, packets: 2, packetsVerified: 1, packetsFailed: 1, packetsMissing: 1 },
      downloads: { json: `/api/v1/audit-reports/${id}/download?format=json`, pdf: `/api/v1/audit-reports/${id}/download?format=pdf` },
      completedAt: expect.any(String),
    });
    const workflow = app.client.workflow.getHandle(auditReportWorkflowId(s.tenant, id!));
    expect(await workflow.result()).toEqual({ status: 'ready', promotions: 2, flagged: 2 });
    // The history carries ids and counts: no payload, decoded, names a release or holds a report's rows.
    const payloads = (await workflow.fetchHistory()).events!.flatMap((e) => [
      ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
      ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
      ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
      ...(e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? []),
    ]);
    expect(payloads.length).toBeGreaterThanOrEqual(8);
    for (const payload of await app.decode(payloads)) {
      const text = JSON.stringify(defaultPayloadConverter.fromPayload(payload) ?? null);
      expect(text.length).toBeLessThan(200);
      expect(text).not.toContain(prod.release.name);
    }
    const { typedSearchAttributes } = await workflow.describe();
    expect(typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['TollgateKind', 'audit-report'],
        ['TollgateResourceId', id!],
        ['TollgateState', 'ready'],
      ]),
    );
  });

  it('serves a JSON report listing the promotions, gates, approvals and jobs, flagging the edited packet and the missing one', async () => {
    const res = await s.call('GET', `${ready.downloads.json}`, auditor);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="audit-report-${ready.id}.json"`);
    const report = JSON.parse(res.text);
    expect(report.title).toBe('Tollgate audit report');
    expect(report.scope.environments).toEqual([
      { id: prod.env.id, name: 'Production' },
      { id: qa.env.id, name: 'QA' },
    ]);
    expect(report.promotions.map((p: any) => [p.id, p.status, p.approvals.length])).toEqual([
      [deployedId, 'deployed', 1],
      [rejectedId, 'rejected', 1],
    ]);
    expect(report.promotions[0].gates.length).toBeGreaterThan(0);
    expect(report.deploymentJobs).toEqual([expect.objectContaining({ promotionId: deployedId, environmentId: prod.env.id })]);
    expect(report.changes).toEqual([expect.objectContaining({ id: changeId, type: 'standard', shortDescription: 'Ship web 1.0.0' })]);
    expect(report.incidents).toEqual([expect.objectContaining({ id: incidentId, changeId, shortDescription: 'Checkout errors after the deploy' })]);
    expect(report.findings).toEqual([
      { promotionId: deployedId, releaseName: prod.release.name, packetId: expect.any(String), decision: 'approved', verdict: 'invalid', reason: 'contentHash does not match the content' },
      { promotionId: rejectedId, releaseName: qa.release.name, packetId: null, decision: 'rejected', verdict: 'missing', reason: 'no signed packet records its rejected decision' },
    ]);
    expect(report.promotions[0].evidence.map((e: any) => [e.decision, e.verdict])).toEqual([
      ['approved', 'invalid'],
      ['deployed', 'valid'],
    ]);
  });

  it('signs the bundle: the manifest names each file’s sha256 and verifies against the evidence key set, offline too', async () => {
    const manifest = ready.signature;
    const jwks = await s.expect(200, 'GET', '/evidence/jwks.json', undefined);
    expect(manifest).toMatchObject({ type: 'audit_report', version: '1.1', signatureAlgorithm: 'ECDSA-P256-SHA256', signerKeyRef: jwks.keys[0].kid, content: { reportId: ready.id } });
    for (const format of ['json', 'pdf'] as const) {
      const res = await fetch(`${app.url}${ready.downloads[format]}`, { headers: { authorization: `Bearer ${auditor}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(manifest.content.files[format]).toEqual({ sha256, size: bytes.length });
      expect(res.headers.get('x-report-sha256')).toBe(sha256);
    }
    expect(await verifyEvidence(manifest as unknown as EvidencePacket, jwks)).toMatchObject({ valid: true });
    expect(await verifyEvidence({ ...manifest, content: { ...manifest.content, files: { ...manifest.content.files, pdf: { sha256: '0'.repeat(64), size: 1 } } } } as unknown as EvidencePacket, jwks)).toMatchObject({ valid: false });
    const file = path.join(dir, 'manifest.json');
    writeFileSync(file, JSON.stringify(manifest));
    const proc = spawnTs('scripts/verify-evidence.ts', { DATA_DIR: testEnv.dataDir }, [file, '--jwks', `${app.url}/api/v1/evidence/jwks.json`]);
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain(`VALID    ${manifest.id}`);
  });

  it('renders a PDF whose pages show the title, the scope, a row per promotion and the failed-signature flag', async () => {
    const pdftoppm = ensureSystemBinary('pdftoppm', 'poppler-utils');
    const pdftotext = ensureSystemBinary('pdftotext', 'poppler-utils');
    const res = await fetch(`${app.url}${ready.downloads.pdf}`, { headers: { authorization: `Bearer ${auditor}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const pdf = path.join(dir, 'report.pdf');
    writeFileSync(pdf, Buffer.from(await res.arrayBuffer()));

    // Every page renders, and none is blank.
    execFileSync(pdftoppm, ['-r', '30', '-gray', pdf, path.join(dir, 'page')]);
    const pages = readdirSync(dir).filter((f) => /^page-\d+\.pgm$/.test(f));
    expect(pages.length).toBeGreaterThanOrEqual(1);
    for (const page of pages) expect(darkPixels(readFileSync(path.join(dir, page)))).toBeGreaterThan(100);

    const first = execFileSync(pdftotext, ['-layout', '-f', '1', '-l', '1', pdf, '-'], { encoding: 'utf8' });
    expect(first).toContain('Tollgate audit report');
    expect(first).toContain(`Scope: environments Production (${prod.env.id}), QA (${qa.env.id})`);
    expect(first).toMatch(/Period: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ to \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(first).toContain('Release: all releases');
    const text = execFileSync(pdftotext, ['-layout', pdf, '-'], { encoding: 'utf8' });
    const rowOf = (release: string) => text.split('\n').filter((line) => line.includes(release) && /\d{4}-\d\d-\d\d \d\d:\d\d/.test(line));
    expect(rowOf(prod.release.name)).toEqual([expect.stringMatching(/Production\s+deployed\s+.*SIGNATURE FAILED/)]);
    expect(rowOf(qa.release.name)).toEqual([expect.stringMatching(/QA\s+rejected\s+.*MISSING/)]);
    expect(text).toContain('Evidence: 2 packets, 1 verified, 1 failed signature checks, 1 missing');
    expect(text).toContain(`${changeId} (standard, `);
    expect(text).toContain(`${incidentId} (P3, new) on ${changeId}: Checkout errors after the deploy`);
    expect(text).toMatch(/SIGNATURE FAILED: approved decision of \S+ \(promotion [^)]+\), packet [^:]+:\s+contentHash does not match the content/);
  });

  it('marks a report failed when its workflow was ended outside Tollgate (Terminate in the Temporal UI)', async () => {
    await app.stopWorker();
    try {
      const created = await s.expect(202, 'POST', '/audit-reports', auditor, scopeOf());
      await app.client.workflow.getHandle(auditReportWorkflowId(s.tenant, created.id)).terminate('wrong scope');
      const report = await s.expect(200, 'GET', `/audit-reports/${created.id}`, auditor);
      expect(report).toMatchObject({ status: 'failed', progress: { step: 'failed' }, completedAt: expect.any(String) });
      expect(report.error).toMatch(/^Its workflow was terminated outside Tollgate by .+: wrong scope$/);
      expect(await s.refuse(409, 'GET', `/audit-reports/${created.id}/download?format=json`, auditor)).toMatchObject({ code: 'AUDIT_REPORT_NOT_READY', details: { status: 'failed' } });
    } finally {
      await app.startWorker();
    }
  });

  it('narrows to one release', async () => {
    const created = await s.expect(202, 'POST', '/audit-reports', auditor, scopeOf({ releaseId: qa.release.id }));
    const report = await whenReady(created.id);
    expect(report.summary).toMatchObject({ promotions: 1, packetsMissing: 1, packetsFailed: 0 });
    expect(report.scope.releaseId).toBe(qa.release.id);
  });

  it('refuses bad scopes with 400: no environment, a malformed or NUL id, year 0000, an empty or too long period, unknown fields', async () => {
    const bodies = [
      {},
      { scope: { ...scopeOf().scope, environmentIds: [] } },
      { scope: { ...scopeOf().scope, environmentIds: ['prod'] } },
      { scope: { ...scopeOf().scope, environmentIds: [`${prod.env.id}\u0000`] } },
      { scope: { ...scopeOf().scope, environmentIds: [prod.env.id, prod.env.id] } },
      { scope: { ...scopeOf().scope, from: '0000-01-01T00:00:00Z' } },
      { scope: { ...scopeOf().scope, from: '2026-01-01T00:00:00\u0000Z' } },
      { scope: { ...scopeOf().scope, from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
      { scope: { ...scopeOf().scope, from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
      { scope: { ...scopeOf().scope, releaseId: 'v1' } },
      { scope: scopeOf().scope, format: 'pdf' },
    ];
    for (const body of bodies) {
      const res = await s.call('POST', '/audit-reports', auditor, body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
  });

  it('is 404 for an unknown environment or release, 403 without audit-report:create', async () => {
    expect((await s.refuse(404, 'POST', '/audit-reports', auditor, scopeOf({ environmentIds: [prod.env.id, randomUUID()] }))).code).toBe('ENVIRONMENT_NOT_FOUND');
    expect((await s.refuse(404, 'POST', '/audit-reports', auditor, scopeOf({ releaseId: randomUUID() }))).code).toBe('RELEASE_NOT_FOUND');
    const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
    expect((await s.refuse(403, 'POST', '/audit-reports', viewer, scopeOf())).message).toContain('audit-report:create');
    // Another tenant's environments are unknown here.
    const other = await scene(app);
    expect((await other.refuse(404, 'POST', '/audit-reports', await other.token('a@example.com', { roles: ['auditor'] }), scopeOf())).code).toBe('ENVIRONMENT_NOT_FOUND');
  });
});

describe('GET /audit-reports/{id} and /download', () => {
  it('are 404 for an unknown id or another tenant’s report, 400 for a malformed id or format, 403 without audit-report:read', async () => {
    expect((await s.refuse(404, 'GET', `/audit-reports/${randomUUID()}`, auditor)).code).toBe('AUDIT_REPORT_NOT_FOUND');
    expect((await s.refuse(404, 'GET', `/audit-reports/${randomUUID()}/download?format=json`, auditor)).code).toBe('AUDIT_REPORT_NOT_FOUND');
    const other = await scene(app);
    const stranger = await other.token('a@example.com', { roles: ['auditor'] });
    expect((await other.refuse(404, 'GET', `/audit-reports/${ready.id}`, stranger)).code).toBe('AUDIT_REPORT_NOT_FOUND');
    expect((await other.refuse(404, 'GET', `/audit-reports/${ready.id}/download`, stranger)).code).toBe('AUDIT_REPORT_NOT_FOUND');
    await s.refuse(400, 'GET', '/audit-reports/not-a-uuid', auditor);
    await s.refuse(400, 'GET', '/audit-reports/%00/download', auditor);
    await s.refuse(400, 'GET', `/audit-reports/${ready.id}/download?format=docx`, auditor);
    await s.refuse(400, 'GET', `/audit-reports/${ready.id}/download?format=pdf%00`, auditor);
    const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
    await s.refuse(403, 'GET', `/audit-reports/${ready.id}`, viewer);
    await s.refuse(403, 'GET', `/audit-reports/${ready.id}/download`, viewer);
  });
});

/** Pixels darker than mid-grey in a binary PGM (P5) as pdftoppm -gray writes it. */
function darkPixels(pgm: Buffer): number {
  const header = pgm.subarray(0, 64).toString('latin1').match(/^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/);
  if (!header) throw new Error('not a binary PGM');
  const [whole, width, height] = header;
  const pixels = pgm.subarray(whole.length, whole.length + Number(width) * Number(height));
  let dark = 0;
  for (const p of pixels) if (p < 128) dark += 1;
  return dark;
}
