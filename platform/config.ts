import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { AI_CONFIG_FIELDS } from '../domain/ai/settings';
import { INCIDENT_CONFIG_FIELDS } from '../domain/incidents/settings';
import { DEFAULT_EGRESS_DENY, parseEgressDeny } from './egress-rules';

/**
 * All configuration comes from environment variables, validated once at start-up.
 * A bad value stops the process with one line naming the variable (see ConfigError).
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

// An empty value (`PORT=` in an env file) means "unset", never 0.
const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const port = (fallback: number) => z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(65535).default(fallback));
const positiveInt = (fallback: number) => z.preprocess(blankAsUnset, z.coerce.number().int().positive().default(fallback));
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `must be a duration such as 90s, 15m, 24h (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const schema = z.object({
  PORT: port(3000),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: optionalString.pipe(z.url({ message: 'must be a postgres:// URL' }).optional()),
  PG_PORT: port(55432),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('tollgate-orchestrator'),
  // A real cluster (platform/temporal-connection.ts): TLS with the server's CA, mTLS with a client certificate and key,
  // and/or an API key (Temporal Cloud). Any of the files or the key turns TLS on; TEMPORAL_TLS=true turns it on alone.
  TEMPORAL_TLS: z.preprocess(blankAsUnset, z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').optional()),
  TEMPORAL_TLS_CA_FILE: optionalString,
  TEMPORAL_TLS_CERT_FILE: optionalString,
  TEMPORAL_TLS_KEY_FILE: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  // A secret: never echoed.
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_UI_URL: z.string().default('http://127.0.0.1:8233'),
  // Ports of the dev server `npm start` runs when TEMPORAL_ADDRESS is unset (the UI's defaults to TEMPORAL_PORT + 1000).
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).max(65535).optional()),
  AUTH_JWKS_URL: optionalString.pipe(z.url({ message: 'must be an https:// URL of a JSON Web Key Set' }).optional()),
  AUTH_JWKS: optionalString,
  AUTH_ISSUER: z.string().min(1).default('tollgate-dev'),
  AUTH_AUDIENCE: z.string().min(1).default('tollgate'),
  AUTH_TENANT_CLAIM: z.string().min(1).default('custom:tenant_id'),
  AUTH_ALGORITHMS: z
    .string()
    .default(ASYMMETRIC_ALGS.join(','))
    .transform((v, ctx) => {
      const algs = v.split(',').map((a) => a.trim()).filter(Boolean);
      const bad = algs.filter((a) => !(ASYMMETRIC_ALGS as readonly string[]).includes(a));
      if (bad.length || algs.length === 0) {
        ctx.addIssue({ code: 'custom', message: `only asymmetric algorithms are allowed (${ASYMMETRIC_ALGS.join(', ')}); got ${bad.join(', ') || 'none'}` });
        return z.NEVER;
      }
      return algs;
    }),
  // A secret: a bad value is named, never echoed (the message says "got" so loadConfig adds no copy of it).
  EVIDENCE_SIGNING_KEY: optionalString.refine((v) => v === undefined || isPrivateP256Jwk(v), {
    message: 'must be a private EC P-256 JWK such as {"kty":"EC","crv":"P-256","x":"…","y":"…","d":"…","kid":"…"} (got something else; the value is not shown)',
  }),
  // Public halves of evidence keys signed with before (a JWKS {"keys":[…]} or a JSON array of JWKs): packets they signed
  // still verify and /evidence/jwks.json publishes them after the current key. Private halves given here are dropped.
  EVIDENCE_RETIRED_KEYS: optionalString.refine((v) => v === undefined || retiredP256Jwks(v) !== undefined, {
    message: 'must be a JWKS {"keys":[…]} or a JSON array of EC P-256 JWKs, each with a kid',
  }),
  // Addresses the worker and the API never call out to for tenants' URLs (templates' http and notify steps,
  // integrations, webhooks): comma-separated CIDRs, "none" for none. The default keeps link-local (cloud metadata) out;
  // add private ranges (10.0.0.0/8, 127.0.0.0/8, …) where tenants must not reach the internal network.
  EGRESS_DENY_CIDRS: z.preprocess(blankAsUnset, z.string().default(DEFAULT_EGRESS_DENY)).refine((v) => parseEgressDeny(v).ok, {
    message: 'must be comma-separated CIDRs such as 169.254.0.0/16,10.0.0.0/8 (or "none")',
  }),
  // Keys that encrypt every Temporal payload (platform/payload-keys.ts): `id:base64key[,…]`, the first encrypts, all decrypt.
  // A secret: checked in loadConfig, never echoed. Unset: a dev key in DATA_DIR/keys.
  PAYLOAD_ENCRYPTION_KEYS: optionalString,
  // A workflow bundle built ahead (npm run build, npm start, the image): the worker loads it instead of bundling at start.
  WORKFLOW_BUNDLE: optionalString,
  RATE_LIMIT_USER: positiveInt(100),
  RATE_LIMIT_TENANT: positiveInt(1000),
  RATE_LIMIT_WINDOW: duration('1s'),
  // Bulk requests spend records (a create of 100 incidents spends 100) from a budget of their own, per user.
  RATE_LIMIT_BULK_RECORDS: positiveInt(1000),
  RATE_LIMIT_BULK_WINDOW: duration('1m'),
  BODY_LIMIT_BYTES: positiveInt(1024 * 1024),
  // How long a client may take to send a request's headers, and the whole request; then 408 and the connection closes.
  HTTP_HEADERS_TIMEOUT: duration('10s'),
  HTTP_REQUEST_TIMEOUT: duration('30s'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WORKER_METRICS_PORT: port(9464),
  COMMAND_TIMEOUT: duration('30s'),
  // How often the orchestrator worker looks for records whose workflow was ended outside Tollgate (Cancel/Terminate in
  // the Temporal UI, a failure, a timeout) that no command has met yet.
  ENDED_WORKFLOW_SWEEP_INTERVAL: duration('1m'),
  // /health's worker check fails when no poller has been seen on TEMPORAL_TASK_QUEUE for this long. An idle
  // worker renews its poll once per server long-poll interval (1 min by default; 10 s on npm start's dev server).
  HEALTH_WORKER_STALE_AFTER: duration('90s'),
  CHANGE_REVIEW_DEADLINE: duration('24h'),
  CHANGE_CAB_QUORUM: positiveInt(1),
  // How long one hour of an approval policy's autoExpireHours lasts; tests and demos shorten it to watch expiry happen.
  PROMOTION_EXPIRY_HOUR: duration('1h'),
  ...INCIDENT_CONFIG_FIELDS,
  // The knowledge base's AI query (domain/ai/settings.ts): retrieval always; a chat model only when configured.
  ...AI_CONFIG_FIELDS,
  // Deployments (agents): an agent with no heartbeat for AGENT_OFFLINE_AFTER shows offline; a deploy task whose agent stops
  // heartbeating for DEPLOY_HEARTBEAT_TIMEOUT fails (the agent is presumed dead); one no agent picks up within
  // DEPLOY_PICKUP_TIMEOUT fails too (the agent is offline). A cancelled hook gets SIGTERM, then SIGKILL after DEPLOY_CANCEL_GRACE.
  AGENT_OFFLINE_AFTER: duration('30s'),
  AGENT_HEARTBEAT_INTERVAL: duration('10s'),
  DEPLOY_HEARTBEAT_TIMEOUT: duration('10s'),
  DEPLOY_PICKUP_TIMEOUT: duration('60s'),
  DEPLOY_TASK_TIMEOUT: duration('30m'),
  DEPLOY_CANCEL_GRACE: duration('10s'),
  DEPLOY_LOG_CAP_BYTES: positiveInt(1024 * 1024),
  // A deployment job continues as new between batches when Temporal suggests it; tests set a lower history length to watch it.
  DEPLOY_JOB_MAX_HISTORY_EVENTS: z.preprocess(blankAsUnset, z.coerce.number().int().positive().optional()),
  ARTIFACT_MAX_BYTES: positiveInt(10 * 1024 * 1024),
  // Rollouts: a prometheus analysis that names no address queries this server; a traffic change no router agent picks up
  // within ROLLOUT_AGENT_PICKUP_TIMEOUT fails the rollout fast (the agent is offline) instead of waiting out a deadline.
  PROMETHEUS_URL: z.preprocess(blankAsUnset, z.url().optional()),
  ROLLOUT_AGENT_PICKUP_TIMEOUT: duration('5s'),
  // Every live stream (dashboard, deployment job, agent task, workflow run, agent work): while a client's socket has
  // more than STREAM_MAX_BUFFERED bytes unsent the stream waits, and a client that stays that far behind for
  // STREAM_STALL_TIMEOUT is closed with 4008. The dashboard keeps its events DASHBOARD_EVENT_RETENTION for clients
  // resuming with a last-event id.
  // The worker's dashboard sweep (a Temporal Schedule) records freezes starting and ending, and purges old events, every
  // DASHBOARD_SWEEP_INTERVAL.
  DASHBOARD_EVENT_RETENTION: duration('7d'),
  STREAM_MAX_BUFFERED: positiveInt(1024 * 1024),
  STREAM_STALL_TIMEOUT: duration('10s'),
  DASHBOARD_SWEEP_INTERVAL: duration('15s'),
  // Template runs' notify steps sign each webhook body with HMAC-SHA256 under this key (X-Tollgate-Signature). A secret: never echoed.
  TEMPLATE_NOTIFY_SECRET: optionalString,
  // Keys that encrypt integrations' and plugin instances' secrets (AES-256-GCM), `id:base64key[,…]` as
  // PAYLOAD_ENCRYPTION_KEYS: the first encrypts, all decrypt; `npm run rotate-integration-key` re-encrypts rows under the
  // first. A secret: never echoed. Unset: a dev key in DATA_DIR/keys.
  TOLLGATE_INTEGRATION_KEYS: optionalString,
  // Plugins loaded at start by the API and the worker: comma-separated paths or package names.
  TOLLGATE_PLUGINS: z.string().default(''),
  // A plugin's call (test, health, notify …) is abandoned after this long and recorded on its health.
  PLUGIN_CALL_TIMEOUT: duration('10s'),
  // How often the Temporal Schedule of each integration checks its health.
  INTEGRATION_HEALTH_INTERVAL: duration('5m'),
});

/** The public EC P-256 JWKs of a JWKS or array (private halves dropped), or undefined when the text is not one. */
export function retiredP256Jwks(text: string): Array<Record<string, string>> | undefined {
  try {
    const parsed = JSON.parse(text);
    const keys: unknown = Array.isArray(parsed) ? parsed : parsed?.keys;
    if (!Array.isArray(keys)) return undefined;
    const ok = keys.every((k) => k?.kty === 'EC' && k.crv === 'P-256' && [k.x, k.y, k.kid].every((v) => typeof v === 'string' && v.length > 0));
    return ok ? keys.map(({ kty, crv, x, y, kid }) => ({ kty, crv, x, y, kid })) : undefined;
  } catch {
    return undefined;
  }
}

function isPrivateP256Jwk(text: string): boolean {
  try {
    const jwk = JSON.parse(text);
    return jwk?.kty === 'EC' && jwk.crv === 'P-256' && [jwk.x, jwk.y, jwk.d].every((v) => typeof v === 'string' && v.length > 0);
  } catch {
    return false;
  }
}

export type Env = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

export interface Config extends Omit<Parsed, 'DATA_DIR' | 'DATABASE_URL' | 'AUTH_JWKS'> {
  DATA_DIR: string;
  DATABASE_URL: string;
  /** Inline JWKS (parsed) when no JWKS URL is configured. */
  AUTH_JWKS?: { keys: Record<string, unknown>[] };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    const got = env[name];
    throw new ConfigError(`Configuration error: ${name} ${issue.message}${got !== undefined && !issue.message.includes('got') ? ` (got "${got}")` : ''}`);
  }
  const parsed = result.data;
  if (parsed.HTTP_HEADERS_TIMEOUT > parsed.HTTP_REQUEST_TIMEOUT) {
    throw new ConfigError('Configuration error: HTTP_HEADERS_TIMEOUT must not exceed HTTP_REQUEST_TIMEOUT (the headers are part of the request)');
  }
  const dataDir = path.resolve(parsed.DATA_DIR);
  if (parsed.WORKFLOW_BUNDLE && !existsSync(parsed.WORKFLOW_BUNDLE)) {
    throw new ConfigError(`Configuration error: WORKFLOW_BUNDLE names no file (got "${parsed.WORKFLOW_BUNDLE}"); build it with npm run build, or unset it to bundle at start`);
  }
  let jwks: Config['AUTH_JWKS'];
  if (parsed.AUTH_JWKS) {
    try {
      const value = JSON.parse(parsed.AUTH_JWKS);
      if (!value || !Array.isArray(value.keys)) throw new Error('no "keys" array');
      jwks = value;
    } catch (e) {
      throw new ConfigError(`Configuration error: AUTH_JWKS must be a JSON Web Key Set ({"keys": [...]}): ${(e as Error).message}`);
    }
  } else if (!parsed.AUTH_JWKS_URL) {
    jwks = readDevJwks(dataDir);
  }
  return {
    ...parsed,
    DATA_DIR: dataDir,
    DATABASE_URL: parsed.DATABASE_URL ?? privateClusterUrl(dataDir, parsed.PG_PORT),
    AUTH_JWKS: jwks,
  };
}

/** Where the local stack keeps things; one place so scripts and services agree. */
export const dataPaths = (dataDir: string) => ({
  postgres: path.join(dataDir, 'postgres'),
  postgresPassword: path.join(dataDir, 'postgres-password'),
  temporalDb: path.join(dataDir, 'temporal.sqlite'),
  keys: path.join(dataDir, 'keys'),
  authPrivateKey: path.join(dataDir, 'keys', 'auth-dev.private.jwk.json'),
  authJwks: path.join(dataDir, 'keys', 'auth-dev.jwks.json'),
  evidencePrivateKey: path.join(dataDir, 'keys', 'evidence.private.jwk.json'),
  /** Public halves of dev evidence keys `npm run rotate-evidence-key` retired (a JWKS). */
  evidenceRetiredKeys: path.join(dataDir, 'keys', 'evidence.retired.jwks.json'),
  payloadKeys: path.join(dataDir, 'keys', 'payload-encryption.keys'),
  integrationKeys: path.join(dataDir, 'keys', 'integration-secrets.keys'),
  logs: path.join(dataDir, 'logs'),
});

export const PRIVATE_CLUSTER_DB = 'tollgate';
export const PRIVATE_CLUSTER_USER = 'tollgate';

export function privateClusterUrl(dataDir: string, pgPort: number): string {
  const file = dataPaths(dataDir).postgresPassword;
  const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  const auth = password ? `${PRIVATE_CLUSTER_USER}:${encodeURIComponent(password)}` : PRIVATE_CLUSTER_USER;
  return `postgres://${auth}@127.0.0.1:${pgPort}/${PRIVATE_CLUSTER_DB}`;
}

function readDevJwks(dataDir: string): Config['AUTH_JWKS'] {
  const file = dataPaths(dataDir).authJwks;
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}

export const SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGS;
