import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError } from './config';

/**
 * How every Tollgate process reaches Temporal: the address and, for a real
 * cluster, TLS (the server's CA; a client certificate and key for mTLS) and/or
 * an API key (Temporal Cloud). The API, the orchestrator worker, the API's
 * agent work relay and the scripts all connect through this one description,
 * read and checked once at start-up: a missing or unreadable file, half a key
 * pair, or a key without TLS stops the process with one line naming it.
 * Agents never connect to Temporal at all.
 */
export interface TemporalConnectionSettings {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

export interface TemporalConnectionEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_TLS?: boolean;
  TEMPORAL_TLS_CA_FILE?: string;
  TEMPORAL_TLS_CERT_FILE?: string;
  TEMPORAL_TLS_KEY_FILE?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_API_KEY?: string;
}

export function temporalConnection(config: TemporalConnectionEnv): TemporalConnectionSettings {
  const { TEMPORAL_TLS_CA_FILE: ca, TEMPORAL_TLS_CERT_FILE: cert, TEMPORAL_TLS_KEY_FILE: key, TEMPORAL_TLS_SERVER_NAME: serverName, TEMPORAL_API_KEY: apiKey } = config;
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(`Configuration error: ${cert ? 'TEMPORAL_TLS_KEY_FILE' : 'TEMPORAL_TLS_CERT_FILE'} is required with ${cert ? 'TEMPORAL_TLS_CERT_FILE' : 'TEMPORAL_TLS_KEY_FILE'} (mTLS needs the client certificate and its key)`);
  }
  const wantsTls = config.TEMPORAL_TLS === true || Boolean(ca || cert || serverName || apiKey);
  if (config.TEMPORAL_TLS === false && (ca || cert || serverName)) {
    throw new ConfigError('Configuration error: TEMPORAL_TLS is false but TLS files or a server name are set: drop them, or set TEMPORAL_TLS=true');
  }
  if (!wantsTls || config.TEMPORAL_TLS === false) return { address: config.TEMPORAL_ADDRESS, ...(apiKey ? { apiKey } : {}) };
  const tls: TLSConfig = {};
  if (ca) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_CA_FILE', ca, 'CERTIFICATE');
  if (cert && key) tls.clientCertPair = { crt: readPem('TEMPORAL_TLS_CERT_FILE', cert, 'CERTIFICATE'), key: readPem('TEMPORAL_TLS_KEY_FILE', key, 'PRIVATE KEY') };
  if (serverName) tls.serverNameOverride = serverName;
  return { address: config.TEMPORAL_ADDRESS, tls, ...(apiKey ? { apiKey } : {}) };
}

/** What `Connection.connect` and `NativeConnection.connect` take from the settings. */
export function connectionOptions(settings: TemporalConnectionSettings): { address: string; tls?: TLSConfig; apiKey?: string } {
  return { address: settings.address, ...(settings.tls ? { tls: settings.tls } : {}), ...(settings.apiKey ? { apiKey: settings.apiKey } : {}) };
}

function readPem(variable: string, file: string, kind: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`Configuration error: ${variable} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: ${file})`);
  }
  if (!content.toString('utf8').includes(`-----BEGIN `) || !content.toString('utf8').includes(kind)) {
    throw new ConfigError(`Configuration error: ${variable} must be a PEM file holding a ${kind} (${file})`);
  }
  return content;
}
