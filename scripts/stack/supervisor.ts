import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { failuresAfter, restartDelay, RESTART_POLICY, type RestartPolicy } from './backoff';

/** The processes `npm start` supervises; each one's current PID is in `DATA_DIR/run/<name>.pid`. */
export const SERVICE_NAMES = ['postgres', 'temporal', 'worker', 'api'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface Running {
  child: ChildProcess;
  /** The PID to publish, when it is not the child's own. */
  pid?: number;
  /** Stops it gracefully; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ServiceSpec {
  name: ServiceName;
  /** Starts the process and resolves once it serves; rejects, leaving nothing running, when it cannot. */
  start(): Promise<Running>;
}

export interface SupervisorEvent {
  event: 'started' | 'exited' | 'restarted' | 'restart_failed';
  service: ServiceName;
  pid?: number;
  code?: number | null;
  signal?: string | null;
  /** Failed or short-lived runs in a row, this one included. */
  failures?: number;
  restartInMs?: number;
  error?: string;
}

interface Slot {
  spec: ServiceSpec;
  running?: Running;
  startedAt: number;
  failures: number;
  launching?: Promise<void>;
  timer?: NodeJS.Timeout;
}

/**
 * Keeps `npm start`'s services running: a process that dies is started again
 * with back-off (same data, same ports), and each death and restart is
 * reported once. The PID files are the contract for tests and the fault
 * suite: rewritten on every (re)start, removed when the process dies or stops.
 */
export class Supervisor {
  private readonly slots = new Map<ServiceName, Slot>();
  private stopping = false;

  constructor(
    readonly runDir: string,
    private readonly report: (event: SupervisorEvent) => void,
    private readonly policy: RestartPolicy = RESTART_POLICY,
  ) {
    mkdirSync(runDir, { recursive: true });
  }

  pidFile(name: ServiceName): string {
    return path.join(this.runDir, `${name}.pid`);
  }

  /** The first start: its failure reaches the caller (start-up fails loudly); later deaths are restarted. */
  async start(spec: ServiceSpec): Promise<void> {
    const slot: Slot = { spec, startedAt: Date.now(), failures: 0 };
    this.slots.set(spec.name, slot);
    slot.launching = this.launch(slot);
    try {
      await slot.launching;
    } finally {
      slot.launching = undefined;
    }
    this.report({ event: 'started', service: spec.name, pid: this.publishedPid(slot.running!) });
  }

  /** Stops every service, group after group (the services of one group together), and restarts nothing after. */
  async stopAll(groups: ServiceName[][]): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    for (const group of groups) {
      await Promise.all(
        group.map(async (name) => {
          const slot = this.slots.get(name);
          if (!slot) return;
          // A start under way finishes first and then stops itself (launch checks `stopping`).
          await slot.launching?.catch(() => undefined);
          const running = slot.running;
          if (!running) return;
          await running.stop();
          this.removePid(name, this.publishedPid(running));
        }),
      );
    }
  }

  private async launch(slot: Slot): Promise<void> {
    const running = await slot.spec.start();
    if (this.stopping) {
      await running.stop().catch(() => undefined);
      throw new Error(`${slot.spec.name} was started while stopping`);
    }
    slot.running = running;
    slot.startedAt = Date.now();
    this.writePid(slot.spec.name, this.publishedPid(running));
    const { child } = running;
    const exited = () => this.onExit(slot, running, child.exitCode, child.signalCode);
    if (child.exitCode !== null || child.signalCode !== null) exited();
    else child.once('exit', exited);
  }

  private onExit(slot: Slot, running: Running, code: number | null, signal: string | null): void {
    if (slot.running !== running) return;
    slot.running = undefined;
    const pid = this.publishedPid(running);
    this.removePid(slot.spec.name, pid);
    if (this.stopping) return;
    slot.failures = failuresAfter(slot.failures, Date.now() - slot.startedAt, this.policy);
    const delay = restartDelay(slot.failures, this.policy);
    this.report({ event: 'exited', service: slot.spec.name, pid, code, signal, failures: slot.failures, restartInMs: delay });
    this.scheduleRestart(slot, delay);
  }

  private scheduleRestart(slot: Slot, delay: number): void {
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.stopping) return;
      slot.launching = this.launch(slot)
        .then(
          () => this.report({ event: 'restarted', service: slot.spec.name, pid: this.publishedPid(slot.running!), failures: slot.failures }),
          (err) => {
            if (this.stopping) return;
            slot.failures += 1;
            const next = restartDelay(slot.failures, this.policy);
            this.report({ event: 'restart_failed', service: slot.spec.name, failures: slot.failures, restartInMs: next, error: firstLine(err) });
            this.scheduleRestart(slot, next);
          },
        )
        .finally(() => (slot.launching = undefined));
    }, delay);
  }

  private publishedPid(running: Running): number {
    return running.pid ?? running.child.pid!;
  }

  private writePid(name: ServiceName, pid: number): void {
    const file = this.pidFile(name);
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, `${pid}\n`);
    renameSync(partial, file);
  }

  /** Removes the file only while it still names `pid`: a newer start may already have replaced it. */
  private removePid(name: ServiceName, pid: number): void {
    const file = this.pidFile(name);
    if (!existsSync(file)) return;
    if (Number(readFileSync(file, 'utf8').trim()) === pid) rmSync(file, { force: true });
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
