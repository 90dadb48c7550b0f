import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { groupMembers, processStart, reapLeftoverHooks } from '../../agent/runtime/hook-registry';
import { createLogger } from '../../platform/logger';
import { until } from '../support/eventually';
import { spawnTs, type Spawned } from '../support/processes';

/**
 * Hooks outlive an agent killed outright (they run in process groups of their own). The agent records them; the
 * next start stops the ones a dead agent process left and says so, and leaves alone what is not such a hook: the
 * hooks of an agent process that still runs, and a process that merely inherited a recorded pid.
 */

let root: string;
let hooks: string;
const started: Spawned[] = [];
const groups: number[] = [];

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'hook-reaping-'));
  hooks = path.join(root, 'agent.hooks');
});
afterEach(async () => {
  for (const proc of started.splice(0)) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

function capture() {
  const lines: any[] = [];
  const log = createLogger('agent', 'info', new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  return { log, lines };
}

/** A process running `command` as an agent's hook; resolves with it and the hook's process group once recorded. */
async function holder(command: string): Promise<{ proc: Spawned; pgid: number }> {
  const proc = spawnTs('test/support/hook-holder.ts', {}, [hooks, root, command]);
  started.push(proc);
  const file = path.join(hooks, `${proc.child.pid}.json`);
  const saved = await until('the hook to be recorded', () => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')), 30_000, 50);
  const pgid = saved.hooks[0].pgid as number;
  groups.push(pgid);
  await until('the hook to run', () => groupMembers(pgid).length >= 2, 10_000, 50);
  return { proc, pgid };
}

test('an agent process killed mid-hook leaves the hook running; the next start stops its whole process group and logs it', async () => {
  // A hook that ignores SIGTERM in a child, as a careless deploy script may: only SIGKILL ends the group.
  const { proc, pgid } = await holder(`trap '' TERM; sh -c "trap '' TERM; sleep 300" & sleep 300; wait`);
  proc.child.kill('SIGKILL');
  await proc.exited;
  // Killed outright: nothing stopped the hook.
  expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(2);

  const { log, lines } = capture();
  const reaped = await reapLeftoverHooks(hooks, log, 500);
  expect(reaped).toEqual([expect.objectContaining({ pgid, agentPid: proc.child.pid, stoppedBy: 'SIGKILL', cwd: root, command: expect.stringContaining('sleep 300') })]);
  expect(groupMembers(pgid)).toEqual([]);
  expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', pgid, agentPid: proc.child.pid, msg: expect.stringMatching(/stopped a hook that agent process \d+ left running when it died/) }));
  expect(readdirSync(hooks)).toEqual([]);
});

test('a hook that stops on SIGTERM is stopped with SIGTERM', async () => {
  const { proc, pgid } = await holder('sleep 300; echo never');
  proc.child.kill('SIGKILL');
  await proc.exited;
  const { log } = capture();
  expect((await reapLeftoverHooks(hooks, log, 5_000)).map((r) => r.stoppedBy)).toEqual(['SIGTERM']);
  expect(groupMembers(pgid)).toEqual([]);
});

test('the hooks of an agent process that still runs are left alone', async () => {
  const { pgid } = await holder('sleep 300; echo never');
  const { log, lines } = capture();
  expect(await reapLeftoverHooks(hooks, log, 500)).toEqual([]);
  expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(1);
  expect(lines).toContainEqual(expect.objectContaining({ msg: 'another process of this agent still runs: its hooks are left alone' }));
});

test('a recorded pid now held by another process (started later) is not the hook: it is left alone', async () => {
  const other = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  groups.push(other.pid!);
  await until('the process to run', () => processStart(other.pid!) !== null, 5_000, 20);
  mkdirSync(hooks, { recursive: true });
  // A dead agent's record naming that pid, from a process that started at another time.
  writeFileSync(path.join(hooks, '999999.json'), JSON.stringify({ agentPid: 999_999, agentStart: '1', hooks: [{ pgid: other.pid, start: '1', command: 'sh deploy.sh', cwd: root, startedAt: new Date().toISOString() }] }));
  const { log } = capture();
  expect(await reapLeftoverHooks(hooks, log, 500)).toEqual([]);
  expect(groupMembers(other.pid!)).toEqual([other.pid]);
  expect(readdirSync(hooks)).toEqual([]);
});
