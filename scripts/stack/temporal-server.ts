import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../../domain/search-attributes';
import { startLogged, stopProcess, waitFor } from './processes';

export interface DevServerOptions {
  cli: string;
  dbFile: string;
  port: number;
  uiPort: number;
  headless?: boolean;
  logFile: string;
  /** In its own process group, so a terminal's Ctrl-C reaches only the supervisor, which stops things in order. */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** How long the dev server holds an idle task-queue poll open. */
export const DEV_SERVER_LONG_POLL = '10s';

/** The Temporal CLI dev server on SQLite (WAL), with the UI and Tollgate's search attributes. */
export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--db-filename', options.dbFile,
    '--sqlite-pragma', 'journal_mode=WAL',
    '--sqlite-pragma', 'synchronous=NORMAL',
    '--log-level', 'warn',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true',
    // An idle worker's polls are renewed every 10 s instead of every minute, so /health notices a dead worker
    // (no recent poller on its task queue) within seconds; see HEALTH_WORKER_STALE_AFTER.
    '--dynamic-config-value', `matching.longPollExpirationInterval="${DEV_SERVER_LONG_POLL}"`,
  ];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_REGISTRATION)) args.push('--search-attribute', `${name}=${type}`);

  const child = startLogged(options.cli, args, options.logFile, { detached: options.detached ?? false });
  const address = `127.0.0.1:${options.port}`;
  const logTail = () => (existsSync(options.logFile) ? `Its log (${options.logFile}) ends with:\n${tail(options.logFile)}` : '');
  let gone = false;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => {
      gone = true;
      reject(new Error(`The Temporal dev server exited (${signal ?? `code ${code}`}) before it answered. ${logTail()}`));
    }),
  );
  exited.catch(() => undefined);
  try {
    const ready = waitFor(`Temporal dev server on ${address}`, () => temporalAnswers(address), 90_000, logTail, () => gone);
    ready.catch(() => undefined);
    await Promise.race([ready, exited]);
  } catch (err) {
    await stopProcess(child, 5_000);
    throw err;
  }
  return {
    address,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${options.uiPort}`,
    child,
    stop: () => stopProcess(child, 15_000),
  };
}

export async function temporalAnswers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '1s' });
  try {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } finally {
    await connection.close();
  }
}

function tail(file: string, lines = 15): string {
  return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
}

export const temporalLogFile = (dataDir: string) => path.join(dataDir, 'logs', 'temporal.log');
