import type { Context } from 'hono';
import { z } from 'zod';
import { STEP_TYPE_DEFINITIONS, type StepTypeDefinition } from '../../../domain/templates/step-types';
import { STEP_TYPES, type StepTypeName } from '../../../domain/templates/model';
import { validateTemplate } from '../../../domain/templates/validate';
import { findTemplate, listTemplateVersions } from '../../../store/workflow-templates';
import type { AppEnv } from '../../context';
import { NotFound } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { listTemplates } from './workflow-templates.queries';
import * as routes from './workflow-templates.routes';
import { createTemplate, deleteTemplate, updateTemplate } from './workflow-templates.writes';
import { yamlBodies } from './yaml-bodies';

/**
 * Workflow templates: plain Postgres entities the API writes (audited,
 * tenant-scoped, versioned), and the step types their nodes are written with.
 */
export function workflowTemplatesRouter() {
  const router = createRouter();
  router.use('/workflow-templates', yamlBodies);
  router.use('/workflow-templates/*', yamlBodies);

  router.openapi(routes.listTemplatesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.TEMPLATE_SORTS, { field: 'created_at', direction: 'desc' });
    return okList(c, await listTemplates(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createTemplateRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'template:write');
    const id = await createTemplate(c, tenantId, userId, c.req.valid('json'));
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, await template(c, tenantId, id), 201);
  });

  router.openapi(routes.getTemplateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    return ok(c, await template(c, tenantId, c.req.valid('param').id, c.req.valid('query').version));
  });

  router.openapi(routes.listVersionsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const { id } = c.req.valid('param');
    await template(c, tenantId, id);
    return ok(c, await listTemplateVersions(c.get('deps').pool, tenantId, id));
  });

  router.openapi(routes.updateTemplateRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'template:write');
    const { id } = c.req.valid('param');
    const version = await updateTemplate(c, tenantId, userId, id, c.req.valid('json'));
    return ok(c, await template(c, tenantId, id, version));
  });

  router.openapi(routes.deleteTemplateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:write');
    await deleteTemplate(c, tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(routes.validateTemplateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const stored = await template(c, tenantId, c.req.valid('param').id);
    // Without a body the validator hands over {} (no template has no nodes): the stored version is judged.
    const candidate = c.req.valid('json');
    const result = validateTemplate('nodes' in candidate ? candidate : stored.spec);
    return ok(c, result.ok ? { valid: true, problems: [] } : { valid: false, problems: result.problems });
  });

  router.openapi(routes.listStepTypesRoute, async (c) => {
    requirePermission(c, 'template:read');
    return ok(c, STEP_TYPES.map((type) => published(STEP_TYPE_DEFINITIONS[type])));
  });

  router.openapi(routes.getStepTypeRoute, async (c) => {
    requirePermission(c, 'template:read');
    const { type } = c.req.valid('param');
    if (!STEP_TYPES.includes(type as StepTypeName)) throw new NotFound(`No step type "${type}"; known types: ${STEP_TYPES.join(', ')}`);
    return ok(c, published(STEP_TYPE_DEFINITIONS[type as StepTypeName]));
  });

  return router;
}

async function template(c: Context<AppEnv>, tenantId: string, id: string, version?: number) {
  const found = await findTemplate(c.get('deps').pool, tenantId, id, version);
  if (!found) throw new NotFound(version === undefined ? `Workflow template ${id} not found` : `Workflow template ${id} has no version ${version}`);
  const { tenantId: _tenant, ...served } = found;
  return served;
}

const publishedTypes = new Map<StepTypeName, ReturnType<typeof publish>>();
function published(definition: StepTypeDefinition) {
  let found = publishedTypes.get(definition.type);
  if (!found) publishedTypes.set(definition.type, (found = publish(definition)));
  return found;
}

/** A step type as GET /step-types shows it: what a node's inputs may hold (before defaults) and what its outputs hold. */
function publish(definition: StepTypeDefinition) {
  const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return { type: definition.type, description: definition.description, runsOn: definition.runsOn, input: schema(definition.input, 'input'), output: schema(definition.output, 'output'), available: !definition.unavailable, unavailable: definition.unavailable ?? null };
}
