import type { z } from 'zod';
import { normalizeDeploymentSettings, type environmentDeploymentSchema } from '../../../domain/inventory-fields';
import { freezeStatus, type FreezeWindow } from '../../../domain/promotions/freeze';
import type { Pool, PoolClient } from '../../../platform/db';
import { freezeWindows } from '../../../store/gate-inputs';
import { iso } from '../../entity-writes';

/** Reads and presenters of environments and their freeze windows; every query is scoped by tenant. */

type Db = Pool | PoolClient;
export const ENVIRONMENT_COLUMNS = `id, name, description, "order", require_sod, required_approvals, security_thresholds, require_change_request, deployment, version, created_by, created_at, updated_at`;

/** An environments row as ENVIRONMENT_COLUMNS reads it. */
export type EnvironmentRow = {
  id: string;
  name: string;
  description: string | null;
  order: number;
  require_sod: boolean;
  required_approvals: number;
  security_thresholds: { maxCritical: number; maxHigh: number } | null;
  require_change_request: boolean;
  /** Stored normalized (normalizeDeploymentSettings), which is a form the input schema accepts. */
  deployment: z.infer<typeof environmentDeploymentSchema> | null;
  version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

/** A freeze_windows row (SELECT *). */
export type FreezeWindowRow = {
  id: string;
  environment_id: string;
  name: string;
  reason: string | null;
  starts_at: Date | null;
  ends_at: Date | null;
  rrule: string | null;
  timezone: string | null;
  duration: string | null;
  exempt_release_classes: string[];
  created_by: string;
  created_at: Date;
};

export function presentEnvironment(r: EnvironmentRow, windows: FreezeWindow[], nowMs = Date.now()) {
  const status = freezeStatus(windows, nowMs);
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    order: r.order,
    requireSod: r.require_sod,
    requiredApprovals: r.required_approvals,
    // jsonb keeps keys in its own order; the API answers in the order it documents.
    securityThresholds: r.security_thresholds ? { maxCritical: r.security_thresholds.maxCritical, maxHigh: r.security_thresholds.maxHigh } : null,
    requireChangeRequest: r.require_change_request,
    deployment: normalizeDeploymentSettings(r.deployment),
    version: r.version,
    freeze: { active: status.active !== null, activeWindow: status.active, nextWindow: status.next },
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

export async function findEnvironment(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<EnvironmentRow>(`SELECT ${ENVIRONMENT_COLUMNS} FROM environments WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  if (!rows[0]) return undefined;
  return presentEnvironment(rows[0], await freezeWindows(db, tenantId, id));
}

/** Every environment's freeze windows in one query, for list pages. */
export async function windowsByEnvironment(db: Db, tenantId: string, ids: string[]): Promise<Map<string, FreezeWindow[]>> {
  const map = new Map<string, FreezeWindow[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return map;
  const { rows } = await db.query<Omit<FreezeWindowRow, 'created_by'>>(
    `SELECT environment_id, id, name, reason, starts_at, ends_at, rrule, timezone, duration, exempt_release_classes, created_at
       FROM freeze_windows WHERE tenant_id = $1 AND environment_id = ANY($2::uuid[]) ORDER BY created_at, id`,
    [tenantId, ids],
  );
  for (const r of rows) map.get(r.environment_id)?.push(toWindow(r));
  return map;
}

export function toWindow(r: Omit<FreezeWindowRow, 'created_by'>): FreezeWindow {
  return {
    id: r.id,
    name: r.name,
    reason: r.reason,
    start: iso(r.starts_at),
    end: iso(r.ends_at),
    rrule: r.rrule,
    timezone: r.timezone,
    duration: r.duration,
    exemptReleaseClasses: r.exempt_release_classes,
    createdAt: iso(r.created_at)!,
  };
}

export function presentWindow(r: FreezeWindowRow, nowMs = Date.now()) {
  const w = toWindow(r);
  const status = freezeStatus([w], nowMs);
  const upcoming = status.active ?? status.next;
  return {
    id: w.id,
    environmentId: r.environment_id,
    name: w.name,
    reason: w.reason ?? null,
    start: w.start ?? null,
    end: w.end ?? null,
    rrule: w.rrule ?? null,
    timezone: w.timezone ?? null,
    duration: w.duration ?? null,
    exemptReleaseClasses: w.exemptReleaseClasses,
    nextOccurrence: upcoming,
    createdBy: r.created_by,
    createdAt: w.createdAt,
  };
}
