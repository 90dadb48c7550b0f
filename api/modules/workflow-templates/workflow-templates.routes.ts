import { createRoute, z } from '@hono/zod-openapi';
import { templateSpecSchema } from '../../../domain/templates/requests';
import { storableText } from '../../../domain/text';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { IdParam, StepTypeParam, StepTypeSchema, TemplateSchema, TemplateSummarySchema, TemplateVersionSchema, ValidationSchema } from './workflow-templates.responses';

/** WORKFL: workflow templates (versioned DAGs of steps) and the step types they are written with. */

const templates = ['Workflow templates'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const ON_A_TEMPLATE = ['getWorkflowTemplate', 'updateWorkflowTemplate', 'deleteWorkflowTemplate', 'validateWorkflowTemplate', 'listWorkflowTemplateVersions'];
const YAML = 'The body may also be sent as YAML (Content-Type: application/yaml or application/x-yaml) with the same fields; YAML that does not parse is a 400 (`MALFORMED_YAML`).';
const BAD_BODY = `The body does not match this document (\`VALIDATION_FAILED\`), is not valid JSON (\`MALFORMED_JSON\`) or YAML (\`MALFORMED_YAML\`)`;
const INVALID =
  'The template has problems (`TEMPLATE_INVALID`): details.problems lists every one with its nodeId, field, code and message (duplicate ids, cycles, unknown step types or dependencies, references to nodes that are not dependencies or to undeclared parameters, CEL syntax and type errors, inputs the step type refuses). Nothing is saved.';
const DUPLICATE = 'A template with this name already exists (`ALREADY_EXISTS`)';

export const TEMPLATE_SORTS = ['created_at'] as const;
const ListQuery = paginationQuery.extend({
  name: storableText().max(100).optional().openapi({ description: 'Exact name (case-insensitive)' }),
  sort: sortParam(TEMPLATE_SORTS),
});
const VersionQuery = z.object({
  version: z.coerce.number().int().min(1).max(1_000_000).optional().openapi({ description: 'An older version (default: the current one)' }),
});

export const listTemplatesRoute = createRoute({
  method: 'get', path: '/workflow-templates', operationId: 'listWorkflowTemplates', tags: templates, summary: 'List workflow templates, newest first',
  request: { query: ListQuery },
  responses: {
    200: { description: 'A page of templates (without their nodes)', content: { 'application/json': { schema: listEnvelope(TemplateSummarySchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const createTemplateRoute = createRoute({
  method: 'post', path: '/workflow-templates', operationId: 'createWorkflowTemplate', tags: templates,
  summary: 'Create a workflow template (version 1)', description: YAML,
  request: jsonBody(templateSpecSchema),
  responses: {
    201: { ...json(TemplateSchema, 'The template'), links: linksToResource(ON_A_TEMPLATE) },
    ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 400: BAD_BODY, 409: DUPLICATE, 422: INVALID }),
  },
});

export const getTemplateRoute = createRoute({
  method: 'get', path: '/workflow-templates/{id}', operationId: 'getWorkflowTemplate', tags: templates, summary: 'Get a workflow template, at its current version or an older one',
  request: { params: IdParam, query: VersionQuery },
  responses: { 200: json(TemplateSchema, 'The template'), ...errorResponses([400, 403, 404], { 404: 'No such template, or no such version of it' }) },
});

export const listVersionsRoute = createRoute({
  method: 'get', path: '/workflow-templates/{id}/versions', operationId: 'listWorkflowTemplateVersions', tags: templates, summary: 'List a template’s versions, newest first',
  request: { params: IdParam },
  responses: { 200: json(z.array(TemplateVersionSchema), 'The versions'), ...errorResponses([400, 403, 404]) },
});

export const updateTemplateRoute = createRoute({
  method: 'put', path: '/workflow-templates/{id}', operationId: 'updateWorkflowTemplate', tags: templates,
  summary: 'Replace a template: the body becomes its next version; runs keep the version they started with', description: YAML,
  request: { params: IdParam, ...jsonBody(templateSpecSchema) },
  responses: { 200: json(TemplateSchema, 'The template at its new version'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 400: BAD_BODY, 409: DUPLICATE, 422: INVALID }) },
});

export const deleteTemplateRoute = createRoute({
  method: 'delete', path: '/workflow-templates/{id}', operationId: 'deleteWorkflowTemplate', tags: templates,
  summary: 'Delete a template: it can no longer be run or read; runs that use it keep their version',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404]) },
});

export const validateTemplateRoute = createRoute({
  method: 'post', path: '/workflow-templates/{id}/validate', operationId: 'validateWorkflowTemplate', tags: templates,
  summary: 'Validate the stored template, or a candidate body for it, reporting every problem at once',
  description: `Without a body, the template's current version is validated again (step types and their inputs may have changed since it was saved). With a body, that candidate is validated and nothing is saved. ${YAML}`,
  request: { params: IdParam, ...jsonBody(templateSpecSchema, false) },
  responses: { 200: json(ValidationSchema, 'Whether it is valid, and every problem'), ...errorResponses([...BODY_ERRORS, 403, 404], { 400: BAD_BODY }) },
});

export const listStepTypesRoute = createRoute({
  method: 'get', path: '/step-types', operationId: 'listStepTypes', tags: templates, summary: 'The step types a template’s nodes use, with their inputs and outputs as JSON Schema',
  responses: { 200: json(z.array(StepTypeSchema), 'Every step type'), ...errorResponses([403]) },
});

export const getStepTypeRoute = createRoute({
  method: 'get', path: '/step-types/{type}', operationId: 'getStepType', tags: templates, summary: 'One step type',
  request: { params: StepTypeParam },
  responses: { 200: json(StepTypeSchema, 'The step type'), ...errorResponses([400, 403, 404], { 404: 'No step type of that name (`NOT_FOUND`)' }) },
});
