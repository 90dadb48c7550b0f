import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import pg from 'pg';
import { ConfigError, dataPaths, loadConfig, privateClusterUrl } from '../platform/config';
import { evidenceVerificationKeys, verifyEvidence, type EvidencePacket } from '../platform/evidence';
import { localDataDir } from './stack/data-dir';

/**
 * Verifies evidence packets offline:
 *   npm run verify-evidence -- packet.json                       (a packet, or the API's envelope around one)
 *   npm run verify-evidence -- <promotionId>                      (every packet of it, from Postgres: DATABASE_URL or the local stack)
 *   npm run verify-evidence -- <promotionId> --api http://127.0.0.1:3000 --token $TOKEN [--decision approved]
 * against --jwks FILE|URL, else the API's /api/v1/evidence/jwks.json with --api,
 * else the local dev evidence key (EVIDENCE_SIGNING_KEY or DATA_DIR/keys).
 * Prints one verdict per packet; exits 0 when all verify, 1 when any does not
 * (tampered, unknown key), 2 when there was nothing to verify.
 */
const USAGE =
  'usage: npm run verify-evidence -- <packet.json | promotionId> [--jwks FILE|URL] [--api URL --token TOKEN] [--decision approved|rejected|expired|cancelled|deployed|failed]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      jwks: { type: 'string' },
      api: { type: 'string' },
      token: { type: 'string' },
      decision: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(USAGE);
  const [target] = positionals;
  const api = values.api?.replace(/\/+$/, '');

  const packets = existsSync(target) ? packetsInFile(target) : UUID.test(target) ? await packetsOfPromotion(target, api, values.token, values.decision) : undefined;
  if (!packets) throw new UsageError(`${target} is neither a file nor a promotion id\n${USAGE}`);
  if (packets.length === 0) throw new UsageError(`no evidence packets found for ${target}${values.decision ? ` (decision ${values.decision})` : ''}`);

  const { jwks, source } = await keysFrom(values.jwks, api);
  console.log(`keys: ${source} (${jwks.keys.map((k) => k.kid).join(', ') || 'none'})`);
  let failures = 0;
  for (const packet of packets) {
    const outcome = await verifyEvidence(packet, jwks);
    const what = describe(packet);
    if (outcome.valid) console.log(`VALID    ${what}: signed by ${outcome.kid}, ${packet.contentHash}`);
    else {
      failures += 1;
      console.log(`INVALID  ${what}: ${outcome.reason}`);
    }
  }
  return failures ? 1 : 0;
}

function packetsInFile(file: string): EvidencePacket[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  // The API answers in its envelope; a saved response verifies as well as the bare packet.
  const unwrapped = value && typeof value === 'object' && 'data' in value && (value as { success?: unknown }).success === true ? (value as { data: unknown }).data : value;
  return (Array.isArray(unwrapped) ? unwrapped : [unwrapped]) as EvidencePacket[];
}

async function packetsOfPromotion(id: string, api: string | undefined, token: string | undefined, decision: string | undefined): Promise<EvidencePacket[]> {
  if (api) {
    if (!token) throw new UsageError('--api needs --token (npm run -s token -- --user … --tenant … --roles viewer)');
    const res = await fetch(`${api}/api/v1/promotions/${id}/evidence${decision ? `?decision=${encodeURIComponent(decision)}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json().catch(() => undefined)) as { data?: EvidencePacket; error?: { message?: string } } | undefined;
    if (res.status === 404) return [];
    if (!res.ok || !body?.data) throw new UsageError(`${api} answered ${res.status}: ${body?.error?.message ?? 'no packet'}`);
    return [body.data];
  }
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ packet: EvidencePacket }>(
      'SELECT packet FROM evidence_packets WHERE promotion_id = $1 AND ($2::text IS NULL OR decision = $2) ORDER BY generated_at, decision',
      [id, decision ?? null],
    );
    return rows.map((r) => r.packet);
  } finally {
    await client.end();
  }
}

async function keysFrom(jwks: string | undefined, api: string | undefined): Promise<{ jwks: { keys: JWK[] }; source: string }> {
  if (jwks && /^https?:\/\//.test(jwks)) return { jwks: await fetchJwks(jwks), source: jwks };
  if (jwks) {
    if (!existsSync(jwks)) throw new UsageError(`--jwks ${jwks}: no such file`);
    return { jwks: asJwks(JSON.parse(readFileSync(jwks, 'utf8')), jwks), source: jwks };
  }
  if (api) return { jwks: await fetchJwks(`${api}/api/v1/evidence/jwks.json`), source: `${api}/api/v1/evidence/jwks.json` };
  const config = loadConfig();
  const dataDir = localDataDir(config);
  const local = evidenceVerificationKeys({ ...config, DATA_DIR: dataDir }, { create: false });
  // Only public halves are used; where the private key lives is not for the terminal (or a CI log) to show.
  if (!local.keys.length) throw new UsageError('no evidence key: set EVIDENCE_SIGNING_KEY, give --jwks or --api, or run it beside the local stack (npm start) that signed the packets');
  const current = config.EVIDENCE_SIGNING_KEY ? 'EVIDENCE_SIGNING_KEY (its public half)' : 'the local dev evidence key (its public half)';
  return { jwks: local, source: local.keys.length > 1 ? `${current} and the retired keys` : current };
}

async function fetchJwks(url: string): Promise<{ keys: JWK[] }> {
  const res = await fetch(url);
  if (!res.ok) throw new UsageError(`${url} answered ${res.status}`);
  return asJwks(await res.json(), url);
}

function asJwks(value: unknown, from: string): { keys: JWK[] } {
  if (!value || typeof value !== 'object' || !Array.isArray((value as { keys?: unknown }).keys)) throw new UsageError(`${from} is not a JSON Web Key Set ({"keys": [...]})`);
  return value as { keys: JWK[] };
}

function databaseUrl(): string {
  const config = loadConfig();
  if (process.env.DATABASE_URL?.trim()) return config.DATABASE_URL;
  const dataDir = localDataDir(config);
  return privateClusterUrl(dataDir, process.env.PG_PORT?.trim() ? config.PG_PORT : (runningClusterPort(dataDir) ?? config.PG_PORT));
}

/** The port the data directory's running Postgres listens on (postmaster.pid's fourth line): a stack started with its own PG_PORT. */
function runningClusterPort(dataDir: string): number | undefined {
  try {
    const port = Number(readFileSync(path.join(dataPaths(dataDir).postgres, 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof UsageError || err instanceof ConfigError ? err.message : (err as Error).stack ?? String(err));
    process.exit(2);
  },
);

/** What a signed file is: a promotion's decision, or an audit report's manifest of its files. */
function describe(packet: { id?: string; type?: string; content?: Record<string, unknown> } | undefined): string {
  const content = packet?.content ?? {};
  if (packet?.type === 'audit_report') return `${packet.id ?? '?'} (manifest of audit report ${String(content.reportId ?? '?')})`;
  return `${packet?.id ?? '?'} (${String(content.decision ?? '?')} of promotion ${String(content.promotionId ?? '?')})`;
}
