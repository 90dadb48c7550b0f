import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrometheus } from '../../scripts/stack/prometheus';
import { freePort } from '../../scripts/stack/processes';
import { until } from './eventually';

/**
 * A real Prometheus (Debian's package) for a test: its own free port, a
 * throwaway storage directory, and a config scraping the given demo services'
 * /metrics every second, so a rate over a few seconds already has samples.
 * Ready once /-/ready answers and every target is up; stopped by its PID.
 */
export interface PrometheusProcess {
  url: string;
  pid: number;
  output(): string;
  /** The health of each scraped target (`host:port` → `up`/`down`/`unknown`), as /api/v1/targets reports it. */
  targets(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export const SCRAPE_INTERVAL_S = 1;

/** `up`: the ports that must be scraped before it counts as started (default every one; a service started later may be left out). */
export async function startPrometheus(scrape: Array<{ port: number; labels?: Record<string, string> }>, options: { up?: number[]; timeoutMs?: number } = {}): Promise<PrometheusProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const up = options.up ?? scrape.map((t) => t.port);
  const binary = ensurePrometheus(() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    `  scrape_interval: ${SCRAPE_INTERVAL_S}s`,
    `  scrape_timeout: ${SCRAPE_INTERVAL_S}s`,
    'scrape_configs:',
    '  - job_name: demo',
    '    static_configs:',
    ...scrape.flatMap((t) => [
      `      - targets: ["127.0.0.1:${t.port}"]`,
      ...(t.labels ? ['        labels:', ...Object.entries(t.labels).map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`)] : []),
    ]),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const child = spawn(binary, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    if (alive()) {
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => alive() && process.kill(child.pid!, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const targets = async () => {
    const res = await fetch(`${url}/api/v1/targets`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { data: { activeTargets: Array<{ labels: { instance: string }; health: string }> } };
    return Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.instance, t.health]));
  };
  const answers = async (p: string) => {
    if (!alive()) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}):\n${out.slice(-3000)}`);
    try {
      return (await fetch(`${url}${p}`, { signal: AbortSignal.timeout(2_000) })).status === 200;
    } catch {
      return false;
    }
  };

  try {
    await until('prometheus to be ready', () => answers('/-/ready'), timeoutMs, 100);
    await until('prometheus to scrape every demo service', async () => {
      if (!(await answers('/api/v1/targets'))) return false;
      const health = await targets();
      return up.every((port) => health[`127.0.0.1:${port}`] === 'up');
    }, timeoutMs, 200);
  } catch (err) {
    (err as Error).message += `\nprometheus output:\n${out.slice(-3000)}`;
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, output: () => out, targets, stop };
}
