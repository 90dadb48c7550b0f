import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { agentTaskQueue } from '../../domain/deployments/model';
import type { TestApp } from './app';
import { until } from './eventually';
import { spawnTs, type Spawned } from './processes';
import type { Scene } from './promotion-scene';

/**
 * A deploy hook that needs nothing on the host: it fails the deploy of the
 * version named in the target's `fail_version` property, and succeeds otherwise
 * (so an operator "fixes" a target by removing the property).
 */
export const FAIL_VERSION_HOOK = 'test "$TOLLGATE_RELEASE_VERSION" != "${TOLLGATE_PROP_FAIL_VERSION:-none}"';

/** One real agent process (worker/agent.ts) owning some targets of one environment, in a state dir of its own. */
export interface AgentProcess {
  id: string;
  proc: Spawned;
  stop(): Promise<void>;
}

/** `temporal` is a client of the Temporal the app runs on (app.client when that is the test run's own). */
export async function startAgentProcess(
  app: TestApp,
  s: Scene,
  options: { name: string; environmentId: string; targets: Array<{ id: string; name: string }>; temporal?: Client; args?: string[] },
): Promise<AgentProcess> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `tollgate-agent-${options.name}-`));
  const registrar = await s.token('registrar@example.com', { roles: ['agent-registrar'] });
  const startedAt = Date.now();
  const proc = spawnTs('worker/agent.ts', { LOG_LEVEL: process.env.TEST_AGENT_LOG_LEVEL ?? 'warn' }, [
    '--api', app.url, '--token', registrar, '--name', options.name, '--environment', options.environmentId,
    '--targets', options.targets.map((t) => t.name).join(','), '--state-dir', stateDir, '--heartbeat-interval', '1s',
    ...(options.args ?? []),
  ]);
  const stop = async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const kill = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
      await proc.exited;
      clearTimeout(kill);
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const id = await until(
      `agent ${options.name} to own its targets`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`agent ${options.name} exited (${proc.child.exitCode}):\n${proc.output()}`);
        return (await s.expect(200, 'GET', `/targets/${options.targets[0].id}`)).agentId as string | null;
      },
      60_000,
    );
    await agentPolls(options.temporal ?? app.client, id, startedAt);
    return { id, proc, stop };
  } catch (err) {
    (err as Error).message += `\nagent output:\n${proc.output().slice(-3000)}`;
    await stop();
    throw err;
  }
}

/**
 * Waits until a task for the agent can reach it: the API relays the agent's
 * queue while its work channel is open, so a poll on `agent-<id>` seen since
 * `since` means the agent is connected to this API.
 */
export async function agentPolls(client: Client, agentId: string, since: number, timeoutMs = 60_000): Promise<void> {
  await until(`agent ${agentId} to poll its task queue`, async () => {
    const described = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: agentTaskQueue(agentId), kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    return (described.pollers ?? []).some((p) => {
      const t = p.lastAccessTime;
      return (t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0) >= since - 1000;
    });
  }, timeoutMs);
}
