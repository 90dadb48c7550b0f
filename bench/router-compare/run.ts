import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HaproxyProvider } from '../../agent/traffic/haproxy';
import { NginxProvider } from '../../agent/traffic/nginx';
import type { TrafficProvider } from '../../agent/traffic/provider';
import { startDemoService } from '../../demo/service';
import type { TrafficSpec } from '../../domain/traffic';
import { createLogger } from '../../platform/logger';
import { ensureHaproxy } from '../../scripts/stack/haproxy';
import { ensureNginx } from '../../scripts/stack/nginx';
import { freePort } from '../../scripts/stack/processes';

/**
 * HAProxy against nginx as the agent drives them: the time from `apply` (a weight change) until the router serves
 * the new split, over CHANGES changes flipping the canary between 0 and 100 % (so one request tells which split
 * is served). HAProxy changes weights over its runtime API; nginx rewrites its config, checks it and reloads.
 *
 *   npx tsx bench/router-compare/run.ts            (CHANGES=20)
 *
 * Last line: {"haproxy":{"p50":…,"p99":…,"failedRequests":…},"nginx":{…}} in milliseconds (a router not installed and
 * not installable is left out).
 */
const CHANGES = Number(process.env.CHANGES ?? 20);
const log = createLogger('router-compare', 'warn');

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] * 10) / 10;
}

async function measure(name: string, make: (listen: string, dir: string) => TrafficProvider & { open(): Promise<void> }): Promise<{ p50: number; p99: number; failedRequests: number }> {
  const stable = await startDemoService({ port: 0, version: '1.0.0', releaseId: 'stable' });
  const canary = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'canary' });
  const dir = mkdtempSync(path.join(os.tmpdir(), `router-compare-${name}-`));
  const listen = `127.0.0.1:${await freePort()}`;
  const router = make(listen, dir);
  const spec = (canaryWeight: number): TrafficSpec => ({
    routeId: 'bench',
    stable: [{ name: 'stable', targetId: 's', host: '127.0.0.1', port: stable.port }],
    canary: [{ name: 'canary', targetId: 'c', host: '127.0.0.1', port: canary.port }],
    canaryWeight,
    match: null,
  });
  const samples: number[] = [];
  let failed = 0;
  try {
    await router.open();
    await router.apply(spec(0));
    for (let i = 1; i <= CHANGES; i++) {
      const weight = i % 2 === 1 ? 100 : 0;
      const want = weight === 100 ? '2.0.0' : '1.0.0';
      const started = performance.now();
      await router.apply(spec(weight));
      for (;;) {
        // A kept-alive connection the router closes under the request (nginx's old workers on a reload) is counted.
        const body = (await fetch(`http://${listen}/`)
          .then((r) => r.json())
          .catch(() => {
            failed++;
            return { version: '' };
          })) as { version: string };
        if (body.version === want) break;
        if (performance.now() - started > 10_000) throw new Error(`${name}: the split of change ${i} was not served within 10 s`);
      }
      samples.push(performance.now() - started);
    }
  } finally {
    await router.close();
    await stable.close();
    await canary.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const result = { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), failedRequests: failed };
  console.log(`${name}: apply → new split served, ${CHANGES} changes: p50 ${result.p50} ms, p99 ${result.p99} ms; requests failed meanwhile: ${failed}`);
  return result;
}

async function main() {
  const results: Record<string, { p50: number; p99: number; failedRequests: number }> = {};
  const routers: Array<[string, () => string, (bin: string) => (listen: string, dir: string) => TrafficProvider & { open(): Promise<void> }]> = [
    ['haproxy', () => ensureHaproxy(() => undefined), (bin) => (listen, dir) => new HaproxyProvider({ bin, listen, dir, log })],
    ['nginx', () => ensureNginx(() => undefined), (bin) => (listen, dir) => new NginxProvider({ bin, listen, dir, log })],
  ];
  for (const [name, find, make] of routers) {
    let bin: string;
    try {
      bin = find();
    } catch (error) {
      console.log(`${name}: skipped (${(error as Error).message})`);
      continue;
    }
    results[name] = await measure(name, make(bin));
  }
  console.log(JSON.stringify(results));
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
