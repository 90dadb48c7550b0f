import type { Actor } from '../../domain/actor';
import { decide } from '../../domain/rollouts/commands';
import { markRolloutEnded, rolloutLive, trafficNeedsRestore } from '../../domain/rollouts/ended-outside';
import type { Rollout, RolloutPlan } from '../../domain/rollouts/model';
import { createRolloutSchema } from '../../domain/rollouts/requests';
import type { TrafficState } from '../../domain/traffic';
import { endingText, type WorkflowEnding } from '../../domain/workflow-endings';

const operator: Actor = { userId: 'u-op', email: 'op@example.com', permissions: ['rollout:operate'] };
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
// The rules only ask whether a rollout has a router to put back; the plan's contents are the rollout domain test's.
const plan = { routerAgentId: 'a1', routerProvider: 'haproxy' } as RolloutPlan;
const traffic = (canaryWeight: number): TrafficState => ({ provider: 'haproxy', routeId: 'env', canaryWeight, stableWeight: 100 - canaryWeight, match: null, servers: [], readAt: at(1) });
const terminated: WorkflowEnding = { how: 'terminated', by: 'ops@temporal-ui', reason: 'wrong button', at: at(9), runId: 'run-1' };
const cancelled: WorkflowEnding = { ...terminated, how: 'cancelled', reason: null };

function created(): Rollout {
  const body = createRolloutSchema.parse({
    name: 'myapp 2.4 canary',
    environmentId: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    stableReleaseId: '4f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    canaryReleaseId: '5f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    strategy: 'canary',
    steps: [{ setWeight: 10 }, { pause: { duration: '30s' } }, { setWeight: 100 }],
  });
  return decide(undefined, { kind: 'create', id: 'r1', input: body, names: { environmentName: 'prod', stableReleaseName: 'myapp 2.3', canaryReleaseName: 'myapp 2.4' } }, { now: at(0), actor: operator }).next;
}
/** Running at 10 % to the canary, the router's read-back on the row. */
const atTen = (): Rollout => ({ ...created(), state: 'running', plan, stepIndex: 1, canaryWeight: 10, traffic: traffic(10), version: 3 });

test('a running rollout terminated in Temporal is failed, names the ending, forgets the read-back so traffic is put back, and keeps who did it in its history', () => {
  const r = atTen();
  const marked = markRolloutEnded(r, terminated, at(10))!;
  expect(marked.next).toMatchObject({ state: 'failed', abortReason: endingText(terminated), pausedReason: null, analysis: null, traffic: null, canaryWeight: 10, version: 4, updatedAt: at(10) });
  expect(marked.next.history.at(-1)).toMatchObject({ action: 'rollout.workflow_ended_outside', by: 'ops@temporal-ui', canaryWeight: 10 });
  expect(marked.next.history.at(-1)!.reason).toContain('traffic goes back to stable');
  expect(marked.events).toEqual([
    {
      action: 'rollout.workflow_ended_outside',
      before: { state: 'running', version: 3, canaryWeight: 10, activeMatch: null, traffic: traffic(10) },
      after: { state: 'failed', version: 4, abortReason: endingText(terminated), workflow: terminated },
    },
  ]);
  expect(trafficNeedsRestore(marked.next)).toBe(true);
});

test('a Cancel makes it aborted; a paused one at weight 0 still has its traffic put back (a weight change may have been in flight)', () => {
  const paused: Rollout = { ...atTen(), state: 'paused', canaryWeight: 0, traffic: traffic(0), pausedReason: 'look closer' };
  expect(trafficNeedsRestore(paused)).toBe(false);
  const marked = markRolloutEnded(paused, cancelled, at(10))!;
  expect(marked.next).toMatchObject({ state: 'aborted', pausedReason: null, traffic: null });
  expect(trafficNeedsRestore(marked.next)).toBe(true);
});

test('one never started is marked without touching traffic; finished ones are left alone', () => {
  const marked = markRolloutEnded(created(), terminated, at(10))!;
  expect(marked.next).toMatchObject({ state: 'failed', traffic: null, plan: null });
  expect(marked.next.history.at(-1)!.reason).toBe(endingText(terminated));
  expect(trafficNeedsRestore(marked.next)).toBe(false);
  for (const state of ['completed', 'aborted', 'failed'] as const) {
    const r = { ...atTen(), state };
    expect(rolloutLive(r)).toBe(false);
    expect(markRolloutEnded(r, terminated, at(10))).toBeNull();
  }
});

test('traffic needs putting back while a rollout with a router is not completed and the router is not known to be on stable', () => {
  expect(trafficNeedsRestore({ ...atTen(), state: 'aborted' })).toBe(true);
  expect(trafficNeedsRestore({ ...atTen(), state: 'aborted', canaryWeight: 0, traffic: traffic(0) })).toBe(false);
  expect(trafficNeedsRestore({ ...atTen(), state: 'aborted', canaryWeight: 0, traffic: traffic(0), activeMatch: { header: { name: 'x-canary', value: '1' } } })).toBe(true);
  expect(trafficNeedsRestore({ ...atTen(), state: 'completed', canaryWeight: 100 })).toBe(false);
  expect(trafficNeedsRestore({ ...created(), canaryWeight: 0 })).toBe(false);
});
