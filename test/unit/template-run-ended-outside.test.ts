import { markRunEnded } from '../../domain/templates/ended-outside';
import type { WorkflowRun } from '../../domain/templates/model';
import { pendingRunNode } from '../../domain/templates/run-nodes';
import type { WorkflowEnding } from '../../domain/workflow-endings';

const ending = (how: WorkflowEnding['how']): WorkflowEnding => ({ how, by: 'ops@example.com', reason: 'host drained', at: '2026-12-06T05:00:00.000Z', runId: 'r1' });

function run(status: WorkflowRun['status']): WorkflowRun {
  const done = { ...pendingRunNode({ id: 'build', type: 'wait' }, 'main'), status: 'succeeded' as const, endedAt: '2026-12-06T04:00:00.000Z' };
  const running = { ...pendingRunNode({ id: 'soak', type: 'wait' }, 'main'), status: 'running' as const, startedAt: '2026-12-06T04:00:00.000Z' };
  const pending = pendingRunNode({ id: 'ship', type: 'wait' }, 'main');
  return { id: 'run-1', tenantId: 't', templateId: 'tpl', templateName: 'p', templateVersion: 1, parameters: {}, status, nodes: [done, running, pending], requestedBy: 'rita', createdAt: '', updatedAt: '', endedAt: null, version: 7 };
}

test('terminated, failed or timed out: the run fails with how, by whom and when; unfinished nodes are cancelled, finished ones kept', () => {
  const marked = markRunEnded(run('running'), ending('terminated'), '2026-12-06T05:01:00.000Z')!;
  expect(marked.next).toMatchObject({ status: 'failed', version: 8, endedAt: '2026-12-06T05:00:00.000Z', statusReason: 'workflow terminated outside Tollgate by ops@example.com at 2026-12-06T05:00:00.000Z: host drained' });
  expect(marked.next.nodes.map((n) => [n.nodeId, n.status, n.endedAt])).toEqual([
    ['build', 'succeeded', '2026-12-06T04:00:00.000Z'],
    ['soak', 'cancelled', '2026-12-06T05:00:00.000Z'],
    ['ship', 'cancelled', null],
  ]);
  expect(marked.events).toEqual([{ action: 'workflow-run.workflow_ended_outside', before: { status: 'running', version: 7 }, after: expect.objectContaining({ status: 'failed', version: 8, workflow: ending('terminated') }) }]);
  expect(markRunEnded(run('paused'), ending('timed_out'), 'now')!.next.status).toBe('failed');
});

test('a Temporal cancel cancels the run; a finished run is left alone', () => {
  expect(markRunEnded(run('cancelling'), ending('cancelled'), 'now')!.next.status).toBe('cancelled');
  for (const status of ['succeeded', 'failed', 'cancelled'] as const) expect(markRunEnded(run(status), ending('terminated'), 'now')).toBeNull();
});
