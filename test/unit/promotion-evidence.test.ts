import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import { createEvidenceSigner, existingEvidenceKey, publicJwkOf, verifyEvidence } from '../../platform/evidence';

/** Signing and verifying evidence with a configured key, offline. */
const packet = { id: 'e-1', type: 'release_decision' as const, version: '1.0' as const, content: { decision: 'approved', reason: 'ship it', n: 1 }, generatedAt: '2026-11-23T10:00:00.000Z' };

function configuredKey(extra: Record<string, unknown> = {}): string {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return JSON.stringify({ ...jwk, ...extra });
}

it('names a configured key without a kid the same in packets and in the JWKS', async () => {
  const key = existingEvidenceKey({ EVIDENCE_SIGNING_KEY: configuredKey(), DATA_DIR: '/nonexistent' })!;
  const signed = await (await createEvidenceSigner(key)).sign(packet);
  const jwks = { keys: [publicJwkOf(key)] };
  expect(signed.signerKeyRef).toMatch(/^evidence-/);
  expect(jwks.keys[0].kid).toBe(signed.signerKeyRef);
  expect(jwks.keys[0]).not.toHaveProperty('d');
  expect(await verifyEvidence(signed, jwks)).toEqual({ valid: true, kid: signed.signerKeyRef });
});

it('keeps a configured kid, and never makes a key when none exists', async () => {
  expect(existingEvidenceKey({ EVIDENCE_SIGNING_KEY: configuredKey({ kid: 'prod-2026' }), DATA_DIR: '/nonexistent' })?.kid).toBe('prod-2026');
  expect(existingEvidenceKey({ DATA_DIR: '/nonexistent' })).toBeUndefined();
});

it('calls malformed packets invalid instead of throwing', async () => {
  const key = JSON.parse(configuredKey({ kid: 'k' })) as JWK;
  const signed = await (await createEvidenceSigner(key)).sign(packet);
  const jwks = { keys: [publicJwkOf(key)] };
  expect(await verifyEvidence({ ...signed, signature: 'not base64!' }, jwks)).toEqual({ valid: false, reason: 'signature is not base64' });
  expect(await verifyEvidence({ ...signed, signatureAlgorithm: 'RS256' as never }, jwks)).toMatchObject({ valid: false, reason: 'unsupported signature algorithm RS256' });
  expect(await verifyEvidence({ ...signed, content: { n: Number.NaN } }, jwks)).toMatchObject({ valid: false });
  expect(await verifyEvidence(null as never, jwks)).toMatchObject({ valid: false });
  expect(await verifyEvidence(signed, { keys: [{ kid: 'k', kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] })).toMatchObject({ valid: false });
});
