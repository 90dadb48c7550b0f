import type { Pool } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { listPage, type ListSpec } from '../../list-query';
import type { PageRequest } from '../../pagination';

/** Reads of target_sticker_history with the target each entry is on; every query is scoped by tenant. */

export const STICKER_SORT_COLUMNS = { deployed_at: { column: 'h.deployed_at', cast: 'timestamptz' } } as const satisfies ListSpec['sortColumns'];

const FROM = `target_sticker_history h
  LEFT JOIN targets t ON t.tenant_id = h.tenant_id AND t.id = h.target_id
  LEFT JOIN target_stickers s ON s.tenant_id = h.tenant_id AND s.target_id = h.target_id AND s.task_id = h.task_id`;
const SELECT = 'h.task_id, h.target_id, t.name AS target_name, t.environment_id, h.release_id, h.release_name, h.version, h.digests, h.job_id, h.deployed_at, s.task_id IS NOT NULL AS current';

type StickerRow = {
  task_id: string;
  target_id: string;
  target_name: string | null;
  environment_id: string | null;
  release_id: string;
  release_name: string;
  version: string;
  digests: Record<string, string | null> | null;
  job_id: string;
  deployed_at: Date;
  current: boolean;
};

const present = (r: StickerRow) => ({
  id: r.task_id,
  targetId: r.target_id,
  targetName: r.target_name,
  environmentId: r.environment_id,
  releaseId: r.release_id,
  releaseName: r.release_name,
  version: r.version,
  digests: r.digests ?? {},
  jobId: r.job_id,
  deployedAt: iso(r.deployed_at)!,
  current: r.current,
});

export interface StickerFilters {
  environmentId?: string;
  targetId?: string;
  releaseId?: string;
}

export function stickerListSpec(tenantId: string, filters: StickerFilters): ListSpec {
  const where = ['h.tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.environmentId) add((n) => `t.environment_id = $${n}`, filters.environmentId);
  if (filters.targetId) add((n) => `h.target_id = $${n}`, filters.targetId);
  if (filters.releaseId) add((n) => `h.release_id = $${n}`, filters.releaseId);
  return { from: FROM, select: SELECT, where, params, sortColumns: STICKER_SORT_COLUMNS, idColumn: 'h.task_id::text' };
}

export async function listStickers(pool: Pool, tenantId: string, filters: StickerFilters, request: PageRequest) {
  return listPage<StickerRow, ReturnType<typeof present>>(pool, stickerListSpec(tenantId, filters), request, present);
}

export async function findSticker(pool: Pool, tenantId: string, id: string) {
  const { rows } = await pool.query<StickerRow>(`SELECT ${SELECT} FROM ${FROM} WHERE h.tenant_id = $1 AND h.task_id = $2`, [tenantId, id]);
  return rows[0] ? present(rows[0]) : undefined;
}
