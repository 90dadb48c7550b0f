import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { EvidencePacket } from '../../../platform/evidence';
import { approvePromotion, cancelPromotion, rejectPromotion } from '../../../workflows/promotions/messages';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { NotFound, Unprocessable } from '../../errors';
import { listPage } from '../../list-query';
import { pageRequest, parseSort } from '../../pagination';
import { actorOf, requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { evidenceKeys } from './evidence-keys';
import { createPromotionWorkflow, reconcilePromotion, updatePromotionWorkflow } from './promotions.dispatch';
import { findPromotion, listPromotions, POLICY_COLUMNS, presentPolicy, PROMOTION_SORT_COLUMNS, type PolicyRow } from './promotions.queries';
import * as routes from './promotions.routes';
import { INBOX_SORT, pendingApprovals } from './pending-approvals';
import { notifyOpenPromotions } from '../../../dispatch/promotion-signals';
import { previewPromotionGates } from '../../../dispatch/promotion-start';
import type { HttpGate } from '../../../domain/promotions/gates-http';
import type { httpGateSchema } from '../../../domain/promotions/requests';
import type { z } from 'zod';
import type { PoolClient } from '../../../platform/db';
import { httpGateProblems } from '../../../store/policy-http-gates';
import { gateDepsOf } from '../../../activities/integrations/http-gate';
import { findPlugin } from '../../../store/plugins-loader';

const POLICY_SORTS = { name: { column: 'name', cast: 'text' }, created_at: { column: 'created_at', cast: 'timestamptz' } } as const;
const POLICY_DUPLICATE = { '*': 'The environment already has an approval policy; edit it instead' };

/** Promotions (workflow-owned: commands go to the workflow, reads come from Postgres), approval policies and evidence keys. */
export function promotionsRouter() {
  const router = createRouter();

  router.openapi(routes.listPromotionsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, Object.keys(PROMOTION_SORT_COLUMNS), { field: 'requested_at', direction: 'desc' });
    return okList(c, await listPromotions(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createPromotionRoute, async (c) => {
    requirePermission(c, 'promotion:create');
    const promotion = await createPromotionWorkflow(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${promotion.id}`);
    return ok(c, promotion, 201);
  });

  router.openapi(routes.getPromotionRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    return ok(c, await existing(c, tenantId, c.req.valid('param').id));
  });

  // Whether the caller may decide is the workflow's call (approver groups, SoD); reading is enough to ask.
  router.openapi(routes.approveRoute, async (c) => {
    requirePermission(c, 'promotion:read');
    return ok(c, await updatePromotionWorkflow(c, c.req.valid('param').id, approvePromotion, c.req.valid('json') ?? {}));
  });

  router.openapi(routes.rejectRoute, async (c) => {
    requirePermission(c, 'promotion:read');
    return ok(c, await updatePromotionWorkflow(c, c.req.valid('param').id, rejectPromotion, c.req.valid('json')));
  });

  router.openapi(routes.cancelRoute, async (c) => {
    requirePermission(c, 'promotion:read');
    return ok(c, await updatePromotionWorkflow(c, c.req.valid('param').id, cancelPromotion, c.req.valid('json') ?? {}));
  });

  router.openapi(routes.reconcileRoute, async (c) => {
    return ok(c, await reconcilePromotion(c, c.req.valid('param').id));
  });

  router.openapi(routes.decisionRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const p = await existing(c, tenantId, c.req.valid('param').id);
    return ok(c, {
      promotionId: p.id,
      decision: p.decision ?? ('pending' as const),
      status: p.status,
      decidedAt: p.decidedAt,
      gates: p.gates,
      approvals: p.approvals,
      approvalCount: p.approvalCount,
      requiredApprovals: p.requiredApprovals,
      policy: p.policy,
      statusReason: p.statusReason,
    });
  });

  router.openapi(routes.approvalsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    return ok(c, (await existing(c, tenantId, c.req.valid('param').id)).approvals);
  });

  router.openapi(routes.evidenceRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const { id } = c.req.valid('param');
    const { decision } = c.req.valid('query');
    await existing(c, tenantId, id);
    const { rows } = await c.get('deps').pool.query<{ packet: EvidencePacket }>(
      `SELECT packet FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = $2 AND ($3::text IS NULL OR decision = $3)
        ORDER BY generated_at DESC, decision DESC LIMIT 1`,
      [tenantId, id, decision ?? null],
    );
    if (!rows[0]) throw new NotFound(decision ? `No ${decision} decision recorded for promotion ${id}` : `No decision recorded for promotion ${id} yet`, 'EVIDENCE_NOT_FOUND');
    return ok(c, rows[0].packet);
  });

  router.openapi(routes.previewRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const body = c.req.valid('json');
    const { wouldPass, gates, pipeline } = await previewPromotionGates(gateDepsOf(c.get('deps')), tenantId, body, actorOf(c));
    return ok(c, { wouldPass, gates, pipeline });
  });

  router.openapi(routes.myPendingRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const query = c.req.valid('query');
    const { config } = c.get('deps');
    const page = await pendingApprovals(c.get('deps').pool, tenantId, actorOf(c), {
      kind: query.kind,
      changeSettings: { reviewDeadlineMs: config.CHANGE_REVIEW_DEADLINE, defaultCabQuorum: config.CHANGE_CAB_QUORUM },
      request: pageRequest(c.get('dialect'), query, INBOX_SORT),
    });
    return okList(c, page);
  });

  // A JWKS is served bare (RFC 7517), as every verifier expects it.
  router.openapi(routes.evidenceJwksRoute, async (c) => c.json(await evidenceKeys(c.get('deps').config)));

  router.openapi(routes.listPoliciesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const query = c.req.valid('query');
    const where = ['tenant_id = $1', 'deleted_at IS NULL'];
    const params: unknown[] = [tenantId];
    if (query.environmentId) {
      params.push(query.environmentId);
      where.push(`environment_id = $${params.length}`);
    }
    const sort = parseSort(query, Object.keys(POLICY_SORTS), { field: 'name', direction: 'asc' });
    const page = await listPage(c.get('deps').pool, { from: 'approval_policies', select: POLICY_COLUMNS, where, params, sortColumns: POLICY_SORTS, idColumn: 'id::text' }, pageRequest(c.get('dialect'), query, sort), presentPolicy);
    return okList(c, page);
  });

  router.openapi(routes.createPolicyRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'policy:write');
    const body = c.req.valid('json');
    const id = randomUUID();
    const row = await auditedWrite(
      c,
      async (db) => {
        await requireEnvironment(db, tenantId, body.environmentId);
        await requireHttpGates(c, db, tenantId, body.httpGates);
        const { rows } = await db.query<PolicyRow>(
          `INSERT INTO approval_policies (tenant_id, id, environment_id, name, required_approvals, approver_groups, require_sod, auto_expire_hours, cel_gates, http_gates, created_by)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING ${POLICY_COLUMNS}`,
          [tenantId, id, body.environmentId, body.name, body.requiredApprovals, body.approverGroups, body.requireSeparationOfDuties, body.autoExpireHours ?? null, JSON.stringify(body.celGates), storedHttpGates(body.httpGates), userId],
        );
        await db.query('INSERT INTO approval_policy_versions (tenant_id, policy_id, version, body, created_by) VALUES ($1, $2, 1, $3, $4)', [tenantId, id, JSON.stringify(body), userId]);
        return { result: rows[0], audit: { action: 'approval_policy.create', resourceType: 'approval_policy', resourceId: id, after: body } };
      },
      { unique: POLICY_DUPLICATE },
    );
    await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId: body.environmentId }, 'an approval policy now applies');
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, presentPolicy(row), 201);
  });

  router.openapi(routes.getPolicyRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'promotion:read');
    const { id } = c.req.valid('param');
    const { rows } = await c.get('deps').pool.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM approval_policies WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, [tenantId, id]);
    if (!rows[0]) throw new NotFound(`Approval policy ${id} not found`);
    return ok(c, presentPolicy(rows[0]));
  });

  router.openapi(routes.updatePolicyRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'policy:write');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { row, before } = await auditedWrite(
      c,
      async (db) => {
        const previous = (await db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM approval_policies WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, [tenantId, id])).rows[0];
        if (!previous) return undefined;
        await requireEnvironment(db, tenantId, body.environmentId);
        await requireHttpGates(c, db, tenantId, body.httpGates);
        const { rows } = await db.query<PolicyRow>(
          `UPDATE approval_policies SET environment_id = $3, name = $4, required_approvals = $5, approver_groups = $6, require_sod = $7, auto_expire_hours = $8,
                  cel_gates = $9, http_gates = $10, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING ${POLICY_COLUMNS}`,
          [tenantId, id, body.environmentId, body.name, body.requiredApprovals, body.approverGroups, body.requireSeparationOfDuties, body.autoExpireHours ?? null, JSON.stringify(body.celGates), storedHttpGates(body.httpGates)],
        );
        await db.query('INSERT INTO approval_policy_versions (tenant_id, policy_id, version, body, created_by) VALUES ($1, $2, $3, $4, $5)', [tenantId, id, rows[0].version, JSON.stringify(body), userId]);
        return {
          result: { row: rows[0], before: previous },
          audit: { action: 'approval_policy.update', resourceType: 'approval_policy', resourceId: id, before: presentPolicy(previous), after: { ...body, version: rows[0].version } },
        };
      },
      { unique: POLICY_DUPLICATE, notFound: `Approval policy ${id} not found` },
    );
    for (const environmentId of new Set([before.environment_id, body.environmentId])) await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId }, `approval policy ${row.name} changed to version ${row.version}`);
    return ok(c, presentPolicy(row));
  });

  router.openapi(routes.deletePolicyRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'policy:write');
    const { id } = c.req.valid('param');
    const gone = await auditedWrite(c, async (db) => {
      const { rows } = await db.query<PolicyRow>(`UPDATE approval_policies SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${POLICY_COLUMNS}`, [tenantId, id]);
      if (!rows[0]) return undefined;
      return { result: rows[0], audit: { action: 'approval_policy.delete', resourceType: 'approval_policy', resourceId: id, before: presentPolicy(rows[0]) } };
    }, { notFound: `Approval policy ${id} not found` });
    await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId: gone.environment_id }, 'the approval policy was deleted; the environment’s defaults apply');
    return c.body(null, 204);
  });

  return router;
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const p = await findPromotion(c.get('deps').pool, tenantId, id);
  if (!p) throw new NotFound(`Promotion ${id} not found`, 'PROMOTION_NOT_FOUND');
  return p;
}

async function requireEnvironment(db: { query: (sql: string, params: unknown[]) => Promise<{ rowCount: number | null }> }, tenantId: string, id: string) {
  const found = await db.query('SELECT 1 FROM environments WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, id]);
  if (!found.rowCount) throw new Unprocessable(`Environment ${id} does not exist`, 'ENVIRONMENT_NOT_FOUND', { environmentId: id });
}

/** Every http gate names one http-gate integration of the tenant or one instance of a loaded http-gate plugin: 422 listing each field that does not. */
async function requireHttpGates(c: Context<AppEnv>, db: PoolClient, tenantId: string, gates: readonly GateInput[]) {
  const { TOLLGATE_PLUGINS, PLUGIN_CALL_TIMEOUT } = c.get('deps').config;
  const problems = await httpGateProblems(db, tenantId, gates, (id) => findPlugin(TOLLGATE_PLUGINS, PLUGIN_CALL_TIMEOUT, id));
  if (problems.length === 0) return;
  throw new Unprocessable(`${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, 'HTTP_GATE_INTEGRATION_INVALID', { fields: problems });
}

/** As the gate evaluator reads them: a message or null, blocking spelt out. */
const storedHttpGates = (gates: readonly GateInput[]) =>
  JSON.stringify(
    gates.map((g): HttpGate => ({ name: g.name, ...(g.pluginInstanceId ? { pluginInstanceId: g.pluginInstanceId } : { integrationId: g.integrationId }), message: g.message ?? null, blocking: g.blocking })),
  );

type GateInput = z.infer<typeof httpGateSchema>;
