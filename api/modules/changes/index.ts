import { READ_ONLY_CHANGE_FIELDS } from '../../../domain/changes/schemas';
import { NotFound } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { principalOf, requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import {
  approveChange,
  cancelChange,
  patchChange,
  rejectChange,
  reviewChange,
  submitCab,
  submitChange,
} from '../../../workflows/changes/messages';
import { createChangeWorkflow, updateChangeWorkflow } from './commands';
import { CHANGE_SORTS, changeHistory, findChange, listChanges, riskHistory } from './queries';
import * as routes from './routes';

/** The StackFlow Changes API: reads from Postgres, commands to the change's workflow. */
export function changesRouter() {
  const router = createRouter({ readOnlyFields: READ_ONLY_CHANGE_FIELDS });

  router.openapi(routes.listChangesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'change:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, Object.keys(CHANGE_SORTS), { field: 'created_at', direction: 'desc' });
    const page = await listChanges(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort));
    return okList(c, page) as never;
  });

  router.openapi(routes.createChangeRoute, async (c) => {
    requirePermission(c, 'change:create');
    const change = await createChangeWorkflow(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${change.id}`);
    return ok(c, change, 201) as never;
  });

  router.openapi(routes.getChangeRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'change:read');
    return ok(c, await existing(c, tenantId, c.req.valid('param').id)) as never;
  });

  router.openapi(routes.patchChangeRoute, async (c) => {
    requirePermission(c, 'change:update');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'patch', patchChange, c.req.valid('json'))) as never;
  });

  router.openapi(routes.submitRoute, async (c) => {
    requirePermission(c, 'change:update');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'submit', submitChange, {})) as never;
  });

  router.openapi(routes.submitCabRoute, async (c) => {
    requirePermission(c, 'change:update');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'submit-cab', submitCab, c.req.valid('json'))) as never;
  });

  // Whether the caller may decide is the workflow's call: named approvers need no CAB role.
  router.openapi(routes.approveRoute, async (c) => {
    requirePermission(c, 'change:read');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'approve', approveChange, c.req.valid('json'))) as never;
  });

  router.openapi(routes.rejectRoute, async (c) => {
    requirePermission(c, 'change:read');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'reject', rejectChange, c.req.valid('json'))) as never;
  });

  router.openapi(routes.cancelRoute, async (c) => {
    requirePermission(c, 'change:update');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'cancel', cancelChange, c.req.valid('json'))) as never;
  });

  router.openapi(routes.reviewRoute, async (c) => {
    requirePermission(c, 'change:review');
    return ok(c, await updateChangeWorkflow(c, c.req.valid('param').id, 'review', reviewChange, c.req.valid('json'))) as never;
  });

  router.openapi(routes.riskRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'change:read');
    const change = await existing(c, tenantId, c.req.valid('param').id);
    const { risk_score, risk_level, factors, recommendation, model_version, assessed_at } = change.risk_assessment;
    return ok(c, { risk_score, risk_level, factors, recommendation, model_version, assessed_at }) as never;
  });

  router.openapi(routes.riskHistoryRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'change:read');
    const change = await existing(c, tenantId, c.req.valid('param').id);
    return ok(c, await riskHistory(c.get('deps').pool, tenantId, change.id)) as never;
  });

  router.openapi(routes.historyRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'change:read');
    const change = await existing(c, tenantId, c.req.valid('param').id);
    return ok(c, await changeHistory(c.get('deps').pool, tenantId, change.id)) as never;
  });

  return router;
}

async function existing(c: Parameters<typeof principalOf>[0], tenantId: string, id: string) {
  const change = await findChange(c.get('deps').pool, tenantId, id);
  if (!change) throw new NotFound(`Change ${id} not found`);
  return change;
}
