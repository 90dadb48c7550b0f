import { AURORA_EXAMPLE } from '../fixtures/spec-examples';
import type { TestApp } from './app';

/** Builders and shortcuts for change-request tests. */

export const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
export const MIN = 60_000;
export const HOUR = 3_600_000;

/** The spec's Aurora example, with a window open now. */
export function auroraChange(overrides: Record<string, unknown> = {}) {
  return {
    ...AURORA_EXAMPLE,
    scheduled_start: iso(-1 * MIN),
    scheduled_end: iso(2 * HOUR - MIN),
    ...overrides,
  };
}

export function standardChange(overrides: Record<string, unknown> = {}) {
  return {
    type: 'standard',
    short_description: 'Rotate log files on the build agents',
    implementation_plan: '1. Run the logrotate job\n2. Confirm disk usage dropped',
    backout_plan: 'Restore the archived log files from the backup bucket',
    test_plan: 'Check the agents report healthy and disk usage is below 70%',
    scheduled_start: iso(-1 * MIN),
    scheduled_end: iso(HOUR),
    assignment_group: 'Build Tooling',
    ...overrides,
  };
}

export async function createChange(app: TestApp, token: string, body: Record<string, unknown>, prefix = '/prod/api') {
  const res = await app.http('POST', `${prefix}/changes`, { token, body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return prefix === '/api/v1' ? res.body.data : res.body;
}

export async function expectStatus(res: { status: number; text: string }, status: number) {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text}`);
}

/** Runs a command that must succeed and returns the change it answered with. */
export async function step(app: TestApp, token: string, method: string, path: string, body?: unknown) {
  const res = await app.http(method, `/prod/api/changes/${path}`, { token, body });
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${res.text}`);
  return res.body;
}

export { until } from './eventually';
