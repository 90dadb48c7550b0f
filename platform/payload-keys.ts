import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { ConfigError, dataPaths } from './config';
import { createOnce } from './key-files';
import { encryptedDataConverter, type PayloadKey } from './payload-codec';

/**
 * The keys that encrypt Temporal payloads (platform/payload-codec.ts).
 *
 * PAYLOAD_ENCRYPTION_KEYS is `id:base64key[,id:base64key…]`, each key 32
 * random bytes (`openssl rand -base64 32`). The first encrypts; all decrypt.
 * To rotate: put a new key first and keep the old ones after it until every
 * workflow that was running under them has closed (and, for the codec
 * endpoint, until their histories are past retention). Every process that
 * talks to Temporal for Tollgate — API replicas and orchestrator workers —
 * must have the same list.
 *
 * Unset, the local stack uses a dev key made on first use in DATA_DIR/keys
 * (platform/key-files.ts: the API and the worker starting together agree).
 */
export function parsePayloadKeys(value: string): PayloadKey[] {
  const keys: PayloadKey[] = [];
  for (const [index, entry] of value.split(',').map((e) => e.trim()).filter(Boolean).entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon).trim() : '';
    const material = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new ConfigError(`Configuration error: PAYLOAD_ENCRYPTION_KEYS entry ${index + 1} must be id:base64key with an id of letters, digits, '.', '_' or '-' (the value is not shown)`);
    }
    const key = Buffer.from(material, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(material)) {
      throw new ConfigError(`Configuration error: PAYLOAD_ENCRYPTION_KEYS key "${id}" must be 32 bytes in base64 (openssl rand -base64 32); the value is not shown`);
    }
    if (keys.some((k) => k.id === id)) throw new ConfigError(`Configuration error: PAYLOAD_ENCRYPTION_KEYS names key "${id}" twice`);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new ConfigError('Configuration error: PAYLOAD_ENCRYPTION_KEYS names no key');
  return keys;
}

export function payloadKeys(config: { PAYLOAD_ENCRYPTION_KEYS?: string; DATA_DIR: string }): PayloadKey[] {
  if (config.PAYLOAD_ENCRYPTION_KEYS) return parsePayloadKeys(config.PAYLOAD_ENCRYPTION_KEYS);
  const file = dataPaths(config.DATA_DIR).payloadKeys;
  if (!existsSync(file)) createOnce(file, `dev-${randomBytes(4).toString('hex')}:${randomBytes(32).toString('base64')}\n`);
  return parsePayloadKeys(readFileSync(file, 'utf8').trim());
}

/** The data converter for every Temporal client and worker of this deployment. */
export function dataConverterOf(config: { PAYLOAD_ENCRYPTION_KEYS?: string; DATA_DIR: string }): DataConverter {
  return encryptedDataConverter(payloadKeys(config));
}
