import { ApplicationFailure } from '@temporalio/common';
import type { EnvironmentDeploymentSettings, HealthCheck, JobPlan, PlanRelease, PlanTarget, StickerRef } from '../../domain/deployments/model';
import type { ReleaseComponentRef } from '../../domain/promotions/model';
import { effectiveLabelSelector } from '../../domain/deployments/strategy';
import type { Pool } from '../../platform/db';

export interface LoadPlanInput {
  tenantId: string;
  environmentId: string;
  releaseId: string;
  labelSelector: Record<string, string> | null;
  /** Only these targets (a rollout's canary targets). */
  targetIds?: string[] | null;
}

const iso = (v: Date | string) => new Date(v).toISOString();

/** A blank hook is no hook: the environment's default applies. */
const hook = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

function notFound(type: 'ENVIRONMENT_NOT_FOUND' | 'RELEASE_NOT_FOUND', message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ kind: 'not_found' }] });
}

/**
 * Everything a job needs, read once at its start: the environment and its
 * deployment settings, the release with each component's hook, and the chosen
 * targets with the sticker each carries now, which is where a rollback returns it.
 */
export async function loadDeploymentPlan(pool: Pool, input: LoadPlanInput): Promise<{ plan: JobPlan; settings: EnvironmentDeploymentSettings }> {
  const { tenantId, environmentId, releaseId } = input;
  const env = (await pool.query('SELECT id, name, deployment FROM environments WHERE tenant_id = $1 AND id = $2', [tenantId, environmentId])).rows[0];
  if (!env) throw notFound('ENVIRONMENT_NOT_FOUND', `Environment ${environmentId} not found`);
  const settings: EnvironmentDeploymentSettings = env.deployment ?? {};

  const [release] = await loadReleases(pool, tenantId, [releaseId], settings);
  if (!release) throw notFound('RELEASE_NOT_FOUND', `Release ${releaseId} not found`);

  const { rows } = await pool.query(
    `SELECT t.id, t.name, t.agent_id, t.labels, t.properties, t.health_check,
            s.release_id, s.release_name, s.version, s.digests, s.job_id, s.deployed_at
       FROM targets t
       LEFT JOIN target_stickers s ON s.tenant_id = t.tenant_id AND s.target_id = t.id
      WHERE t.tenant_id = $1 AND t.environment_id = $2 AND t.labels @> $3::jsonb AND ($4::uuid[] IS NULL OR t.id = ANY($4::uuid[]))
      ORDER BY t.name, t.id`,
    [tenantId, environmentId, JSON.stringify(effectiveLabelSelector(input, settings)), input.targetIds ?? null],
  );
  const targets: PlanTarget[] = rows.map((r) => ({
    id: r.id,
    name: r.name,
    agentId: r.agent_id,
    labels: r.labels ?? {},
    properties: r.properties ?? {},
    healthCheck: (r.health_check as HealthCheck | null) ?? settings.healthCheck ?? null,
    previous: r.release_id ? sticker(r) : null,
  }));

  const previousIds = [...new Set(targets.flatMap((t) => (t.previous ? [t.previous.releaseId] : [])))];
  const previousReleases: Record<string, PlanRelease> = {};
  for (const r of await loadReleases(pool, tenantId, previousIds, settings)) previousReleases[r.id] = r;

  return { plan: { environment: { id: env.id, name: env.name }, release, targets, previousReleases }, settings };
}

function sticker(r: Record<string, any>): StickerRef {
  return { releaseId: r.release_id, releaseName: r.release_name, version: r.version, digests: r.digests ?? {}, jobId: r.job_id, deployedAt: iso(r.deployed_at) };
}

/** The releases that still exist among `ids`, each component with its own hook or else the environment's. */
async function loadReleases(pool: Pool, tenantId: string, ids: string[], settings: EnvironmentDeploymentSettings): Promise<PlanRelease[]> {
  if (ids.length === 0) return [];
  const releases = (await pool.query('SELECT id, name, version, components FROM releases WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, ids])).rows;
  const refs = releases.flatMap((r) => r.components as ReleaseComponentRef[]);
  const componentIds = [...new Set(refs.map((c) => c.componentId))];
  const hooks = new Map<string, string | null>();
  if (componentIds.length) {
    const { rows } = await pool.query('SELECT id, deploy_hook FROM components WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, componentIds]);
    for (const c of rows) hooks.set(c.id, hook(c.deploy_hook));
  }
  const fallback = hook(settings.deployHook);
  return releases.map((r) => ({
    id: r.id,
    name: r.name,
    version: r.version,
    components: (r.components as ReleaseComponentRef[]).map((c) => ({
      componentId: c.componentId,
      name: c.name,
      version: c.version,
      digest: c.digest ?? null,
      deployHook: hooks.get(c.componentId) ?? fallback,
    })),
  }));
}
