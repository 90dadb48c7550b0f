import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, dataPaths } from '../platform/config';
import { createOnce } from '../platform/key-files';

/**
 * Integrations' and plugin instances' secrets at rest: AES-256-GCM under the
 * first of TOLLGATE_INTEGRATION_KEYS (`id:base64key[,…]`, 32 bytes each); any
 * listed key decrypts, so rotation is: put a new key first, run
 * `npm run rotate-integration-key` (re-encrypts every row under it), then drop
 * the old key. The row's tenant and id are bound as associated data, so a
 * ciphertext copied onto another row does not decrypt.
 */

export interface SecretKey {
  id: string;
  key: Buffer;
}

const ENV = 'TOLLGATE_INTEGRATION_KEYS';

export function parseSecretKeys(value: string): SecretKey[] {
  const keys: SecretKey[] = [];
  for (const [index, entry] of value.split(',').map((e) => e.trim()).filter(Boolean).entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon).trim() : '';
    const material = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new ConfigError(`Configuration error: ${ENV} entry ${index + 1} must be id:base64key with an id of letters, digits, '_' or '-' (the value is not shown)`);
    const key = Buffer.from(material, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(material)) throw new ConfigError(`Configuration error: ${ENV} key "${id}" must be 32 bytes in base64 (openssl rand -base64 32); the value is not shown`);
    if (keys.some((k) => k.id === id)) throw new ConfigError(`Configuration error: ${ENV} names key "${id}" twice`);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new ConfigError(`Configuration error: ${ENV} names no key`);
  return keys;
}

/** The configured keys, or the local stack's dev key made on first use in DATA_DIR/keys. */
export function integrationSecretKeys(config: { TOLLGATE_INTEGRATION_KEYS?: string; DATA_DIR: string }): SecretKey[] {
  if (config.TOLLGATE_INTEGRATION_KEYS) return parseSecretKeys(config.TOLLGATE_INTEGRATION_KEYS);
  const file = dataPaths(config.DATA_DIR).integrationKeys;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : createOnce(file, `dev-${randomBytes(4).toString('hex')}:${randomBytes(32).toString('base64')}\n`);
  return parseSecretKeys(text.trim());
}

/** `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts) of the secrets as JSON; null when there are none. */
export function sealSecrets(keys: SecretKey[], owner: string, secrets: Record<string, string>): string | null {
  if (Object.keys(secrets).length === 0) return null;
  const { id, key } = keys[0];
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(owner));
  const body = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return ['v1', id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

export class SecretKeyMissing extends Error {}

export function sealedKeyId(sealed: string): string | undefined {
  return sealed.split('.')[1];
}

export function openSecrets(keys: SecretKey[], owner: string, sealed: string | null): Record<string, string> {
  if (!sealed) return {};
  const [version, keyId, iv, tag, body] = sealed.split('.');
  const found = keys.find((k) => k.id === keyId);
  if (version !== 'v1' || !found) throw new SecretKeyMissing(`The secrets of ${owner} are sealed under key "${keyId}", which ${ENV} does not list`);
  const decipher = createDecipheriv('aes-256-gcm', found.key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(owner));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return JSON.parse(Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8'));
}

/** What a row's secrets are bound to. */
export const secretOwner = (tenantId: string, table: 'integrations' | 'plugin_instances', id: string) => `${table}:${tenantId}:${id}`;
