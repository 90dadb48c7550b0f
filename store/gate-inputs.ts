import { createHash } from 'node:crypto';
import { freezeStatus, type FreezeWindow } from '../domain/promotions/freeze';
import type { HttpGate, HttpGateCheck } from '../domain/promotions/gates-http';
import type { DeployHookRef, DeployHooks, EffectivePolicy, GateInputs, GatePipeline, ReleaseComponentRef } from '../domain/promotions/model';
import { DEFAULT_PIPELINE_NAME, defaultPipeline, placeInPipeline, releasePipelineOf, type PipelineEnvironment } from '../domain/promotions/pipelines';
import type { Pool, PoolClient } from '../platform/db';

/**
 * Gathers everything the promotion gates read, from the plain entities in
 * Postgres. The API's preview and the workflow's activities both call this, so a
 * preview meets exactly the inputs a real promotion would; so do rollbacks and
 * retries, which ask domain/promotions/clearance.ts whether they may deploy.
 */
export interface GateInputsRequest {
  tenantId: string;
  releaseId: string;
  targetEnvironmentId: string;
  changeId?: string | null;
  now: string;
}

export type GateInputsResult = { ok: true; inputs: GateInputs } | { ok: false; missing: 'release' | 'environment' };

/**
 * Calls a policy's http gates (activities/integrations/http-gate.ts: it opens the integrations' secrets, so it is
 * passed in by the callers that evaluate gates, and never named in a request that a workflow records).
 */
export type HttpGateChecker = (tenantId: string, gates: readonly HttpGate[], context: HttpGateContext) => Promise<HttpGateCheck[]>;

/** What a plugin gate is told about the promotion (non-secret facts only). */
export interface HttpGateContext {
  release: { id: string; name: string };
  environment: { id: string; name: string };
}

type Db = Pool | PoolClient;

/** Without `checkHttpGates` a policy's http gates are not called, and fail as not checked: paths that only read the freeze or the order pass none. */
export async function loadGateInputs(db: Db, request: GateInputsRequest, checkHttpGates?: HttpGateChecker): Promise<GateInputsResult> {
  const { tenantId, releaseId, targetEnvironmentId, changeId } = request;
  const [release, environment] = await Promise.all([
    db.query('SELECT id, name, class, components, security_scan, deprecated_at FROM releases WHERE tenant_id = $1 AND id = $2', [tenantId, releaseId]),
    db.query(
      `SELECT id, name, "order", require_sod, required_approvals, security_thresholds, require_change_request, version, deployment->>'deployHook' AS deploy_hook,
              EXISTS (SELECT 1 FROM release_deployments d WHERE d.tenant_id = e.tenant_id AND d.environment_id = e.id AND d.release_id = $3 AND d.status = 'deployed') AS release_deployed
         FROM environments e WHERE tenant_id = $1 AND id = $2`,
      [tenantId, targetEnvironmentId, releaseId],
    ),
  ]);
  const rel = release.rows[0];
  const env = environment.rows[0];
  if (!rel) return { ok: false, missing: 'release' };
  if (!env) return { ok: false, missing: 'environment' };
  const nowMs = Date.parse(request.now);
  const components = rel.components as ReleaseComponentRef[];
  const pipeline = await pipelineOf(db, tenantId, components);
  const policy = await effectivePolicy(db, tenantId, env);
  const [previous, windows, change, hooks, httpGateChecks] = await Promise.all([
    previousEnvironment(db, tenantId, pipeline, targetEnvironmentId, releaseId),
    freezeWindows(db, tenantId, targetEnvironmentId),
    changeId ? changeRequest(db, tenantId, changeId) : Promise.resolve(null),
    deployHooks(db, tenantId, components, env.deploy_hook),
    policy.httpGates && checkHttpGates
      ? checkHttpGates(tenantId, policy.httpGates, { release: { id: rel.id, name: rel.name }, environment: { id: env.id, name: env.name } })
      : Promise.resolve(undefined),
  ]);
  return {
    ok: true,
    inputs: {
      release: {
        id: rel.id,
        name: rel.name,
        class: rel.class,
        deprecated: rel.deprecated_at !== null,
        securityScan: rel.security_scan ?? null,
        components: components.map((c) => ({ componentId: c.componentId, name: c.name, version: c.version, digest: c.digest ?? null })),
      },
      environment: {
        id: env.id,
        name: env.name,
        order: env.order,
        securityThresholds: env.security_thresholds ?? null,
        requireChangeRequest: env.require_change_request,
        releaseDeployed: env.release_deployed,
      },
      previousEnvironment: previous,
      pipeline,
      policy,
      freeze: freezeStatus(windows, nowMs, rel.class),
      changeRequest: change,
      changeId: changeId ?? null,
      deployHooks: hooks,
      // Only a policy with http gates adds the field, so every other promotion's inputs stay as they were.
      ...(httpGateChecks ? { httpGateChecks } : {}),
    },
  };
}

/** A blank hook is no hook (the agent then uses the environment's), as the deployment plan reads it. */
function hookRef(command: unknown): DeployHookRef | null {
  if (typeof command !== 'string' || command.trim() === '') return null;
  return { command, digest: `sha256:${createHash('sha256').update(command, 'utf8').digest('hex')}` };
}

/** The hooks that would run for the release's components: each component's own, and the environment's fallback. */
async function deployHooks(db: Db, tenantId: string, components: ReleaseComponentRef[], environmentHook: unknown): Promise<DeployHooks> {
  const ids = [...new Set(components.map((c) => c.componentId))];
  const { rows } = ids.length ? await db.query('SELECT id, deploy_hook FROM components WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, ids]) : { rows: [] };
  const own = new Map(rows.map((r) => [r.id as string, hookRef(r.deploy_hook)]));
  return {
    environment: hookRef(environmentHook),
    components: components.map((c) => ({ componentId: c.componentId, name: c.name, hook: own.get(c.componentId) ?? null })),
  };
}

/**
 * The pipeline the release follows: the one its components name, or the default (every environment by order).
 * Components split between pipelines follow none; the default's order is shown and the order gate refuses.
 */
async function pipelineOf(db: Db, tenantId: string, components: ReleaseComponentRef[]): Promise<GatePipeline> {
  const ids = [...new Set(components.map((c) => c.componentId))];
  const { rows: named } = ids.length
    ? await db.query<{ pipeline_id: string | null; name: string | null }>(
        `SELECT DISTINCT c.pipeline_id, p.name FROM components c LEFT JOIN pipelines p ON p.tenant_id = c.tenant_id AND p.id = c.pipeline_id
          WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) ORDER BY p.name NULLS FIRST`,
        [tenantId, ids],
      )
    : { rows: [] };
  const chosen = releasePipelineOf(named.map((r) => r.pipeline_id));
  if (chosen.agreed && chosen.pipelineId) {
    const { rows } = await db.query<{ name: string; environments: PipelineEnvironment[] }>(
      `SELECT p.name, COALESCE(jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name) ORDER BY x.n) FILTER (WHERE e.id IS NOT NULL), '[]') AS environments
         FROM pipelines p CROSS JOIN LATERAL unnest(p.environment_ids) WITH ORDINALITY AS x(env_id, n)
         LEFT JOIN environments e ON e.tenant_id = p.tenant_id AND e.id = x.env_id
        WHERE p.tenant_id = $1 AND p.id = $2 GROUP BY p.name`,
      [tenantId, chosen.pipelineId],
    );
    if (rows[0]) return { id: chosen.pipelineId, name: rows[0].name, environments: rows[0].environments };
  }
  const { rows } = await db.query<PipelineEnvironment & { order: number }>('SELECT id, name, "order" FROM environments WHERE tenant_id = $1', [tenantId]);
  const fallback = defaultPipeline(rows);
  return chosen.agreed ? fallback : { ...fallback, splitBetween: named.map((r) => r.name ?? DEFAULT_PIPELINE_NAME) };
}

/** The environment before the target in the pipeline, and whether the release finished deploying there. */
async function previousEnvironment(db: Db, tenantId: string, pipeline: GatePipeline, targetId: string, releaseId: string): Promise<GateInputs['previousEnvironment']> {
  const placement = placeInPipeline(pipeline.environments, targetId);
  if (pipeline.splitBetween || !placement.inPipeline || !placement.previous) return null;
  const { rows } = await db.query(
    `SELECT EXISTS (SELECT 1 FROM release_deployments d
                     WHERE d.tenant_id = $1 AND d.environment_id = $2 AND d.release_id = $3 AND d.status = 'deployed') AS deployed`,
    [tenantId, placement.previous.id, releaseId],
  );
  return { id: placement.previous.id, name: placement.previous.name, releaseDeployed: rows[0].deployed };
}

/** The environment's approval policy (latest version) overrides the environment's own defaults. */
export async function effectivePolicy(
  db: Db,
  tenantId: string,
  env: { id: string; name: string; require_sod: boolean; required_approvals: number; version: number },
): Promise<EffectivePolicy> {
  const { rows } = await db.query(
    `SELECT id, name, version, required_approvals, approver_groups, require_sod, auto_expire_hours, cel_gates, http_gates
       FROM approval_policies WHERE tenant_id = $1 AND environment_id = $2 AND deleted_at IS NULL`,
    [tenantId, env.id],
  );
  const p = rows[0];
  if (!p) {
    return {
      policyId: null,
      policyVersion: env.version,
      name: `${env.name} defaults`,
      requiredApprovals: env.required_approvals,
      approverGroups: [],
      requireSeparationOfDuties: env.require_sod,
      autoExpireHours: null,
    };
  }
  const policy: EffectivePolicy = {
    policyId: p.id,
    policyVersion: p.version,
    name: p.name,
    requiredApprovals: p.required_approvals,
    approverGroups: p.approver_groups,
    requireSeparationOfDuties: p.require_sod,
    autoExpireHours: p.auto_expire_hours,
  };
  // Only a policy that has gates carries the field: the inputs of every other promotion stay as they were.
  if (p.cel_gates.length) policy.celGates = p.cel_gates;
  if (p.http_gates.length) policy.httpGates = p.http_gates;
  return policy;
}

export async function freezeWindows(db: Db, tenantId: string, environmentId: string): Promise<FreezeWindow[]> {
  const { rows } = await db.query(
    `SELECT id, name, reason, starts_at, ends_at, rrule, timezone, duration, exempt_release_classes, created_at
       FROM freeze_windows WHERE tenant_id = $1 AND environment_id = $2 ORDER BY created_at, id`,
    [tenantId, environmentId],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    reason: r.reason,
    start: r.starts_at ? new Date(r.starts_at).toISOString() : null,
    end: r.ends_at ? new Date(r.ends_at).toISOString() : null,
    rrule: r.rrule,
    timezone: r.timezone,
    duration: r.duration,
    exemptReleaseClasses: r.exempt_release_classes,
    createdAt: new Date(r.created_at).toISOString(),
  }));
}

async function changeRequest(db: Db, tenantId: string, changeId: string): Promise<GateInputs['changeRequest']> {
  const { rows } = await db.query('SELECT id, state, scheduled_start, scheduled_end FROM changes WHERE tenant_id = $1 AND id = $2', [tenantId, changeId]);
  const r = rows[0];
  if (!r) return null;
  const iso = (t: Date | null) => (t ? new Date(t).toISOString() : null);
  return { id: r.id, state: r.state, scheduled_start: iso(r.scheduled_start), scheduled_end: iso(r.scheduled_end) };
}
