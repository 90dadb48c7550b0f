import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevKeys } from '../../platform/dev-keys';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { ROOT } from '../support/processes';
import { blockMark, failedReadmeLine, lastBlockStarted, readmeBlocks, runnableSections, sectionScript } from '../support/readme-blocks';

/**
 * The README's shell blocks, read from README.md itself, run as a newcomer
 * pastes them: `bash -euo pipefail` in a fresh environment (PATH, HOME and what
 * the README says to have: the stack's URL, and the stack's data dir that
 * `npm run -s token` and the agents find a running `npm start` by), one shell
 * per heading, against a stack on free ports. A block that stops working fails
 * this test with its heading, its line and its output (README_BLOCKS_VERBOSE=1
 * prints every section's output).
 */
const { blocks, problems } = readmeBlocks();
const sections = runnableSections(blocks);
const SECTION_TIMEOUT_MS = 240_000;

let app: TestApp;
let dataDir: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  // The dev keys `npm start` would have made: the token helper signs with this one, and the API trusts it.
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-readme-'));
  const { jwks } = await ensureDevKeys(dataDir);
  // The README's notification and http gate walkthroughs start the stack with the example plugins loaded.
  const plugins = [path.join(ROOT, 'plugins/example-notifier'), path.join(ROOT, 'plugins/example-gate')].join(',');
  app = await startTestApp({ env: { AUTH_JWKS: JSON.stringify(jwks), TOLLGATE_PLUGINS: plugins } });
}, 120_000);

afterAll(async () => {
  stopDemoServices();
  stopRouters();
  await app?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  console.log(`README blocks timings (ms): ${JSON.stringify(timings)}`);
}, 60_000);

test('every shell block of the README is run by this test or marked skipped with a reason', () => {
  expect(problems).toEqual([]);
  for (const b of blocks.filter((x) => x.skip !== undefined)) expect({ line: b.line, reason: b.skip!.trim() }).toEqual({ line: b.line, reason: expect.stringMatching(/\S/) });
  // A block reaches the stack through TOLLGATE_URL (npm start's address by default): one that names the address itself
  // would reach whatever listens there, not the stack under test.
  const hardWired = sections.flatMap((s) => s.blocks).filter((b) => b.code.replaceAll('${TOLLGATE_URL:-http://127.0.0.1:3000}', '').includes('127.0.0.1:3000'));
  expect(hardWired.map((b) => b.line)).toEqual([]);
  // The walkthroughs a newcomer is pointed at must be among those that run.
  const ran = new Set(sections.map((s) => s.section));
  for (const heading of ['Get a token and try it', 'Promotions', 'Incidents', 'Try it: two agents, two targets, the demo service']) {
    expect([...ran]).toContain(heading);
  }
});

describe.each(sections.map((s) => [s.section, s.blocks] as const))('README section "%s"', (section, sectionBlocks) => {
  test(`its blocks (README.md lines ${sectionBlocks.map((b) => b.line).join(', ')}) run as written`, async () => {
    const started = Date.now();
    const { script, readmeLines } = sectionScript(sectionBlocks);
    const result = await runSection(script);
    timings[section] = Date.now() - started;
    if (process.env.README_BLOCKS_VERBOSE) console.log(`README section "${section}":\n${result.output}`);
    if (result.code !== 0) {
      const failed = lastBlockStarted(result.output, sectionBlocks);
      const from = result.output.lastIndexOf(blockMark(failed.line));
      const line = failedReadmeLine(result.output, readmeLines);
      throw new Error(
        `README section "${section}": the block at README.md:${failed.line} failed` +
          `${line ? ` at README.md:${line}` : ''} (${result.code === null ? `timed out after ${SECTION_TIMEOUT_MS} ms` : `exit ${result.code}`}):\n` +
          result.output.slice(Math.max(from, result.output.length - 6000)),
      );
    }
  }, SECTION_TIMEOUT_MS + 30_000);
});

/** Runs a section's blocks in one shell of its own process group, and stops whatever it left running (agents). */
async function runSection(script: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.homedir(),
      LANG: process.env.LANG ?? 'C.UTF-8',
      TOLLGATE_URL: app.url,
      DATA_DIR: dataDir,
    },
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), SECTION_TIMEOUT_MS);
  const code = await exited;
  clearTimeout(timer);
  // Background processes the blocks started (the walkthrough's agents) share the shell's process group.
  await stopGroup(child.pid!);
  return { code, output };
}

function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // the group is empty
  }
}

async function stopGroup(pgid: number): Promise<void> {
  if (!killGroup(pgid, 'SIGTERM')) return;
  try {
    // Longer than an agent's own shutdown grace (10 s), so it stops the router it runs before it goes.
    await until(`the processes of README shell ${pgid} to stop`, async () => !killGroup(pgid, 0), 20_000, 100);
  } catch {
    killGroup(pgid, 'SIGKILL');
  }
}

/** An agent that had to be killed leaves its HAProxy (detached, master-worker) serving: stop the masters under this run's data dir. */
function stopRouters(): void {
  const agents = path.join(dataDir, 'agents');
  if (!existsSync(agents)) return;
  for (const dir of readdirSync(agents).filter((d) => d.endsWith('.router'))) {
    const pidFile = path.join(agents, dir, 'haproxy', 'haproxy.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.join(agents, dir))) continue;
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/** The demo services the walkthrough's deploy hooks started run detached; their PIDs are in the agents' work dirs. */
function stopDemoServices(): void {
  const work = path.join(dataDir, 'agents', 'work');
  if (!existsSync(work)) return;
  for (const target of readdirSync(work)) {
    const pidFile = path.join(work, target, 'service.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    // Only a PID that is still the demo service (as demo/deploy-hook.sh checks before it stops one): PIDs are reused.
    if (Number.isInteger(pid) && pid > 0 && isDemoService(pid)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}

function isDemoService(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('demo/service.ts');
  } catch {
    return false; // gone
  }
}
