import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec, isEncrypted, PayloadDecryptionError, tenantOfPayload } from '../../../platform/payload-codec';
import { payloadKeys } from '../../../platform/payload-keys';
import type { AppEnv } from '../../context';
import { BadRequest, ValidationFailed } from '../../errors';
import { requirePermission } from '../../principal';
import { createRouter } from '../../router';

/**
 * The codec endpoint (Temporal's "codec server" protocol): the Temporal UI and
 * CLI (`--codec-endpoint … --codec-auth 'Bearer …'`) send the payloads of a
 * history as `{payloads:[{metadata,data}]}` (bytes in base64) to `/decode`
 * and get them back decrypted; `/encode` is the reverse, for input an
 * operator types into the UI. Not an OpenAPI operation: its bodies are
 * Temporal's, not the API's envelope.
 *
 * Who may read what: the caller needs `temporal:decode`, and a payload that
 * names a tenant (every payload of a Tollgate workflow does) is decrypted only
 * for that tenant's callers; another tenant's comes back as it went in, still
 * encrypted. A payload that cannot be decrypted (a retired key) also comes
 * back as it is, and the answer's `X-Tollgate-Undecoded` header counts both.
 */
const MAX_PAYLOADS = 1_000;

export function temporalCodecRouter() {
  const router = createRouter();
  router.post('/temporal-codec/decode', async (c) => {
    const { tenantId } = requirePermission(c, 'temporal:decode');
    const codec = codecOf(c);
    const payloads = await payloadsOf(c);
    let undecoded = 0;
    const out = payloads.map((payload) => {
      if (!isEncrypted(payload)) return payload;
      const owner = tenantOfPayload(payload);
      if (owner !== null && owner !== tenantId) {
        undecoded++;
        return payload;
      }
      try {
        return codec.decrypt(payload);
      } catch (err) {
        if (!(err instanceof PayloadDecryptionError)) throw err;
        undecoded++;
        return payload;
      }
    });
    return c.json({ payloads: out.map(toWire) }, 200, { 'X-Tollgate-Undecoded': String(undecoded) });
  });

  router.post('/temporal-codec/encode', async (c) => {
    const { tenantId } = requirePermission(c, 'temporal:decode');
    const codec = codecOf(c);
    const payloads = await payloadsOf(c);
    // Encoded as the caller's tenant: an operator types input only for workflows of their own tenant.
    return c.json({ payloads: (await codec.encode(payloads, { type: 'workflow', namespace: '', workflowId: `${tenantId}:` })).map(toWire) });
  });
  return router;
}

/**
 * The browser's preflight and the answer's CORS headers, for the Temporal UI's
 * origin only (TEMPORAL_UI_URL): the UI calls this endpoint from the
 * operator's browser, with the operator's token.
 */
export const codecCors = createMiddleware<AppEnv>(async (c, next) => {
  if (!/\/temporal-codec\/(decode|encode)$/.test(c.req.path)) return next();
  const allowed = originOf(c.get('deps').config.TEMPORAL_UI_URL);
  const origin = c.req.header('origin');
  const cors: Record<string, string> =
    origin && origin === allowed
      ? {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Credentials': 'true',
          'Access-Control-Allow-Headers': 'authorization, content-type, x-namespace',
          'Access-Control-Allow-Methods': 'POST, OPTIONS',
          'Access-Control-Max-Age': '600',
          Vary: 'Origin',
        }
      : { Vary: 'Origin' };
  if (c.req.method === 'OPTIONS') return c.body(null, 204, { ...cors, Allow: 'POST, OPTIONS' });
  await next();
  for (const [name, value] of Object.entries(cors)) c.res.headers.set(name, value);
});

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

let cached: { source: string; codec: EncryptionCodec } | undefined;

function codecOf(c: Context<AppEnv>): EncryptionCodec {
  const { config } = c.get('deps');
  const source = `${config.PAYLOAD_ENCRYPTION_KEYS ?? ''}|${config.DATA_DIR}`;
  if (cached?.source !== source) cached = { source, codec: new EncryptionCodec(payloadKeys(config)) };
  return cached.codec;
}

interface WirePayload {
  metadata?: Record<string, string>;
  data?: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

async function payloadsOf(c: Context<AppEnv>): Promise<Payload[]> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new BadRequest('The body must be JSON: {"payloads":[{"metadata":{…},"data":"…"}]}', 'INVALID_JSON');
  }
  const list = (body as { payloads?: unknown })?.payloads;
  if (!Array.isArray(list)) throw new ValidationFailed([{ field: 'payloads', code: 'invalid_type', message: 'is required: an array of {metadata, data} with base64 values' }]);
  if (list.length > MAX_PAYLOADS) throw new ValidationFailed([{ field: 'payloads', code: 'too_big', message: `holds at most ${MAX_PAYLOADS} payloads` }]);
  return list.map((item, index) => fromWire(item as WirePayload, index));
}

function fromWire(item: WirePayload, index: number): Payload {
  const bad = (field: string, message: string) => new ValidationFailed([{ field: `payloads[${index}]${field}`, code: 'invalid_value', message }]);
  if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad('', 'must be an object {metadata, data}');
  const metadata: Record<string, Uint8Array> = {};
  if (item.metadata !== undefined) {
    if (!item.metadata || typeof item.metadata !== 'object' || Array.isArray(item.metadata)) throw bad('.metadata', 'must be an object of base64 strings');
    for (const [key, value] of Object.entries(item.metadata)) {
      if (typeof value !== 'string' || !BASE64.test(value)) throw bad(`.metadata.${key}`, 'must be base64');
      metadata[key] = Buffer.from(value, 'base64');
    }
  }
  if (item.data !== undefined && (typeof item.data !== 'string' || !BASE64.test(item.data))) throw bad('.data', 'must be base64');
  return { metadata, data: Buffer.from(item.data ?? '', 'base64') };
}

function toWire(payload: Payload): WirePayload {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) if (value) metadata[key] = Buffer.from(value).toString('base64');
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}
