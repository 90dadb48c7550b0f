import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JWK } from 'jose';
import { dataPaths, loadConfig } from '../../platform/config';
import { evidenceVerificationKeys, readEvidenceKey, verifyEvidence } from '../../platform/evidence';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { awaiting, reaches, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/**
 * Rotating the evidence key keeps what it signed verifiable: packets signed
 * under a key now listed in EVIDENCE_RETIRED_KEYS verify in the JWKS the API
 * serves, in audit reports and offline, beside packets of the new key; the
 * dev key rotates with `npm run rotate-evidence-key`.
 */
const POLICY = { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true };
const ROOT = path.resolve(__dirname, '../..');

function newKey(kid: string): JWK {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256' };
}

async function rejected(s: Scene, st: Stage, reason: string): Promise<string> {
  const dev = await s.token(`dev-${randomUUID().slice(0, 4)}@example.com`, { roles: ['developer'] });
  const approver = await s.member(`sre-${randomUUID().slice(0, 4)}@example.com`, 'sre-team');
  const p = await awaiting(s, dev, st, { reason });
  await s.expect(200, 'POST', `/promotions/${p.id}/reject`, approver, { reason: 'Not now' });
  await reaches(s, p.id, 'rejected');
  return p.id;
}

describe('after a rotation', () => {
  const oldKey = newKey(`evidence-old-${randomUUID().slice(0, 6)}`);
  const newer = newKey(`evidence-new-${randomUUID().slice(0, 6)}`);
  let before: TestApp | undefined;
  let after: TestApp;
  let s: Scene;
  let st: Stage;
  let oldId: string;
  let newId: string;
  const started = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    before = await startTestApp({ env: { EVIDENCE_SIGNING_KEY: JSON.stringify(oldKey) } });
    const first = await scene(before);
    st = await stage(first, { policy: POLICY });
    oldId = await rejected(first, st, 'Signed under the old key');
    await before.close();
    before = undefined;
    // The old key given whole: only its public half may be kept and served.
    after = await startTestApp({ env: { EVIDENCE_SIGNING_KEY: JSON.stringify(newer), EVIDENCE_RETIRED_KEYS: JSON.stringify([oldKey]) } });
    s = await scene(after, first.tenant);
    newId = await rejected(s, st, 'Signed under the new key');
  });
  afterAll(async () => {
    await before?.close();
    await after?.close();
  });

  it('serves the current key first, then the retired one, public halves only', async () => {
    const res = await after.http('GET', '/api/v1/evidence/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys.map((k: JWK) => k.kid)).toEqual([newer.kid, oldKey.kid]);
    for (const k of res.body.keys) expect(k).not.toHaveProperty('d');
  });

  it('verifies packets of both keys against that set, and only the old key’s packet needs the retired key', async () => {
    const jwks = (await after.http('GET', '/api/v1/evidence/jwks.json')).body;
    const packets = await after.pool.query('SELECT promotion_id, packet FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = ANY($2::uuid[])', [s.tenant, [oldId, newId]]);
    expect(packets.rows.map((r) => [r.promotion_id, r.packet.signerKeyRef]).sort()).toEqual([[oldId, oldKey.kid], [newId, newer.kid]].sort());
    for (const row of packets.rows) expect(await verifyEvidence(row.packet, jwks)).toMatchObject({ valid: true });
    const onlyCurrent = { keys: jwks.keys.slice(0, 1) };
    const old = packets.rows.find((r) => r.promotion_id === oldId)!.packet;
    expect(await verifyEvidence(old, onlyCurrent)).toEqual({ valid: false, reason: `unknown signing key "${oldKey.kid}"` });
  });

  it('has an audit report verify both, flagging nothing', async () => {
    const auditor = await s.token('auditor@example.com', { roles: ['auditor'] });
    const queued = await s.expect(202, 'POST', '/audit-reports', auditor, { scope: { environmentIds: [st.env.id], from: started, to: new Date(Date.now() + 3_600_000).toISOString() } });
    const ready = await eventually(
      async () => {
        const report = await s.expect(200, 'GET', `/audit-reports/${queued.id}`, auditor);
        expect(report.status).toBe('ready');
        return report;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(ready.summary).toMatchObject({ promotions: 2, packets: 2, packetsVerified: 2, packetsFailed: 0, packetsMissing: 0 });
    const report = JSON.parse((await s.call('GET', ready.downloads.json, auditor)).text);
    expect(report.findings).toEqual([]);
  });
});

describe('npm run rotate-evidence-key', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'evidence-rotate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const rotate = () => {
    const env = { ...process.env, DATA_DIR: dir, EVIDENCE_SIGNING_KEY: '', EVIDENCE_RETIRED_KEYS: '' };
    try {
      return { code: 0, out: execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/rotate-evidence-key.ts')], { cwd: ROOT, env, encoding: 'utf8', stdio: 'pipe' }) };
    } catch (err) {
      const e = err as { status: number; stderr: string; stdout: string };
      return { code: e.status, out: `${e.stdout}${e.stderr}` };
    }
  };

  it('refuses when there is no key yet, then sets each old dev key aside and keeps them all verifiable', () => {
    expect(rotate()).toEqual({ code: 1, out: expect.stringContaining('no evidence key') });
    const config = { DATA_DIR: dir };
    const first = readEvidenceKey(config);
    const once = rotate();
    expect(once.code).toBe(0);
    const second = readEvidenceKey(config);
    expect(second.kid).not.toBe(first.kid);
    expect(once.out).toContain(`"${first.kid}" is retired`);
    expect(rotate().code).toBe(0);
    const third = readEvidenceKey(config);
    expect(evidenceVerificationKeys(config).keys.map((k) => k.kid)).toEqual([third.kid, first.kid, second.kid]);
    const retiredFile = readFileSync(dataPaths(dir).evidenceRetiredKeys, 'utf8');
    expect(retiredFile).not.toContain('"d"');
    expect(existsSync(dataPaths(dir).evidencePrivateKey)).toBe(true);
  });

  it('prints the configured key’s public half instead of touching it, and config refuses a bad retired-key list', () => {
    const key = newKey('configured-key');
    const env = { ...process.env, DATA_DIR: dir, EVIDENCE_SIGNING_KEY: JSON.stringify(key) };
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/rotate-evidence-key.ts')], { cwd: ROOT, env, encoding: 'utf8' });
    expect(out).toContain('EVIDENCE_RETIRED_KEYS');
    expect(out).toContain('"kid":"configured-key"');
    expect(out).not.toContain(String(key.d));
    expect(() => loadConfig({ DATA_DIR: dir, EVIDENCE_RETIRED_KEYS: '{"keys":[{"kty":"RSA"}]}' })).toThrow(/EVIDENCE_RETIRED_KEYS.*JWKS/);
  });
});
