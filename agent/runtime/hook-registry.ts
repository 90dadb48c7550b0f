import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../platform/logger';
import { trackCommandsWith, type CommandTracker } from '../hooks/hook-runner';
import { pause } from './retry';
import { readJsonFile, statePaths, writeJsonFile } from './state-files';

/**
 * Hooks run in process groups of their own, so a stopped task reaches every
 * process its hook started. An agent killed outright (SIGKILL, OOM, a host
 * supervisor's hard stop) cannot stop them: they keep running, unseen, deploying
 * to a target that another agent (or this one, restarted) may now be deploying to.
 * So each agent process records the process groups it runs in
 * `<state-dir>/<name>.hooks/<its pid>.json`, and the next start of that agent
 * stops the groups an earlier, dead process left there, with one log line each.
 * The files of a process that still runs are left alone.
 */

interface RecordedHook {
  /** The hook's process group (its shell's pid). */
  pgid: number;
  /** The shell's start time (/proc stat field 22), so a recycled pid is not mistaken for the hook. */
  start: string | null;
  command: string;
  cwd: string;
  startedAt: string;
}

interface HookFile {
  agentPid: number;
  agentStart: string | null;
  hooks: RecordedHook[];
}

export interface ReapedHook {
  pgid: number;
  pids: number[];
  command: string;
  cwd: string;
  startedAt: string;
  agentPid: number;
  /** SIGTERM sufficed within the grace period, else SIGKILL. */
  stoppedBy: 'SIGTERM' | 'SIGKILL';
}

const COMMAND_CHARS = 300;
const REAP_GRACE_MS = 5_000;

export const hookStateDir = (stateDir: string, agentName: string) => statePaths(stateDir, agentName).hooks;

/** From now on, every command this process runs (hooks, command health checks) is recorded in the agent's hook dir. */
export function trackHooksIn(dir: string, log: Logger): CommandTracker {
  const file = path.join(dir, `${process.pid}.json`);
  const running = new Map<number, RecordedHook>();
  const agentStart = processStart(process.pid);
  let warned = false;
  const save = () => {
    try {
      if (running.size === 0) rmSync(file, { force: true });
      else writeJsonFile(file, { agentPid: process.pid, agentStart, hooks: [...running.values()] } satisfies HookFile);
      warned = false;
    } catch (err) {
      // The hook runs all the same; only a later start could not find it if this process died now.
      if (!warned) log.warn({ err: (err as Error).message, file }, 'could not record a running hook');
      warned = true;
    }
  };
  const tracker: CommandTracker = {
    started(pgid, command, cwd) {
      running.set(pgid, { pgid, start: processStart(pgid), command: command.slice(0, COMMAND_CHARS), cwd, startedAt: new Date().toISOString() });
      save();
      return () => {
        if (running.delete(pgid)) save();
      };
    },
  };
  trackCommandsWith(tracker);
  return tracker;
}

/** Stops the hooks earlier, dead processes of this agent left running, and forgets their records. */
export async function reapLeftoverHooks(dir: string, log: Logger, graceMs = REAP_GRACE_MS): Promise<ReapedHook[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const reaped: ReapedHook[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let saved: HookFile | undefined;
    try {
      saved = readJsonFile<HookFile>(file);
    } catch {
      log.warn({ file }, 'a hook record is not valid JSON: removed');
    }
    if (saved && saved.agentPid !== process.pid && sameProcess(saved.agentPid, saved.agentStart)) {
      log.warn({ pid: saved.agentPid, file }, 'another process of this agent still runs: its hooks are left alone');
      continue;
    }
    for (const hook of saved?.hooks ?? []) {
      const pids = groupMembers(hook.pgid);
      if (pids.length === 0) continue;
      // The shell alive but started at another time: its pid was given to a new process, which is not ours to stop.
      if (pids.includes(hook.pgid) && hook.start !== null && processStart(hook.pgid) !== hook.start) continue;
      const stoppedBy = await stopGroup(hook.pgid, graceMs);
      const entry: ReapedHook = { pgid: hook.pgid, pids, command: hook.command, cwd: hook.cwd, startedAt: hook.startedAt, agentPid: saved!.agentPid, stoppedBy };
      reaped.push(entry);
      log.warn(entry, `stopped a hook that agent process ${entry.agentPid} left running when it died (process group ${entry.pgid}, ${entry.stoppedBy})`);
    }
    rmSync(file, { force: true });
  }
  return reaped;
}

async function stopGroup(pgid: number, graceMs: number): Promise<'SIGTERM' | 'SIGKILL'> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return 'SIGTERM';
    await pause(50);
  }
  signalGroup(pgid, 'SIGKILL');
  while (groupMembers(pgid).length > 0 && Date.now() < deadline + 2_000) await pause(50);
  return 'SIGKILL';
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: gone already.
  }
}

/**
 * The live (not zombie) processes of a process group. From /proc where there is one: a group whose members
 * are zombies no parent reaps (a container without an init) still takes signals, but runs nothing.
 */
export function groupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const entry of entries) {
    const stat = readStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(Number(entry));
  }
  return members;
}

/** A process's start time since boot (clock ticks, as text), or null when it is gone or there is no /proc. */
export function processStart(pid: number): string | null {
  return readStat(pid)?.start ?? null;
}

function sameProcess(pid: number, start: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = readStat(pid);
  if (now) return now.state !== 'Z' && (start === null || now.start === start);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readStat(pid: number): { state: string; pgrp: number; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself: fields follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], pgrp: Number(fields[2]), start: fields[19] };
}
