import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ConfigError } from '../../platform/config';
import { EncryptionCodec, isEncrypted, PayloadDecryptionError, tenantOfPayload, TENANT_METADATA } from '../../platform/payload-codec';
import { parsePayloadKeys } from '../../platform/payload-keys';

const key = (id: string) => ({ id, key: randomBytes(32) });
const json = (value: unknown) => defaultPayloadConverter.toPayload(value)!;
const read = (payload: Payload) => defaultPayloadConverter.fromPayload(payload);
const context = { type: 'workflow' as const, namespace: 'default', workflowId: 'acme:deployment:1234' };

describe('payload encryption', () => {
  test('structured payloads are encrypted with the first key, name it and their tenant, and decode to what went in', async () => {
    const codec = new EncryptionCodec([key('k2'), key('k1')]);
    const input = { target: { properties: { db_password: 'hunter2' } } };
    const [sealed] = await codec.encode([json(input)], context);
    expect(isEncrypted(sealed)).toBe(true);
    expect(Buffer.from(sealed.metadata!['encryption-key-id']!).toString()).toBe('k2');
    expect(tenantOfPayload(sealed)).toBe('acme');
    expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('hunter2');
    expect(read((await codec.decode([sealed]))[0])).toEqual(input);
  });

  test('rotation: a payload sealed under a retired key still opens while that key is configured, and names it when it is not', async () => {
    const old = key('2025');
    const [sealed] = await new EncryptionCodec([old]).encode([json({ n: 1 })], context);
    const rotated = new EncryptionCodec([key('2026'), old]);
    expect(read((await rotated.decode([sealed]))[0])).toEqual({ n: 1 });
    await expect(new EncryptionCodec([key('2026')]).decode([sealed])).rejects.toThrow(/key "2025", which is not among PAYLOAD_ENCRYPTION_KEYS \(2026\)/);
  });

  test('every payload gets an IV of its own, across IV batches and tenants, and each still opens under its tenant only', async () => {
    const codec = new EncryptionCodec([key('k')]);
    const tenants = ['acme', 'globex', 'initech'];
    const sealed: Payload[] = [];
    for (let i = 0; i < 700; i++) {
      const workflowId = `${tenants[i % tenants.length]}:change:${i}`;
      sealed.push(...(await codec.encode([json({ i })], { ...context, workflowId })));
    }
    const ivs = new Set(sealed.map((p) => Buffer.from(p.data!.subarray(0, 12)).toString('hex')));
    expect(ivs.size).toBe(sealed.length);
    expect(sealed.map(tenantOfPayload)).toEqual(sealed.map((_, i) => tenants[i % tenants.length]));
    expect((await codec.decode(sealed)).map(read)).toEqual(sealed.map((_, i) => ({ i })));
    const moved = { ...sealed[0], metadata: { ...sealed[0].metadata, [TENANT_METADATA]: Buffer.from('globex') } };
    await expect(codec.decode([moved])).rejects.toThrow(PayloadDecryptionError);
  });

  test('a changed tenant tag or ciphertext does not authenticate', async () => {
    const codec = new EncryptionCodec([key('k')]);
    const [sealed] = await codec.encode([json({ secret: 's' })], context);
    const retagged = { ...sealed, metadata: { ...sealed.metadata, [TENANT_METADATA]: Buffer.from('evil') } };
    await expect(codec.decode([retagged])).rejects.toThrow(PayloadDecryptionError);
    const flipped = Buffer.from(sealed.data!);
    flipped[20] ^= 1;
    await expect(codec.decode([{ ...sealed, data: flipped }])).rejects.toThrow(/does not authenticate/);
  });

  test('operator text (a bare string: summaries, details) stays readable; unencrypted payloads of older histories pass through', async () => {
    const codec = new EncryptionCodec([key('k')]);
    const summary = json('Deploy web 2.0.0 to web-1');
    expect(await codec.encode([summary], context)).toEqual([summary]);
    const legacy = json({ written: 'before encryption' });
    expect(await codec.decode([legacy])).toEqual([legacy]);
  });

  test('PAYLOAD_ENCRYPTION_KEYS: id:base64 pairs of 32 bytes, each named once; a bad value is named without being shown', () => {
    const a = randomBytes(32).toString('base64');
    expect(parsePayloadKeys(`new:${a}, old:${randomBytes(32).toString('base64')}`).map((k) => k.id)).toEqual(['new', 'old']);
    expect(() => parsePayloadKeys('nocolon')).toThrow(ConfigError);
    expect(() => parsePayloadKeys(`k:${randomBytes(16).toString('base64')}`)).toThrow(/key "k" must be 32 bytes/);
    expect(() => parsePayloadKeys(`k:${a},k:${a}`)).toThrow(/names key "k" twice/);
    expect(() => parsePayloadKeys(' , ')).toThrow(/names no key/);
    try {
      parsePayloadKeys('k:secretish');
    } catch (err) {
      expect((err as Error).message).not.toContain('secretish');
    }
  });
});
