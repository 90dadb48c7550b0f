import type { Actor } from '../../../domain/actor';
import { awaitingDecisions, awaitsDecisionFrom, cabProgress } from '../../../domain/changes/cab';
import type { Change, ChangeSettings } from '../../../domain/changes/model';
import { hasPermission } from '../../../domain/permissions';
import { approvalsMissing } from '../../../domain/promotions/approvals';
import type { Promotion } from '../../../domain/promotions/model';
import type { Pool } from '../../../platform/db';
import { encodeCursor, type Page, type PageRequest } from '../../pagination';
import { runStepsAwaiting, type PendingRunStep } from '../workflow-runs';
import { pendingFor } from './promotions.queries';

/**
 * The caller's one inbox: promotions they may approve now, changes under CAB
 * review that wait on their decision, and workflow runs' approval steps that
 * would take it (the runs module's rules), oldest first, each with `kind` and
 * `awaiting` (what is still missing). A promotion keeps every field it has
 * elsewhere. Both sources are narrowed in Postgres and then by the domain
 * rules, so the page is cut from the merged list.
 */

export interface Awaiting {
  /** Approvals still needed before the item moves on. */
  approvals: number;
  /** People named as approvers who have not decided yet (a change's own `awaiting`). */
  approvers: string[];
  /** Groups whose members may give the missing approvals (a promotion's policy). */
  approverGroups: string[];
}

export type PendingItem = (Promotion & { kind: 'promotion'; awaiting: Awaiting }) | (Change & { kind: 'change'; awaiting: Awaiting }) | PendingRunStep;
export type PendingKind = PendingItem['kind'];

/** The sort the inbox pages by: when the item started waiting, then its id. */
export const INBOX_SORT = { field: 'since', direction: 'asc' } as const;

const sinceOf = (item: PendingItem) => (item.kind === 'promotion' ? item.requestedAt : item.kind === 'change' ? item.created_at : item.since);
const CANDIDATES = 500;

async function changesAwaiting(pool: Pool, tenantId: string, actor: Actor, settings: ChangeSettings): Promise<PendingItem[]> {
  if (!hasPermission(actor, 'change:read')) return [];
  const { rows } = await pool.query<{ body: Change }>(
    `SELECT body FROM changes WHERE tenant_id = $1 AND state = 'cab_review' ORDER BY created_at, id LIMIT ${CANDIDATES}`,
    [tenantId],
  );
  return rows
    .map((r) => r.body)
    .filter((change) => awaitsDecisionFrom(change, actor))
    .map((change) => {
      const progress = cabProgress(change, settings);
      return { ...change, kind: 'change' as const, awaiting: { approvals: Math.max(0, progress.required - progress.approved), approvers: awaitingDecisions(change), approverGroups: [] } };
    });
}

export async function pendingApprovals(
  pool: Pool,
  tenantId: string,
  actor: Actor,
  options: { kind?: PendingKind; changeSettings: ChangeSettings; request: PageRequest },
): Promise<Page<PendingItem>> {
  const wanted = (kind: PendingKind) => options.kind === undefined || options.kind === kind;
  const [promotions, changes, steps] = await Promise.all([
    wanted('promotion') ? pendingFor(pool, tenantId, actor, hasPermission(actor, 'promotion:approve')) : [],
    wanted('change') ? changesAwaiting(pool, tenantId, actor, options.changeSettings) : [],
    wanted('workflow-step') ? runStepsAwaiting(pool, tenantId, actor) : [],
  ]);
  const all: PendingItem[] = [...promotions.map((p) => ({ ...p, kind: 'promotion' as const, awaiting: { ...approvalsMissing(p), approvers: [] } })), ...changes, ...steps];
  all.sort((a, b) => sinceOf(a).localeCompare(sinceOf(b)) || a.id.localeCompare(b.id));
  const request = options.request;
  const after = request.mode === 'keyset' ? request.after : undefined;
  const rest = after ? all.filter((i) => sinceOf(i) > String(after.value) || (sinceOf(i) === after.value && i.id > after.id)) : all;
  const from = request.mode === 'offset' ? (request.page - 1) * request.pageSize : 0;
  const size = request.mode === 'offset' ? request.pageSize : request.limit;
  const items = rest.slice(from, from + size);
  const last = items[items.length - 1];
  return {
    items,
    total: all.length,
    pageSize: size,
    page: request.mode === 'offset' ? request.page : undefined,
    nextCursor: rest.length > from + size && last ? encodeCursor({ sort: INBOX_SORT.field, direction: INBOX_SORT.direction, value: sinceOf(last), id: last.id }) : undefined,
  };
}
