import { READ_PERMISSIONS } from '../../../domain/changes/permissions';
import { changeResource } from '../../../domain/changes/cab';
import { READ_ONLY_CHANGE_FIELDS } from '../../../domain/changes/requests';
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
import { createChangeWorkflow, reconcileChange, updateChangeWorkflow } from './changes.dispatch';
import { changeHistory, findChange, listChanges, riskHistory } from './changes.queries';
import * as routes from './changes.routes';

/** The change's wire shape, for modules that answer with changes (the approval inbox). */
export { ChangeSchema } from './changes.responses';

/**
 * The StackFlow Changes API: reads from Postgres, commands to the change's
 * workflow. Who may send which command is domain/changes/permissions.ts,
 * checked by updateChangeWorkflow before the workflow checks it again. What
 * each handler answers is checked, as it is typed, against the response its
 * route documents (api/respond.ts).
 */
export function changesRouter() {
  const router = createRouter({ readOnlyFields: READ_ONLY_CHANGE_FIELDS });

  router.openapi(routes.listChangesRoute, async (c) => {
    const { tenantId } = requirePermission(c, READ_PERMISSIONS.change);
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.CHANGE_SORTS, { field: 'created_at', direction: 'desc' });
    const page = await listChanges(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort));
    return okList(c, page);
  });

  router.openapi(routes.createChangeRoute, async (c) => {
    const change = await createChangeWorkflow(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${change.id}`);
    return ok(c, changeResource(change), 201);
  });

  router.openapi(routes.getChangeRoute, async (c) => {
    const { tenantId } = requirePermission(c, READ_PERMISSIONS.change);
    return ok(c, changeResource(await existing(c, tenantId, c.req.valid('param').id)));
  });

  router.openapi(routes.patchChangeRoute, async (c) => {
    const body = c.req.valid('json');
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, patchChange, body, { kind: 'patch', input: body })));
  });

  router.openapi(routes.submitRoute, async (c) => {
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, submitChange, {}, { kind: 'submit' })));
  });

  router.openapi(routes.submitCabRoute, async (c) => {
    const body = c.req.valid('json');
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, submitCab, body, { kind: 'submit_cab', input: body })));
  });

  router.openapi(routes.approveRoute, async (c) => {
    const body = c.req.valid('json');
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, approveChange, body, { kind: 'approve', input: body })));
  });

  router.openapi(routes.rejectRoute, async (c) => {
    const body = c.req.valid('json');
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, rejectChange, body, { kind: 'reject', input: body })));
  });

  router.openapi(routes.cancelRoute, async (c) => {
    const body = c.req.valid('json');
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, cancelChange, body, { kind: 'cancel', input: body })));
  });

  router.openapi(routes.reviewRoute, async (c) => {
    const body = c.req.valid('json');
    return ok(c, changeResource(await updateChangeWorkflow(c, c.req.valid('param').id, reviewChange, body, { kind: 'review', input: body })));
  });

  router.openapi(routes.reconcileRoute, async (c) => {
    return ok(c, changeResource(await reconcileChange(c, c.req.valid('param').id)));
  });

  router.openapi(routes.riskRoute, async (c) => {
    const { tenantId } = requirePermission(c, READ_PERMISSIONS.change);
    const change = await existing(c, tenantId, c.req.valid('param').id);
    const { risk_score, risk_level, factors, recommendation, model_version, assessed_at } = change.risk_assessment;
    return ok(c, { risk_score, risk_level, factors, recommendation, model_version, assessed_at });
  });

  router.openapi(routes.riskHistoryRoute, async (c) => {
    const { tenantId } = requirePermission(c, READ_PERMISSIONS.change);
    const change = await existing(c, tenantId, c.req.valid('param').id);
    return ok(c, await riskHistory(c.get('deps').pool, tenantId, change.id));
  });

  // The trail shows every edit's before and after: auditors' business, not every reader's.
  router.openapi(routes.historyRoute, async (c) => {
    const { tenantId } = requirePermission(c, READ_PERMISSIONS.history);
    const change = await existing(c, tenantId, c.req.valid('param').id);
    return ok(c, await changeHistory(c.get('deps').pool, tenantId, change.id));
  });

  return router;
}

async function existing(c: Parameters<typeof principalOf>[0], tenantId: string, id: string) {
  const change = await findChange(c.get('deps').pool, tenantId, id);
  if (!change) throw new NotFound(`Change ${id} not found`);
  return change;
}
