import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordSticker } from '../../activities/deployments/stickers';
import { startTestApp, type TestApp } from '../support/app';
import { claim, jobBody, putJob, putTask, taskBody } from '../support/deployment-rows';
import { testEnv } from '../support/env';
import { spawnTs } from '../support/processes';
import { approve, awaiting, reaches, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/**
 * Release evidence reads: the promotions' signed packets (list with filters,
 * detail, download as a file that `npm run verify-evidence` checks offline)
 * and every target's version-sticker history.
 */
let app: TestApp;
let s: Scene;
let st: Stage;
let promotionId: string;
let viewer: string;
let dir: string;

beforeAll(async () => {
  app = await startTestApp();
  dir = mkdtempSync(path.join(os.tmpdir(), 'relevi-'));
  s = await scene(app);
  st = await stage(s, { policy: { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true } });
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st, { reason: 'Ship the evidence' });
  await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'), 'LGTM');
  await reaches(s, p.id, 'deployed');
  promotionId = p.id;
  viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await app?.close();
});

const list = async (query: string, token = viewer) => s.call('GET', `/evidence-packets${query}`, token);

describe('GET /evidence-packets', () => {
  it('lists every packet of the tenant, newest first, with its promotion, release and environment', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    expect(res.body.data.map((p: any) => p.decision)).toEqual(['deployed', 'approved']);
    expect(res.body.data[1]).toEqual({
      id: expect.any(String),
      type: 'release_decision',
      decision: 'approved',
      promotionId,
      releaseId: st.release.id,
      releaseName: st.release.name,
      environmentId: st.env.id,
      environmentName: 'Production',
      contentHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      signerKeyRef: expect.any(String),
      generatedAt: expect.any(String),
    });
    expect(res.body.meta.pagination).toMatchObject({ page: 1, totalItems: 2, hasNext: false });
    const paged = await list('?pageSize=1&page=2&sort=generated_at');
    expect(paged.body.data.map((p: any) => p.decision)).toEqual(['deployed']);
    expect(paged.body.meta.pagination).toMatchObject({ page: 2, pageSize: 1, totalItems: 2, totalPages: 2, hasPrevious: true, hasNext: false });
  });

  it('filters by release, environment, promotion, type, decision and period', async () => {
    const count = async (query: string) => (await list(query)).body.data.length;
    expect(await count(`?releaseId=${st.release.id}`)).toBe(2);
    expect(await count(`?environmentId=${st.env.id}`)).toBe(2);
    expect(await count(`?promotionId=${promotionId}`)).toBe(2);
    expect(await count('?type=release_decision&decision=approved')).toBe(1);
    expect(await count(`?releaseId=${randomUUID()}`)).toBe(0);
    expect(await count(`?environmentId=${randomUUID()}`)).toBe(0);
    expect(await count('?from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z')).toBe(0);
    expect(await count(`?from=2000-01-01T00:00:00Z&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toBe(2);
    expect(await count('?releaseId=&decision=')).toBe(2);
  });

  it('refuses malformed filters with 400: not a uuid, NUL characters, year 0000, an empty period, unknown values', async () => {
    for (const query of [
      '?releaseId=not-a-uuid',
      `?environmentId=${randomUUID()}%00`,
      '?promotionId=%00',
      '?from=0000-01-01T00:00:00Z',
      '?to=0000-12-31T23:59:59Z',
      '?from=2026-01-01T00:00:00%00Z',
      '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      '?type=audit',
      '?decision=maybe',
      '?sort=id',
      '?pageSize=0',
    ]) {
      const res = await list(query);
      expect([query, res.status]).toEqual([query, 400]);
      expect(res.body).toMatchObject({ success: false, error: { code: expect.any(String) } });
    }
  });

  it('is 403 without evidence:read, and shows another tenant nothing', async () => {
    const registrar = await s.token('registrar@example.com', { roles: ['agent-registrar'] });
    const refused = await s.refuse(403, 'GET', '/evidence-packets', registrar);
    expect(refused.message).toContain('evidence:read');
    const other = await scene(app);
    expect((await other.expect(200, 'GET', '/evidence-packets', await other.token('v@example.com', { roles: ['viewer'] }))).length).toBe(0);
  });
});

describe('GET /evidence-packets/{id} and /download', () => {
  it('answers the packet with where to download it; 404 for an unknown id or another tenant’s, 400 for a malformed one', async () => {
    const [packet] = (await list('?decision=approved')).body.data;
    const detail = await s.expect(200, 'GET', `/evidence-packets/${packet.id}`, viewer);
    expect(detail).toMatchObject({ ...packet, download: `/api/v1/evidence-packets/${packet.id}/download` });
    expect(detail.packet).toMatchObject({ id: packet.id, type: 'release_decision', version: '1.1', content: { promotionId, decision: 'approved', reason: 'Ship the evidence' } });
    expect(detail.packet).toEqual(await s.expect(200, 'GET', `/promotions/${promotionId}/evidence?decision=approved`));

    expect((await s.refuse(404, 'GET', `/evidence-packets/${randomUUID()}`, viewer)).code).toBe('EVIDENCE_NOT_FOUND');
    const other = await scene(app);
    const stranger = await other.token('v@example.com', { roles: ['viewer'] });
    expect((await other.refuse(404, 'GET', `/evidence-packets/${packet.id}`, stranger)).code).toBe('EVIDENCE_NOT_FOUND');
    expect((await other.refuse(404, 'GET', `/evidence-packets/${packet.id}/download`, stranger)).code).toBe('EVIDENCE_NOT_FOUND');
    await s.refuse(400, 'GET', '/evidence-packets/not-a-uuid', viewer);
    await s.refuse(400, 'GET', '/evidence-packets/%00/download', viewer);
    await s.refuse(403, 'GET', `/evidence-packets/${packet.id}/download`, await s.token('registrar@example.com', { roles: ['agent-registrar'] }));
  });

  it('downloads a file with its detached signature and key id, which npm run verify-evidence verifies (and refuses once changed)', async () => {
    const [packet] = (await list('?decision=deployed')).body.data;
    const res = await s.call('GET', `/evidence-packets/${packet.id}/download`, viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="evidence-${packet.id}.json"`);
    expect(res.headers.get('x-evidence-key-id')).toBe(packet.signerKeyRef);
    expect(res.headers.get('x-evidence-signature')).toBe(res.body.signature);
    expect(res.headers.get('x-evidence-signature-algorithm')).toBe('ECDSA-P256-SHA256');
    expect(res.body).toMatchObject({ id: packet.id, content: { decision: 'deployed', promotionId } });

    const file = path.join(dir, `evidence-${packet.id}.json`);
    writeFileSync(file, res.text);
    const verify = async (f: string) => {
      const proc = spawnTs('scripts/verify-evidence.ts', { DATA_DIR: testEnv.dataDir }, [f, '--jwks', `${app.url}/api/v1/evidence/jwks.json`]);
      return { code: await proc.exited, out: proc.output() };
    };
    const good = await verify(file);
    expect(good.out).toContain(`VALID    ${packet.id}`);
    expect(good.code).toBe(0);

    const changed = path.join(dir, 'changed.json');
    writeFileSync(changed, res.text.replace('"deployed"', '"approved"'));
    const bad = await verify(changed);
    expect(bad.out).toContain('INVALID');
    expect(bad.code).toBe(1);
  });
});

describe('GET /version-stickers', () => {
  let edge: any;
  let web1: any;
  let web2: any;
  const tasks: string[] = [];

  /** A sticker written by the deployments module's own writer, as a succeeded task leaves it. */
  async function deployed(target: any, release: { id: string; name: string; version: string }, at: string) {
    const job = await putJob(app.pool, s.tenant, jobBody(s.tenant, { environmentId: edge.id, releaseId: release.id, releaseName: release.name, releaseVersion: release.version }));
    const task = await putTask(app.pool, s.tenant, taskBody(job, { targetId: target.id, targetName: target.name }));
    await claim(app.pool, s.tenant, task);
    await recordSticker(app.pool, {
      tenantId: s.tenant,
      task,
      release: { ...release, components: [{ componentId: st.component.id, name: st.component.name, version: release.version, digest: `sha256:${'b'.repeat(64)}`, deployHook: null }] },
      deployedAt: at,
    });
    tasks.push(task.id);
    return task.id;
  }

  beforeAll(async () => {
    edge = await s.expect(201, 'POST', '/environments', s.admin, { name: 'Edge', order: 9 });
    web1 = await s.expect(201, 'POST', '/targets', s.admin, { name: 'edge-web-1', environmentId: edge.id });
    web2 = await s.expect(201, 'POST', '/targets', s.admin, { name: 'edge-web-2', environmentId: edge.id });
    const v1 = { id: st.release.id, name: st.release.name, version: '1.0.0' };
    const v2 = { id: randomUUID(), name: 'edge-2.0.0', version: '2.0.0' };
    await deployed(web1, v1, '2026-03-01T10:00:00.000Z');
    await deployed(web2, v1, '2026-03-01T10:05:00.000Z');
    await deployed(web1, v2, '2026-03-02T09:00:00.000Z');
  });

  it('lists every target’s sticker history, newest first, marking the current one', async () => {
    const res = await s.call('GET', `/version-stickers?environmentId=${edge.id}`, viewer);
    expect(res.status).toBe(200);
    expect(res.body.data.map((e: any) => [e.targetName, e.version, e.current])).toEqual([
      ['edge-web-1', '2.0.0', true],
      ['edge-web-2', '1.0.0', true],
      ['edge-web-1', '1.0.0', false],
    ]);
    expect(res.body.data[2]).toEqual({
      id: tasks[0],
      targetId: web1.id,
      targetName: 'edge-web-1',
      environmentId: edge.id,
      releaseId: st.release.id,
      releaseName: st.release.name,
      version: '1.0.0',
      digests: { [st.component.name]: `sha256:${'b'.repeat(64)}` },
      jobId: expect.any(String),
      deployedAt: '2026-03-01T10:00:00.000Z',
      current: false,
    });
    expect(res.body.meta.pagination).toMatchObject({ totalItems: 3 });
    const count = async (query: string) => (await s.expect(200, 'GET', `/version-stickers${query}`, viewer)).length;
    expect(await count(`?targetId=${web1.id}`)).toBe(2);
    expect(await count(`?releaseId=${st.release.id}&environmentId=${edge.id}`)).toBe(2);
    expect(await count(`?environmentId=${randomUUID()}`)).toBe(0);
    const oldest = await s.expect(200, 'GET', `/version-stickers?environmentId=${edge.id}&sort=deployed_at&pageSize=1`, viewer);
    expect(oldest.map((e: any) => e.id)).toEqual([tasks[0]]);
  });

  it('answers one entry by id; 404 unknown or another tenant’s, 400 malformed filters and ids, 403 without deployment:read', async () => {
    expect(await s.expect(200, 'GET', `/version-stickers/${tasks[2]}`, viewer)).toMatchObject({ id: tasks[2], targetId: web1.id, version: '2.0.0', current: true });
    expect((await s.refuse(404, 'GET', `/version-stickers/${randomUUID()}`, viewer)).code).toBe('STICKER_NOT_FOUND');
    const other = await scene(app);
    const stranger = await other.token('v@example.com', { roles: ['viewer'] });
    expect((await other.refuse(404, 'GET', `/version-stickers/${tasks[2]}`, stranger)).code).toBe('STICKER_NOT_FOUND');
    expect(await other.expect(200, 'GET', '/version-stickers', stranger)).toEqual([]);
    for (const query of ['?environmentId=nope', '?targetId=%00', `?releaseId=${randomUUID()}%00`, '?sort=target', '?page=0']) await s.refuse(400, 'GET', `/version-stickers${query}`, viewer);
    await s.refuse(400, 'GET', '/version-stickers/%00', viewer);
    await s.refuse(403, 'GET', '/version-stickers', await s.token('registrar@example.com', { roles: ['agent-registrar'] }));
  });
});
