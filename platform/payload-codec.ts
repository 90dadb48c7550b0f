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
/** IVs are drawn from the CSPRNG this many at a time: one call instead of one per payload, each IV still 96 fresh random bits used once. */
const IVS_PER_DRAW = 256;
/** Tenants whose associated data and metadata bytes are kept ready; past this many the memo starts again. */
const TENANT_MEMO_MAX = 1024;
const ENCRYPTED_ENCODING_BYTES = utf8.encode(ENCRYPTED_ENCODING);

export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly encryptingIdBytes: Uint8Array;
  private ivs = Buffer.alloc(0);
  private ivAt = 0;
  /** Per tenant (or '' for none): the AAD of the encrypting key and the tenant's metadata bytes, which every payload of a workflow repeats. */
  private readonly sealing = new Map<string, { aad: Buffer; tenant: Uint8Array | undefined }>();

  constructor(private readonly keys: readonly PayloadKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
    this.encryptingIdBytes = utf8.encode(keys[0].id);
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
    const iv = this.nextIv();
    const sealing = this.sealingFor(id, tenant);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(sealing.aad);
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    // The metadata byte arrays are shared between payloads: nothing downstream writes into them.
    const metadata: Record<string, Uint8Array> = { encoding: ENCRYPTED_ENCODING_BYTES, [KEY_ID_METADATA]: this.encryptingIdBytes };
    if (sealing.tenant) metadata[TENANT_METADATA] = sealing.tenant;
    return { metadata, data: sealed };
  }

  /** A fresh random IV, sliced from a batch drawn at once (the batch's bytes are never handed out twice). */
  private nextIv(): Buffer {
    if (this.ivAt + IV_BYTES > this.ivs.length) {
      this.ivs = randomBytes(IV_BYTES * IVS_PER_DRAW);
      this.ivAt = 0;
    }
    const iv = this.ivs.subarray(this.ivAt, this.ivAt + IV_BYTES);
    this.ivAt += IV_BYTES;
    return iv;
  }

  private sealingFor(keyId: string, tenant: string | null): { aad: Buffer; tenant: Uint8Array | undefined } {
    const memo = this.sealing.get(tenant ?? '');
    if (memo) return memo;
    if (this.sealing.size >= TENANT_MEMO_MAX) this.sealing.clear();
    const made = { aad: associatedData(keyId, tenant), tenant: tenant ? utf8.encode(tenant) : undefined };
    this.sealing.set(tenant ?? '', made);
    return made;
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
    const tenant = tenantOfPayload(payload);
    decipher.setAAD(id === this.keys[0].id ? this.sealingFor(id, tenant).aad : associatedData(id!, tenant));
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
