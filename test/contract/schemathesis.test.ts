import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureSchemathesis } from '../../scripts/stack/schemathesis';
import { startTestApp, type TestApp } from '../support/app';

/**
 * The OpenAPI documents are the contract: schemathesis (`--checks all`, every
 * phase including the stateful one that follows the documents' links) runs
 * against the real stack for each dialect's document, and any finding fails
 * the test with schemathesis's own report (each with a curl to reproduce it).
 * Seeded, derandomized and bounded so a run is the same run every time.
 *
 * test/contract/schemathesis.toml holds its settings, and
 * schemathesis_hooks.py what the documents state in words (JSON Schema cannot).
 * CONTRACT_ARGS adds schemathesis options for a local look, e.g.
 * `CONTRACT_ARGS='--include-path-regex /changes --report ndjson' npm test -- test/contract`.
 */
const CONFIG = path.join(__dirname, 'schemathesis.toml');
const HOOKS = path.join(__dirname, 'schemathesis_hooks.py');
const SEED = '20260519';

const DOCUMENTS = {
  Stella: '/api/v1/openapi.json',
  StackFlow: '/prod/api/openapi.json',
} as const;
type Dialect = keyof typeof DOCUMENTS;

/**
 * Both dialects are served by the same handlers and validators; what differs
 * is each document's bodies, paging parameters and links. The coverage phase
 * (every boundary and invalid value of every parameter: most of a run's
 * cases) runs on the Stella document; the StackFlow one gets every other phase.
 */
const PHASES: Record<Dialect, string> = {
  Stella: 'examples,coverage,fuzzing,stateful',
  StackFlow: 'examples,fuzzing,stateful',
};

let app: TestApp;
let workDir: string;
const runs = new Map<Dialect, Promise<{ code: number; output: string }>>();

beforeAll(async () => {
  const cli = await ensureSchemathesis((msg) => process.stdout.write(`[contract] ${msg}\n`));
  // A run sends a few thousand requests from one user; the limiter must not be what answers.
  app = await startTestApp({ env: { RATE_LIMIT_USER: '10000000', RATE_LIMIT_TENANT: '10000000' } });
  workDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-schemathesis-'));
  // Both documents at once, each in its own tenant so neither run sees the other's data (the two cores are
  // mostly spent in schemathesis's own generation, one process each).
  for (const dialect of Object.keys(DOCUMENTS) as Dialect[]) {
    const token = await app.token('contract@example.com', { roles: ['admin'], tenant: `${app.tenant}-${dialect.toLowerCase()}`, ttlSeconds: 3 * 3600 });
    runs.set(dialect, schemathesis(cli, dialect, token));
  }
  // Rejections are read by each test; none may go unhandled meanwhile.
  for (const run of runs.values()) run.catch(() => undefined);
}, 15 * 60_000);

afterAll(async () => {
  await Promise.allSettled(runs.values());
  await app?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test.each(Object.keys(DOCUMENTS) as Dialect[])('the %s document agrees with the server (schemathesis --checks all)', async (dialect) => {
  const { code, output } = await runs.get(dialect)!;
  if (code !== 0) throw new Error(`schemathesis found disagreements with ${DOCUMENTS[dialect]} (exit ${code}):\n${findings(output)}`);
}, 15 * 60_000);

/** The report's findings first (jest keeps a message's tail only when it is long): from its FAILURES heading on. */
function findings(output: string): string {
  const start = output.search(/^=+ FAILURES =+$/m);
  return (start >= 0 ? output.slice(start) : output).slice(0, 30_000);
}

function schemathesis(cli: string, dialect: Dialect, token: string): Promise<{ code: number; output: string }> {
  const args = [
    '--config-file',
    CONFIG,
    'run',
    `${app.url}${DOCUMENTS[dialect]}`,
    '--checks',
    'all',
    '--header',
    `Authorization: Bearer ${token}`,
    '--seed',
    SEED,
    '--generation-deterministic',
    '--phases',
    PHASES[dialect],
    '--workers',
    '1',
    '--no-color',
    ...(process.env.CONTRACT_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
  return new Promise((resolve, reject) => {
    // Its working directory is a scratch one: schemathesis keeps caches and reports next to it.
    const cwd = mkdtempSync(path.join(workDir, `${dialect}-`));
    const child = spawn(cli, args, { cwd, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: HOOKS }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}
