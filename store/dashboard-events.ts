import { freezeStatus } from '../domain/promotions/freeze';
import type { Pool, PoolClient } from '../platform/db';
import { freezeWindows } from './gate-inputs';

/**
 * The dashboard's events. Postgres triggers (migration 024) write every row of
 * `dashboard_events` when the tables the modules already write change, and
 * NOTIFY this channel with `{tenantId, id}`: no workflow issues anything new.
 * Rows are kept for the retention window so a client can resume from the last
 * id it saw; ids are decimal strings of a bigint sequence.
 */
export const DASHBOARD_CHANNEL = 'tollgate_dashboard';

export interface DashboardNotice {
  tenantId: string;
  id: string;
}

export interface DashboardEvent {
  id: string;
  event: string;
  subject: { type: string; id: string };
  at: string;
  data: Record<string, unknown>;
}

type Db = Pool | PoolClient;

/** The tenant's events after `afterId`, oldest first. */
export async function eventsAfter(db: Db, tenantId: string, afterId: string, limit: number): Promise<DashboardEvent[]> {
  const { rows } = await db.query(
    `SELECT seq::text AS id, type, subject_type, subject_id, occurred_at, data
       FROM dashboard_events WHERE tenant_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`,
    [tenantId, afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, event: r.type, subject: { type: r.subject_type, id: r.subject_id }, at: new Date(r.occurred_at).toISOString(), data: r.data }));
}

/** How far the tenant's events go: the newest id ('0' when it has none) and the highest the purge deleted. */
export async function eventHead(db: Db, tenantId: string): Promise<{ last: string; purgedThrough: string }> {
  const { rows } = await db.query('SELECT last_seq::text AS last, purged_through::text AS purged FROM dashboard_event_heads WHERE tenant_id = $1', [tenantId]);
  return { last: rows[0]?.last ?? '0', purgedThrough: rows[0]?.purged ?? '0' };
}

/** Deletes the events older than `before`, and remembers per tenant how far it went; answers how many went. */
export async function purgeEvents(db: Db, before: Date): Promise<number> {
  const { rows } = await db.query(
    `WITH gone AS (DELETE FROM dashboard_events WHERE occurred_at < $1 RETURNING tenant_id, seq),
          top AS (SELECT tenant_id, max(seq) AS seq FROM gone GROUP BY tenant_id),
          mark AS (
            UPDATE dashboard_event_heads h SET purged_through = GREATEST(h.purged_through, top.seq)
              FROM top WHERE h.tenant_id = top.tenant_id)
     SELECT count(*)::int AS n FROM gone`,
    [before],
  );
  return rows[0].n;
}

/**
 * Looks at every environment with a freeze window (or a freeze it last saw in
 * force) and records whether a freeze holds it at `nowMs`. Only a change is
 * written, and the table's trigger turns it into freeze.started or
 * freeze.ended, so a sweep run twice for the same moment records each once.
 * Answers how many rows it wrote.
 */
export async function recordFreezeStates(db: Pool, nowMs: number): Promise<number> {
  const { rows: environments } = await db.query(
    `SELECT tenant_id, environment_id FROM freeze_windows
     UNION SELECT tenant_id, environment_id FROM dashboard_freeze_states WHERE active`,
  );
  let changed = 0;
  for (const { tenant_id: tenantId, environment_id: environmentId } of environments) {
    const active = freezeStatus(await freezeWindows(db, tenantId, environmentId), nowMs).active;
    const { rowCount } = await db.query(
      `INSERT INTO dashboard_freeze_states AS s (tenant_id, environment_id, active, window_id, window_name, reason, starts_at, ends_at, seen_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM environments WHERE tenant_id = $1 AND id = $2)
       ON CONFLICT (tenant_id, environment_id) DO UPDATE SET active = EXCLUDED.active, window_id = EXCLUDED.window_id,
         window_name = EXCLUDED.window_name, reason = EXCLUDED.reason, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, seen_at = EXCLUDED.seen_at
       WHERE s.active IS DISTINCT FROM EXCLUDED.active OR s.window_id IS DISTINCT FROM EXCLUDED.window_id OR s.ends_at IS DISTINCT FROM EXCLUDED.ends_at`,
      [
        tenantId,
        environmentId,
        active !== null,
        active?.windowId ?? null,
        active?.name ?? null,
        active?.reason ?? null,
        active?.start ?? null,
        active?.end ?? null,
        new Date(nowMs).toISOString(),
      ],
    );
    changed += rowCount ?? 0;
  }
  return changed;
}
