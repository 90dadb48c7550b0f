import { z } from '@hono/zod-openapi';
import { PARAMETER_TYPES } from '../../../domain/templates/model';

/** What clients receive: templates as stored (the body as validated, defaults filled in), their versions, validation answers and step types. */

const NodeSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    name: z.string().optional(),
    inputs: z.record(z.string(), z.unknown()),
    dependsOn: z.array(z.string()).readonly().optional(),
    when: z.string().optional(),
    retry: z.object({ attempts: z.number().int(), backoff: z.string().optional(), backoffCoefficient: z.number().optional(), maxBackoff: z.string().optional() }).optional(),
    timeout: z.string().optional(),
    continueOnError: z.boolean().optional(),
    forEach: z.object({ items: z.union([z.string(), z.array(z.unknown()).readonly()]), concurrency: z.number().int().optional() }).optional(),
  })
  .openapi('WorkflowTemplateNode');

export const TemplateSpecSchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    parameters: z
      .array(z.object({ name: z.string(), type: z.enum(PARAMETER_TYPES), description: z.string().optional(), default: z.unknown().optional(), enum: z.array(z.union([z.string(), z.number()])).readonly().optional() }))
      .readonly()
      .optional(),
    nodes: z.array(NodeSchema).readonly(),
    onCancel: z.array(NodeSchema).readonly().optional(),
    finally: z.array(NodeSchema).readonly().optional(),
  })
  .openapi('WorkflowTemplateSpec');

const summaryFields = {
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  version: z.number().int().openapi({ description: 'The current version (each PUT adds one)' }),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const TemplateSummarySchema = z.object(summaryFields).openapi('WorkflowTemplateSummary');

export const TemplateSchema = z
  .object({
    ...summaryFields,
    version: z.number().int().openapi({ description: 'The version served: the current one, or the one asked for with ?version=' }),
    latestVersion: z.number().int().openapi({ description: 'The current version' }),
    spec: TemplateSpecSchema,
  })
  .openapi('WorkflowTemplate');

export const TemplateVersionSchema = z.object({ version: z.number().int(), name: z.string(), createdBy: z.string(), createdAt: z.string() }).openapi('WorkflowTemplateVersion');

export const TemplateProblemSchema = z
  .object({
    nodeId: z.string().optional().openapi({ description: 'The node the problem is in, when it is in one' }),
    field: z.string().openapi({ description: 'Where in the body, e.g. nodes.2.inputs.url' }),
    code: z.string().openapi({ example: 'cycle' }),
    message: z.string(),
  })
  .openapi('WorkflowTemplateProblem');

export const ValidationSchema = z.object({ valid: z.boolean(), problems: z.array(TemplateProblemSchema) }).openapi('WorkflowTemplateValidation');

export const StepTypeSchema = z
  .object({
    type: z.string(),
    description: z.string(),
    runsOn: z.enum(['activity', 'agent', 'timer', 'approval', 'child']),
    input: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the inputs a node of this type takes' }),
    output: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the outputs it gives (steps.<id>.outputs)' }),
    available: z.boolean().openapi({ description: 'Whether a template may use it now; when false, `unavailable` says why and validation refuses it' }),
    unavailable: z.string().nullable(),
  })
  .openapi('StepType');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
export const StepTypeParam = z.object({ type: z.string().max(64).openapi({ param: { name: 'type', in: 'path' }, example: 'http' }) });
