import type { Context } from 'hono';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { endingText, reconcileRefusal } from '../domain/workflow-endings';
import { findEndedMark, markIfEndedOutside, type EndedKind, type EndedMark } from '../activities/ended-workflows';
import type { AppEnv } from './context';
import { Conflict, type ApiError } from './errors';
import { principalOf, requirePermission } from './principal';

/**
 * What the API says about a record whose workflow was ended outside Tollgate (a
 * Cancel or Terminate in the Temporal UI, a failure, a timeout): any command
 * that meets the closed run marks the record (activities/ended-workflows.ts) and
 * answers a 409 saying how, by whom and when, and what an operator can do.
 */

export const ENDED_OUTSIDE = 'WORKFLOW_ENDED_OUTSIDE';
export const NOTHING_TO_RECONCILE = 'NOTHING_TO_RECONCILE';
export const RECONCILE_REFUSED = 'RECONCILE_REFUSED';

type EndedRecord = { version: number } & ({ state: string } | { status: string });

export interface EndedRecordSpec<R extends EndedRecord> {
  kind: EndedKind;
  id: string;
  /** "Change", "Promotion", "Deployment job". */
  noun: string;
  read(): Promise<R | undefined>;
  notFound(): ApiError;
  /** Where the record keeps its state (`state` for changes, `status` elsewhere); the mark kept the one before under the same name. */
  stateField: 'state' | 'status';
  resumable(previous: string): boolean;
  /** What an operator does when no new run can take over. */
  instead: string;
  /** Where POST …/reconcile is, or null when the module has none. */
  reconcilePath: string | null;
}

/** Marks the record if its run ended outside Tollgate; the 409 to answer when that is why it takes no command. */
export async function endedOutsideConflict<R extends EndedRecord>(c: Context<AppEnv>, spec: EndedRecordSpec<R>): Promise<Conflict | undefined> {
  const found = await detect(c, spec);
  if (!found) return undefined;
  const { row, mark } = found;
  const previous = previousOf(spec, mark);
  const refusal = refusalOf(spec, mark);
  const what = refusal
    ? `It cannot be started again: ${refusal}.`
    : `An operator with the workflow:reconcile permission can POST ${spec.reconcilePath} to start a new run from its last recorded state (${previous}).`;
  return new Conflict(`${spec.noun} ${spec.id} is ${stateOf(spec, row)}: its ${endingText(mark.ending)}. ${what}`, ENDED_OUTSIDE, {
    currentState: stateOf(spec, row),
    previousState: previous,
    workflow: mark.ending,
    reconcile: refusal ? null : spec.reconcilePath,
  });
}

/**
 * POST …/reconcile: a record whose run ended outside Tollgate gets a new run
 * from its read model (the module's `restart`), where that is safe; otherwise a
 * 409 that says why not.
 */
export async function reconcileRecord<R extends EndedRecord>(c: Context<AppEnv>, spec: EndedRecordSpec<R>, restart: (row: R, previous: string, mark: EndedMark) => Promise<R>): Promise<R> {
  requirePermission(c, 'workflow:reconcile');
  const found = await detect(c, spec);
  if (!found) {
    const row = await spec.read();
    if (!row) throw spec.notFound();
    throw new Conflict(`${spec.noun} ${spec.id} is ${stateOf(spec, row)} and its workflow was not ended outside Tollgate: there is nothing to reconcile`, NOTHING_TO_RECONCILE, {
      currentState: stateOf(spec, row),
    });
  }
  const refusal = refusalOf(spec, found.mark);
  if (refusal) {
    throw new Conflict(`${spec.noun} ${spec.id} cannot be started again: ${refusal}`, RECONCILE_REFUSED, {
      currentState: stateOf(spec, found.row),
      previousState: previousOf(spec, found.mark),
      workflow: found.mark.ending,
    });
  }
  return restart(found.row, previousOf(spec, found.mark), found.mark);
}

/** The record and its mark, when the mark is the record's newest version (nothing moved it since). */
async function detect<R extends EndedRecord>(c: Context<AppEnv>, spec: EndedRecordSpec<R>): Promise<{ row: R; mark: EndedMark } | undefined> {
  const { tenantId } = principalOf(c);
  const { pool, config, temporal } = c.get('deps');
  if (!(await spec.read())) throw spec.notFound();
  await markIfEndedOutside({ pool, config, log: c.get('log'), client: await temporal.client() }, spec.kind, tenantId, spec.id);
  const [row, mark] = await Promise.all([spec.read(), findEndedMark(pool, spec.kind, tenantId, spec.id)]);
  if (!row || !mark || mark.markedVersion !== row.version) return undefined;
  return { row, mark };
}

function stateOf<R extends EndedRecord>(spec: EndedRecordSpec<R>, row: R): string {
  return String((row as Record<string, unknown>)[spec.stateField]);
}

function previousOf<R extends EndedRecord>(spec: EndedRecordSpec<R>, mark: EndedMark): string {
  return String(mark.before[spec.stateField]);
}

function refusalOf<R extends EndedRecord>(spec: EndedRecordSpec<R>, mark: EndedMark): string | null {
  const previous = previousOf(spec, mark);
  return reconcileRefusal(mark.ending, spec.reconcilePath !== null && spec.resumable(previous), previous, spec.noun.toLowerCase(), spec.instead);
}

export interface NewRun {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  searchAttributes: SearchAttributePair[];
  summary: string;
  details: string;
}

/**
 * Starts a reconcile's new run under the record's workflow id (the closed run
 * leaves it free). Another reconcile that got there first has started one already.
 */
export async function startNewRun(c: Context<AppEnv>, what: string, run: NewRun): Promise<void> {
  const { config, temporal } = c.get('deps');
  const client = await temporal.client();
  try {
    await client.workflow.start(run.workflowType, {
      workflowId: run.workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: run.args,
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: run.searchAttributes,
      staticSummary: run.summary,
      staticDetails: run.details,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Conflict(`${what} has a running workflow again: another reconcile started it`, NOTHING_TO_RECONCILE);
    throw err;
  }
}

/** The record's reconcile path in the dialect and mount the request came in on (…/{id}/reconcile). */
export function reconcilePathOf(c: Context<AppEnv>, id: string): string {
  const path = c.req.path;
  const at = path.indexOf(`/${id}`);
  return `${at < 0 ? path : path.slice(0, at + id.length + 1)}/reconcile`;
}
