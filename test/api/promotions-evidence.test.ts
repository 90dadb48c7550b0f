import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { canonicalJson } from '../../domain/canonical-json';
import { verifyEvidence, type EvidencePacket } from '../../platform/evidence';
import { startTestApp, type TestApp } from '../support/app';
import { testEnv } from '../support/env';
import { spawnTs } from '../support/processes';
import { approve, awaiting, reaches, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/** Signed evidence: every decision's packet verifies against the published JWKS, offline too; a one-byte change, to content or envelope, does not. */
let app: TestApp;
let s: Scene;
let st: Stage;
let promotionId: string;
let approved: EvidencePacket;
let jwks: { keys: any[] };
let dir: string;

beforeAll(async () => {
  app = await startTestApp();
  dir = mkdtempSync(path.join(os.tmpdir(), 'evidence-'));
  s = await scene(app);
  st = await stage(s, { policy: { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true } });
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st, { reason: 'Deploying v1.0.0 with critical bug fix' });
  await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'), 'LGTM');
  await reaches(s, p.id, 'deployed');
  promotionId = p.id;
  approved = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=approved`);
  jwks = await s.expect(200, 'GET', '/evidence/jwks.json', undefined);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await app?.close();
});

/** The packet's JSON text with one byte of its content changed. */
function tampered(packet: EvidencePacket): EvidencePacket {
  const text = JSON.stringify(packet);
  const at = text.indexOf('critical bug fix');
  return JSON.parse(`${text.slice(0, at)}C${text.slice(at + 1)}`);
}

describe('evidence packets', () => {
  it('record the decision, its inputs and approvals, and verify against GET /evidence/jwks.json', async () => {
    expect(approved).toMatchObject({ type: 'release_decision', version: '1.1', signatureAlgorithm: 'ECDSA-P256-SHA256', generatedAt: expect.any(String) });
    expect(approved.content).toMatchObject({
      promotionId,
      decision: 'approved',
      status: 'approved',
      reason: 'Deploying v1.0.0 with critical bug fix',
      release: { id: st.release.id, name: st.release.name, components: [{ componentId: st.component.id, version: '1.0.0', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }] },
      targetEnvironment: { id: st.env.id, name: 'Production' },
      policy: { policyId: st.policy.id, policyVersion: 1, requiredApprovals: 1 },
      gateInputs: { securityScan: { criticalCount: 0, highCount: 0 } },
      approvals: [{ approverId: 'sre1@example.com', approverEmail: 'sre1@example.com', decision: 'approved', comment: 'LGTM', approvedAt: expect.any(String) }],
    });
    expect(approved.contentHash).toBe(`sha256:${createHash('sha256').update(canonicalJson(approved.content)).digest('hex')}`);
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: approved.signerKeyRef, alg: 'ES256', use: 'sig' })]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(await verifyEvidence(approved, jwks)).toEqual({ valid: true, kid: approved.signerKeyRef });

    const packets = await app.pool.query('SELECT decision, packet FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = $2 ORDER BY generated_at', [s.tenant, promotionId]);
    expect(packets.rows.map((r) => r.decision)).toEqual(['approved', 'deployed']);
    for (const r of packets.rows) expect(await verifyEvidence(r.packet, jwks)).toMatchObject({ valid: true });
    expect((await s.expect(200, 'GET', `/promotions/${promotionId}/evidence`)).content).toMatchObject({ decision: 'deployed', status: 'deployed' });
  });

  it('fails verification after a one-byte change, a re-hashed change, a changed signature or an unknown key', async () => {
    expect(await verifyEvidence(tampered(approved), jwks)).toEqual({ valid: false, reason: 'contentHash does not match the content' });
    const rehashed = tampered(approved);
    rehashed.contentHash = `sha256:${createHash('sha256').update(canonicalJson(rehashed.content)).digest('hex')}`;
    expect(await verifyEvidence(rehashed, jwks)).toEqual({ valid: false, reason: 'signature does not verify' });
    const sig = Buffer.from(approved.signature, 'base64');
    sig[10] ^= 1;
    expect(await verifyEvidence({ ...approved, signature: sig.toString('base64') }, jwks)).toEqual({ valid: false, reason: 'signature does not verify' });
    const other = await otherJwks(approved.signerKeyRef);
    expect(await verifyEvidence(approved, other)).toEqual({ valid: false, reason: 'signature does not verify' });
    expect(await verifyEvidence(approved, { keys: [] })).toEqual({ valid: false, reason: `unknown signing key "${approved.signerKeyRef}"` });
    expect(await verifyEvidence({ ...approved, content: undefined } as never, jwks)).toMatchObject({ valid: false });
  });

  it('signs the envelope too: a changed id, generatedAt, type or version, or an added field, fails verification', async () => {
    const other = await s.expect(200, 'GET', `/promotions/${promotionId}/evidence?decision=deployed`);
    for (const edit of [{ id: other.id }, { generatedAt: '2020-01-01T00:00:00.000Z' }, { type: 'release_decisions' }, { version: '1.0' }, { signerKeyRef: 'someone-else' }]) {
      expect(await verifyEvidence({ ...approved, ...edit } as EvidencePacket, jwks)).toMatchObject({ valid: false });
    }
    expect(await verifyEvidence({ ...approved, approvedBy: 'mallory' } as EvidencePacket, jwks)).toMatchObject({ valid: false, reason: 'fields outside the signed packet: approvedBy' });
    // Two genuine packets with their envelopes swapped: neither verifies.
    expect(await verifyEvidence({ ...approved, id: other.id, generatedAt: other.generatedAt }, jwks)).toEqual({ valid: false, reason: 'signature does not verify' });
  });
});

/** A JWKS holding a different P-256 key under the given kid. */
async function otherJwks(kid: string) {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
}

describe('npm run verify-evidence', () => {
  async function run(args: string[], env: Record<string, string> = {}) {
    const proc = spawnTs('scripts/verify-evidence.ts', { DATA_DIR: testEnv.dataDir, ...env }, args);
    const code = await proc.exited;
    return { code, out: proc.output() };
  }
  const file = (name: string, value: unknown) => {
    const at = path.join(dir, name);
    writeFileSync(at, JSON.stringify(value, null, 2));
    return at;
  };

  it('verifies a saved packet against the API JWKS (0) and refuses a tampered one (non-zero)', async () => {
    const jwksUrl = `${app.url}/api/v1/evidence/jwks.json`;
    const good = await run([file('approved.json', approved), '--jwks', jwksUrl]);
    expect(good).toMatchObject({ code: 0 });
    expect(good.out).toContain(`VALID    ${approved.id}`);
    // The API's envelope as saved by curl verifies too.
    expect((await run([file('envelope.json', { success: true, data: approved }), '--jwks', file('jwks.json', jwks)])).code).toBe(0);

    const bad = await run([file('tampered.json', tampered(approved)), '--jwks', jwksUrl]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('INVALID');
    expect(bad.out).toContain('contentHash does not match the content');

    const redated = await run([file('redated.json', { ...approved, generatedAt: '2020-01-01T00:00:00.000Z' }), '--jwks', jwksUrl]);
    expect(redated.code).toBe(1);
    expect(redated.out).toContain('INVALID');
    expect(redated.out).toContain('signature does not verify');

    const unknown = await run([file('approved.json', approved), '--jwks', file('other-jwks.json', await otherJwks('someone-else'))]);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain(`unknown signing key "${approved.signerKeyRef}"`);
  });

  it('verifies a promotion by id: from Postgres with the local dev key, or from the API with its JWKS', async () => {
    const local = await run([promotionId], { DATABASE_URL: testEnv.databaseUrl });
    expect(local.out).toMatch(/VALID {4}.*approved of promotion/);
    expect(local.out).toMatch(/VALID {4}.*deployed of promotion/);
    expect(local.code).toBe(0);
    // It names the key it used, never where a private key is kept.
    expect(local.out).toContain('keys: the local dev evidence key (its public half)');
    expect(local.out).not.toContain(testEnv.dataDir);
    expect(local.out).not.toMatch(/private/i);

    const token = await s.token('auditor@example.com', { roles: ['auditor'] });
    const remote = await run([promotionId, '--api', app.url, '--token', token, '--decision', 'approved']);
    expect(remote.out).toContain(`VALID    ${approved.id}`);
    expect(remote.code).toBe(0);

    const missing = await run(['00000000-0000-4000-8000-000000000000'], { DATABASE_URL: testEnv.databaseUrl });
    expect(missing.code).toBe(2);
    expect(missing.out).toContain('no evidence packets found');

    // Without a key to verify with, it says how to give one, not where one would be.
    const keyless = await run([file('approved.json', approved)], { DATA_DIR: dir, DATABASE_URL: testEnv.databaseUrl });
    expect(keyless.code).toBe(2);
    expect(keyless.out).toContain('no evidence key');
    expect(keyless.out).not.toContain(dir);
    expect(keyless.out).not.toMatch(/private/i);
  });
});
