import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHealthCheckActivities } from '../../agent/activities/check-target-health';
import { statePaths } from '../../agent/runtime/state-files';
import type { HealthCheck } from '../../domain/deployments/model';
import type { TargetHealthInput, TargetHealthResult } from '../../domain/deployments/target-health';
import { isStorableText } from '../../domain/text';
import { createLogger } from '../../platform/logger';

/**
 * The agent's checkTargetHealth activity with command checks (URL checks run against a real agent in
 * test/api/targets-health-check.test.ts): the command sees the target and runs in its work dir, retries count,
 * and the answer carries the last status; it heartbeats while it runs.
 */

const AGENT_NAME = 'web-agent';
let stateDir: string;
let activities: ReturnType<typeof createHealthCheckActivities>;

beforeEach(() => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'agent-health-'));
  activities = createHealthCheckActivities({ stateDir, agentName: AGENT_NAME, log: createLogger('agent', 'silent'), heartbeatEveryMs: 50 });
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

const input = (healthCheck: HealthCheck): TargetHealthInput => ({
  tenantId: 'acme',
  target: { id: 't1', name: 'web-1', labels: { role: 'web' }, properties: { http_port: '4001' }, healthCheck },
  environment: { id: 'env-1', name: 'Staging' },
});
const command = (cmd: string, retries = 0): HealthCheck => ({ url: null, command: cmd, retries, intervalSeconds: 1, timeoutSeconds: 5 });

test('a command check sees the target, its properties and no stale task variables, in the target’s work dir', async () => {
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d) => beats.push(d));
  process.env.TOLLGATE_RELEASE_ID = 'stale';
  try {
    const script = [
      'test "$TOLLGATE_ACTION" = health-check',
      'test "$TOLLGATE_PROP_HTTP_PORT" = 4001',
      'test "$TOLLGATE_TARGET_NAME" = web-1',
      'test "$TOLLGATE_ENVIRONMENT_NAME" = Staging',
      'test -z "$TOLLGATE_RELEASE_ID"',
      `test "$(pwd)" = "${statePaths(stateDir, AGENT_NAME).workDir('web-1')}"`,
      'sleep 0.2',
    ].join(' && ');
    const result = await env.run(activities.checkTargetHealth, input(command(script)));
    expect(result).toEqual({ healthy: true, checks: 1, lastStatus: 'exit 0', message: expect.stringMatching(/^healthy after 1 check\(s\): /), checkedAt: expect.any(String), reported: { releaseId: null, version: null } });
  } finally {
    delete process.env.TOLLGATE_RELEASE_ID;
  }
  expect(beats.length).toBeGreaterThan(1);
});

test('a failing command is tried 1 + retries times; the answer names the last exit status and output', async () => {
  const counter = path.join(stateDir, 'tries');
  const result = (await new MockActivityEnvironment().run(activities.checkTargetHealth, input(command(`echo x >> ${counter}; echo 'port closed'; exit 3`, 1)))) as TargetHealthResult;
  expect(result).toMatchObject({ healthy: false, checks: 2, lastStatus: 'exit 3' });
  expect(result.message).toMatch(/^unhealthy after 2 check\(s\); last: `.*` exited with 3: port closed$/);
  expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(2);
});

test('a command’s output excerpt is never cut inside a surrogate pair (the cut half was reported as U+FFFD)', async () => {
  // Emoji, then one ASCII character: the last 200 UTF-16 units would start with the low half of an emoji.
  const script = `printf '😀%.0s' $(seq 1 120); printf z; exit 1`;
  const result = (await new MockActivityEnvironment().run(activities.checkTargetHealth, input(command(script)))) as TargetHealthResult;
  expect(result.healthy).toBe(false);
  expect(isStorableText(result.message)).toBe(true);
  expect(result.message).toMatch(/exited with 1: (😀){99}z$/);
});
