import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * Everything Tollgate hands Temporal — workflow and activity inputs, results,
 * update arguments, heartbeat details, memos — is encrypted before it leaves
 * the process (AES-256-GCM), so a history read from Temporal without the key
 * (the CLI, the UI, a database dump) shows ciphertext: a target's properties,
 * a hook's environment, a change's text. Search attributes are not payloads
 * and stay readable, which is what the Temporal UI's lists need. So do
 * payloads that are one bare JSON string: those are the operator's text —
 * workflow and activity summaries, a workflow's current details — which the
 * UI must show without a codec; no secret travels as a bare string (target
 * properties, hook environments and records are objects, and encrypted).
 *
 * Each encrypted payload names its key (`encryption-key-id`), so keys rotate:
 * the first configured key encrypts, every configured key decrypts (see
 * PAYLOAD_ENCRYPTION_KEYS in the README). It also names the tenant whose
 * workflow owns it (from the workflow id, `<tenant>:<kind>:<id>`), bound to
 * the ciphertext as associated data, so the codec endpoint
 * (`/api/v1/temporal-codec`) can decode for an operator only what belongs to
 * the operator's tenant. A payload without the encrypted encoding (histories
 * written before encryption was switched on) passes through as it is.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const TENANT_METADATA = 'tollgate-tenant';

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const text = new TextDecoder();

export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly PayloadKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const tenant = tenantOfContext(context);
    return payloads.map((payload) => (isOperatorText(payload) ? payload : this.encrypt(payload, tenant)));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  encrypt(payload: Payload, tenant: string | null): Payload {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(id, tenant));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const metadata: Record<string, Uint8Array> = { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) };
    if (tenant) metadata[TENANT_METADATA] = utf8.encode(tenant);
    return { metadata, data: sealed };
  }

  decrypt(payload: Payload): Payload {
    const id = metadataText(payload, KEY_ID_METADATA);
    const key = id === undefined ? undefined : this.byId.get(id);
    if (!key) {
      throw new PayloadDecryptionError(
        `a payload is encrypted with key "${id ?? '(none named)'}", which is not among PAYLOAD_ENCRYPTION_KEYS (${[...this.byId.keys()].join(', ')}): keep retired keys configured until no open workflow uses them`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('an encrypted payload is too short to be one');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(associatedData(id!, tenantOfPayload(payload)));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`an encrypted payload does not authenticate under key "${id}" (altered, or another key with the same id)`);
    }
    const inner = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: inner.metadata ?? {}, data: inner.data ?? new Uint8Array() };
  }
}

/** A json/plain payload holding one JSON string (a summary, a details text): at most 16 KiB of it. */
function isOperatorText(payload: Payload): boolean {
  const data = payload.data;
  return metadataText(payload, 'encoding') === 'json/plain' && !!data && data.length >= 2 && data.length <= 16_384 && data[0] === 0x22 /* " */;
}

export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, 'encoding') === ENCRYPTED_ENCODING;
}

/** The tenant an encrypted payload names (null: none, e.g. written outside any workflow's context). */
export function tenantOfPayload(payload: Payload): string | null {
  return metadataText(payload, TENANT_METADATA) ?? null;
}

/** Tollgate's workflow ids are `<tenant>:<kind>:<id>` (domain/workflow-ids.ts); other ids name no tenant. */
function tenantOfContext(context: SerializationContext | undefined): string | null {
  const workflowId = context?.workflowId;
  if (!workflowId) return null;
  const colon = workflowId.indexOf(':');
  return colon > 0 ? workflowId.slice(0, colon) : null;
}

function associatedData(keyId: string, tenant: string | null): Buffer {
  return Buffer.from(JSON.stringify([keyId, tenant ?? '']), 'utf8');
}

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? text.decode(value) : undefined;
}

/** The data converter every Tollgate client and worker uses: the default payload converter, then encryption. */
export function encryptedDataConverter(keys: readonly PayloadKey[]): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keys)] };
}
