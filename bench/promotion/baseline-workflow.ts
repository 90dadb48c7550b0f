import * as wf from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-driver';
import { approve, create, type BaselineStatus } from './baseline-messages';

// The same activity options as the promotion workflow, so retries and timeouts cost the same.
const { load, persist, deploy, sign } = wf.proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * The floor for a promotion: an entity workflow with the same messages and the
 * same activity calls (create: load inputs + persist; open: persist; each
 * approval: load inputs + persist, the deciding one also signs; then persist
 * deploying, deploy, persist deployed, sign) but no rules, search attributes,
 * timers or real side effects.
 */
export async function promotionBaseline(id: string): Promise<BaselineStatus> {
  let status: BaselineStatus | undefined;
  let approvals = 0;

  wf.setHandler(
    create,
    async () => {
      await load(id);
      await persist(id);
      status = 'pending';
      return status;
    },
    { validator: () => { if (status !== undefined) throw new Error('exists'); } },
  );
  wf.setHandler(
    approve,
    async () => {
      await load(id);
      await persist(id);
      if (++approvals >= 2) {
        await sign(id);
        status = 'approved';
      }
      return status!;
    },
    { validator: () => { if (status !== 'pending' && status !== 'awaiting_approval') throw new Error(`approve not allowed in ${status}`); } },
  );

  await wf.condition(() => status !== undefined);
  if (status === 'pending') {
    await persist(id);
    status = 'awaiting_approval';
  }
  await wf.condition(() => status === 'approved');
  await load(id);
  await persist(id);
  status = 'deploying';
  await deploy(id);
  await persist(id);
  await sign(id);
  status = 'deployed';
  await wf.condition(wf.allHandlersFinished);
  return status;
}
