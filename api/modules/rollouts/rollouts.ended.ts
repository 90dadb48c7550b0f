import type { Context } from 'hono';
import { findEndedMark, markIfEndedOutside, type EndingDeps } from '../../../activities/ended-workflows';
import { openRolloutRun } from '../../../activities/rollouts/ended-outside';
import { rolloutLive, trafficNeedsRestore } from '../../../domain/rollouts/ended-outside';
import type { Rollout } from '../../../domain/rollouts/model';
import { endingText, RECONCILE_ACTION } from '../../../domain/workflow-endings';
import { workflowId } from '../../../domain/workflow-ids';
import { recordAudit } from '../../../platform/audit';
import { runStanding } from '../../../platform/workflow-endings';
import type { AppEnv } from '../../context';
import { ENDED_OUTSIDE, NOTHING_TO_RECONCILE, RECONCILE_REFUSED, reconcilePathOf } from '../../ended-outside';
import { Conflict, NotFound } from '../../errors';
import { principalOf, requirePermission } from '../../principal';
import { findRollout } from './rollouts.queries';

/**
 * A rollout whose workflow was ended outside Tollgate (a Terminate in the
 * Temporal UI): the command that meets the closed run, the sweep, or reconcile
 * marks it and opens a new run carrying it, which puts traffic back on stable
 * (activities/rollouts/ended-outside.ts says why a run and not the API does it).
 */

async function existing(c: Context<AppEnv>, id: string): Promise<Rollout> {
  const r = await findRollout(c.get('deps').pool, principalOf(c).tenantId, id);
  if (!r) throw new NotFound(`Rollout ${id} not found`, 'ROLLOUT_NOT_FOUND');
  return r;
}

/** How long reconcile waits for the new run to read the router back on stable before answering the rollout as it stands. */
const RESTORE_WAIT_MS = 10_000;

async function endingDeps(c: Context<AppEnv>): Promise<EndingDeps> {
  const { pool, config, temporal } = c.get('deps');
  return { pool, config, log: c.get('log'), client: await temporal.client() };
}

/** The 409 for a command that met the closed run of a rollout ended outside Tollgate, or undefined when that is not why. */
export async function rolloutEndedConflict(c: Context<AppEnv>, id: string): Promise<Conflict | undefined> {
  const { tenantId } = principalOf(c);
  const deps = await endingDeps(c);
  await markIfEndedOutside(deps, 'rollout', tenantId, id);
  const [row, mark] = await Promise.all([findRollout(deps.pool, tenantId, id), findEndedMark(deps.pool, 'rollout', tenantId, id)]);
  if (!row || !mark || !endedSinceLastRetry(row)) return undefined;
  const path = reconcilePathOf(c, id);
  return new Conflict(
    `Rollout ${id} is ${row.state}: its ${endingText(mark.ending)}. A new run of its workflow puts traffic back on stable (GET …/traffic reads the router back) and takes retry; ` +
      `an operator with the workflow:reconcile permission can POST ${path} should that run not be open.`,
    ENDED_OUTSIDE,
    { currentState: row.state, previousState: mark.before.state, workflow: mark.ending, reconcile: path },
  );
}

/** Still as the mark left it: retried since, the rollout's later runs speak for it. */
function endedSinceLastRetry(r: Rollout): boolean {
  if (r.state !== 'aborted' && r.state !== 'failed') return false;
  const last = (action: string) => r.history.map((h) => h.action).lastIndexOf(action);
  return last('rollout.workflow_ended_outside') > last('rollout.retry');
}

/**
 * POST /ab-releases/{id}/reconcile: a rollout left live, or with traffic not
 * known to be on stable, behind a closed run is marked and gets a run carrying
 * it, which puts traffic back on stable; the answer waits (a bounded while) for
 * the router's read-back. A run cancelled in Temporal aborted the rollout
 * itself, traffic included: that stands.
 */
export async function reconcileRollout(c: Context<AppEnv>, id: string): Promise<Rollout> {
  const principal = requirePermission(c, 'workflow:reconcile');
  const { tenantId } = principal;
  const before = await existing(c, id);
  const deps = await endingDeps(c);
  const standing = await runStanding(deps.client, workflowId(tenantId, 'rollout', id));
  if (standing.standing === 'running' || standing.standing === 'completed') {
    throw new Conflict(`Rollout ${id} is ${before.state} and its workflow is ${standing.standing}: there is nothing to reconcile`, NOTHING_TO_RECONCILE, {
      currentState: before.state,
    });
  }
  const ending = standing.standing === 'ended' ? standing.ending : null;
  if (ending?.how === 'cancelled' && !rolloutLive(before) && !trafficNeedsRestore(before)) {
    throw new Conflict(
      `Rollout ${id} cannot be started again: its workflow was cancelled in Temporal by ${ending.by}, which aborted it with traffic back on stable; create a new rollout`,
      RECONCILE_REFUSED,
      { currentState: before.state, workflow: ending },
    );
  }
  await markIfEndedOutside(deps, 'rollout', tenantId, id);
  await openRolloutRun(deps, tenantId, id, `reconciled by ${principal.email ?? principal.userId}`);
  const after = await restored(c, id);
  await recordAudit(deps.pool, {
    tenantId,
    actor: principal.email ?? principal.userId,
    action: `rollout.${RECONCILE_ACTION}`,
    resourceType: 'rollout',
    resourceId: id,
    before: { state: before.state, version: before.version, canaryWeight: before.canaryWeight },
    after: { state: after.state, version: after.version, traffic: after.traffic, workflow: ending },
    requestId: c.get('requestId'),
  });
  return after;
}

/** The rollout once its run has read the router back on stable (or has no router to restore), or as it stands when the wait runs out. */
async function restored(c: Context<AppEnv>, id: string): Promise<Rollout> {
  const deadline = Date.now() + RESTORE_WAIT_MS;
  for (;;) {
    const r = await existing(c, id);
    if (!trafficNeedsRestore(r) || Date.now() >= deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
