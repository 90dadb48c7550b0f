import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoService, type DemoService } from '../../demo/service';
import type { TrafficSpec } from '../../domain/traffic';
import { freePort } from '../../scripts/stack/processes';

export interface RouteBackends {
  stable: DemoService;
  canary: DemoService;
  /** A fresh directory for the router's files. */
  dir: string;
  /** A free address for the router's frontend. */
  listen: string;
  close(): Promise<void>;
}

/** Two real demo services (stable 1.0.0, canary 2.0.0), a directory and a free port for a router in front. */
export async function startRouteBackends(name: string): Promise<RouteBackends> {
  const stable = await startDemoService({ port: 0, version: '1.0.0', releaseId: 'rel-stable' });
  const canary = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'rel-canary' });
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const listen = `127.0.0.1:${await freePort()}`;
  return {
    stable,
    canary,
    dir,
    listen,
    async close() {
      await stable.close();
      await canary.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A route of two demo services (stable 1.0.0, canary 2.0.0) behind a router on `listen`, and a bounded load loop. */
export function routeSpec(stable: DemoService, canary: DemoService, canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return {
    routeId: 'env-1',
    stable: [{ name: 'web-stable', targetId: 't-stable', host: '127.0.0.1', port: stable.port }],
    canary: [{ name: 'web-canary', targetId: 't-canary', host: '127.0.0.1', port: canary.port }],
    canaryWeight,
    match: null,
    ...extra,
  };
}

/** `n` requests through the router one after another, counted by the version that answered and by status. */
export async function loadThrough(listen: string, n: number, headers: Record<string, string> = {}) {
  const versions: Record<string, number> = {};
  const statuses: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const response = await fetch(`http://${listen}/`, { headers });
    const body = (await response.json()) as { version: string };
    versions[body.version] = (versions[body.version] ?? 0) + 1;
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  }
  return { versions, statuses, canaryShare: (versions['2.0.0'] ?? 0) / n };
}
