import * as wf from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { BaselineActivities } from './baseline-driver';
import { approve, close, complete, create, start, submit, submitCab, type BaselineState } from './baseline-messages';

// The same activity options as changeLifecycle, so retries and timeouts cost the same.
const { assess, persist } = wf.proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * The floor for a change lifecycle: an entity workflow with the same message
 * pattern (created by update-with-start, then one update per command, each
 * validated and awaiting its activities before answering, done after close)
 * but no domain rules, search attributes, timers or real side effects.
 */
export async function baselineEntity(id: string): Promise<BaselineState> {
  let state: BaselineState | undefined;
  let approvals = 0;

  const bind = (definition: UpdateDefinition<BaselineState>, from: BaselineState | undefined, to: () => BaselineState, activities: Array<() => Promise<void>>) =>
    wf.setHandler(
      definition,
      async () => {
        for (const activity of activities) await activity();
        state = to();
        return state;
      },
      {
        validator: () => {
          if (state !== from) throw new Error(`${definition.name} is not allowed in state ${state ?? 'none'}`);
        },
      },
    );

  const record = () => persist(id);
  // The real create scores risk before persisting.
  bind(create, undefined, () => 'draft', [() => assess(id), record]);
  bind(submit, 'draft', () => 'submitted', [record]);
  bind(submitCab, 'submitted', () => 'cab_review', [record]);
  bind(approve, 'cab_review', () => (++approvals >= 2 ? 'scheduled' : 'cab_review'), [record]);
  bind(start, 'scheduled', () => 'in_progress', [record]);
  bind(complete, 'in_progress', () => 'completed', [record]);
  bind(close, 'completed', () => 'closed', [record]);

  await wf.condition(() => state === 'closed');
  await wf.condition(wf.allHandlersFinished);
  return 'closed';
}
