import path from 'node:path';
import { readPidFile } from './stack';
import { belongsToDataDir, freePort, PROJECT_ROOT, startLogged, stopProcess, waitFor } from '../../scripts/stack/processes';
import { Supervisor, type Running } from '../../scripts/stack/supervisor';
import type { LocalStack, Service } from './stack';

/** A process to kill: one `npm start` supervises, or the second replica of the API or the worker (`api#2`, `worker#2`). */
export type Target = Service | 'api#2' | 'worker#2';
export const REPLICA_TARGETS = ['api#2', 'worker#2'] as const;

/** The kind of process a target is (the API, the worker, Postgres, Temporal), for resume times per kind. */
export const kindOf = (target: Target) => target.replace(/#\d+$/, '');

const running = new Set<() => Promise<void>>();

/** Stops every replica set this process started and has not stopped yet (for Ctrl-C). */
export async function stopAllReplicas(): Promise<void> {
  await Promise.all([...running].map((stop) => stop().catch(() => undefined)));
}

export interface Replicas {
  /** The second API's base URL. */
  apiUrl: string;
  pidOf(target: (typeof REPLICA_TARGETS)[number]): number | undefined;
  stop(): Promise<void>;
}

/**
 * A second API and a second orchestrator worker beside `npm start`'s, against
 * the same Postgres and Temporal, as more replicas run in production: started
 * from what `npm start` built and with the environment it gives its own, and restarted when they die, as a process
 * manager would, by a supervisor of their own (PID files in DATA_DIR/replica-2).
 */
export async function startReplicas(stack: LocalStack, env: Record<string, string>, logFile: string, say: (msg: string) => void): Promise<Replicas> {
  const apiPort = await freePort();
  const common: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    ...env,
    DATA_DIR: stack.dataDir,
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    WORKFLOW_BUNDLE: path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js'),
    HEALTH_WORKER_STALE_AFTER: '30s',
  };
  const supervisor = new Supervisor(path.join(stack.dataDir, 'replica-2'), (e) =>
    say(`replica ${e.service}#2 ${e.event}${e.pid ? ` (pid ${e.pid})` : ''}${e.error ? `: ${e.error}` : ''}`),
  );
  // The JavaScript npm start built (dist/), as its own API and worker run.
  const node = (entry: string, extra: NodeJS.ProcessEnv) =>
    startLogged(process.execPath, ['--enable-source-maps', path.join(PROJECT_ROOT, 'dist', entry)], logFile, { cwd: PROJECT_ROOT, env: { ...common, ...extra } });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await supervisor.start({
    name: 'worker',
    start: async (): Promise<Running> => {
      const child = node('worker.js', { WORKER_METRICS_PORT: String(await freePort()) });
      return { child, stop: () => stopProcess(child, 15_000) };
    },
  });
  await supervisor.start({
    name: 'api',
    start: async (): Promise<Running> => {
      // Published at spawn, as npm start publishes its own API, so "restarted" means the same for both.
      const child = node('api.js', { PORT: String(apiPort), HOST: '127.0.0.1' });
      return { child, stop: () => stopProcess(child, 15_000) };
    },
  });
  const listening = async () => fetch(`${apiUrl}/api/v1/health`).then(() => true, () => false);
  await waitFor('the second API', listening, 120_000);
  say(`second API on ${apiUrl} and a second worker, both on npm start's Postgres and Temporal`);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= supervisor.stopAll([['api', 'worker']]).finally(() => running.delete(stop)));
  running.add(stop);
  return {
    apiUrl,
    pidOf: (target) => {
      const pid = readPidFile(supervisor.pidFile(kindOf(target) as 'api' | 'worker'));
      return pid !== undefined && belongsToDataDir(pid, stack.dataDir) ? pid : undefined;
    },
    stop,
  };
}
