import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface StoredConfig {
  url?: string;
  token?: string;
}

export interface Connection {
  url: string;
  token?: string;
}

/** $XDG_CONFIG_HOME/tollgate/config.json, else ~/.config/tollgate/config.json. */
export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || path.join(env.HOME?.trim() || os.homedir(), '.config');
  return path.join(base, 'tollgate', 'config.json');
}

export function readStored(file = configFile()): StoredConfig {
  if (!existsSync(file)) return {};
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as StoredConfig;
    return value && typeof value === 'object' ? value : {};
  } catch (err) {
    throw new UsageError(`${file} is not JSON (${(err as Error).message}); run tollgate login again`);
  }
}

/** Written 0600 (the token is a credential), its folder 0700. */
export function writeStored(config: StoredConfig, file = configFile()): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // An existing file keeps its mode through writeFileSync; a token must not stay readable by others.
  chmodSync(file, 0o600);
}

/** Flags first, then the environment, then what `tollgate login` stored. */
export function resolveConnection(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const stored = readStored(configFile(env));
  const url = flags.url ?? (env.TOLLGATE_URL?.trim() || undefined) ?? stored.url ?? DEFAULT_URL;
  const token = flags.token ?? (env.TOLLGATE_TOKEN?.trim() || undefined) ?? stored.token;
  return { url: normalizeUrl(url), token };
}

export function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url ${url} is not a URL (e.g. ${DEFAULT_URL})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url ${url} must be http:// or https://`);
  return url.replace(/\/+$/, '');
}
