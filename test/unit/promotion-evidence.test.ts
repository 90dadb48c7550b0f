import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { canonicalJson } from '../../domain/canonical-json';
import { createEvidenceSigner, existingEvidenceKey, publicJwkOf, verifyEvidence, type EvidencePacket } from '../../platform/evidence';
import { nameUuid } from '../../platform/name-uuid';

/** Signing and verifying evidence with a configured key, offline. */
const packet = { id: 'e-1', type: 'release_decision' as const, content: { decision: 'approved', reason: 'ship it', n: 1 }, generatedAt: '2026-11-23T10:00:00.000Z' };

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

describe('the whole packet is signed', () => {
  const key = JSON.parse(configuredKey({ kid: 'k' })) as JWK;
  const jwks = { keys: [publicJwkOf(key)] };

  it('signs 1.1 packets over envelope and content: a change to any field, an added or a dropped one, fails', async () => {
    const signed = await (await createEvidenceSigner(key)).sign(packet);
    expect(signed).toMatchObject({ version: '1.1', id: 'e-1', generatedAt: packet.generatedAt });
    expect(await verifyEvidence(signed, jwks)).toEqual({ valid: true, kid: 'k' });
    const edits: Array<Record<string, unknown>> = [
      { id: 'e-2' },
      { generatedAt: '2020-01-01T00:00:00.000Z' },
      { type: 'release_decisions' },
      { version: '1.0' },
    ];
    for (const edit of edits) expect(await verifyEvidence({ ...signed, ...edit } as EvidencePacket, jwks)).toMatchObject({ valid: false });
    expect(await verifyEvidence({ ...signed, approvedBy: 'mallory' } as EvidencePacket, jwks)).toEqual({ valid: false, reason: 'fields outside the signed packet: approvedBy' });
    const { generatedAt: _dropped, ...without } = signed;
    expect(await verifyEvidence(without as EvidencePacket, jwks)).toEqual({ valid: false, reason: 'signature does not verify' });
    // Another key of the same JWKS does not vouch for it either.
    const other = JSON.parse(configuredKey({ kid: 'k2' })) as JWK;
    expect(await verifyEvidence({ ...signed, signerKeyRef: 'k2' }, { keys: [...jwks.keys, publicJwkOf(other)] })).toEqual({ valid: false, reason: 'signature does not verify' });
  });

  it('still verifies a 1.0 packet (content signed), with its envelope checked against the content', async () => {
    const content = { tenantId: 'acme', promotionId: 'p-1', decision: 'approved', recordedAt: '2026-11-23T10:00:00.000Z', reason: 'ship it' };
    const ecdsa = (await importJWK({ ...key, alg: 'ES256' }, 'ES256')) as webcrypto.CryptoKey;
    const signature = Buffer.from(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ecdsa, new TextEncoder().encode(canonicalJson(content)))).toString('base64');
    const legacy: EvidencePacket = {
      id: nameUuid('evidence:acme:p-1:approved'),
      type: 'release_decision',
      version: '1.0',
      content,
      contentHash: `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`,
      signature,
      signatureAlgorithm: 'ECDSA-P256-SHA256',
      signerKeyRef: 'k',
      generatedAt: content.recordedAt,
    };
    expect(await verifyEvidence(legacy, jwks)).toEqual({ valid: true, kid: 'k' });
    expect(await verifyEvidence({ ...legacy, id: nameUuid('evidence:acme:p-2:approved') }, jwks)).toMatchObject({ valid: false, reason: expect.stringMatching(/^id does not match the signed content/) });
    expect(await verifyEvidence({ ...legacy, generatedAt: '2026-11-24T10:00:00.000Z' }, jwks)).toMatchObject({ valid: false, reason: expect.stringMatching(/^generatedAt does not match/) });
    expect(await verifyEvidence({ ...legacy, type: 'other' as never }, jwks)).toMatchObject({ valid: false, reason: expect.stringMatching(/^type does not match/) });
    expect(await verifyEvidence({ ...legacy, version: '2.0' as never }, jwks)).toEqual({ valid: false, reason: 'unsupported packet version 2.0' });
  });
});
