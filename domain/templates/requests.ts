import { z } from 'zod';
import { CEL_MAX_LENGTH } from '../cel';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { PARAMETER_TYPES } from './model';
import { NODE_ID_PATTERN } from './references';

/**
 * The body of a workflow template (create, update, validate a candidate): its
 * shape and every maximum, as the OpenAPI documents state them. What needs the
 * whole template to judge (step types, dependencies, cycles, references,
 * expressions, inputs against each step type) is validate.ts's, which reports
 * every such problem at once with the node and field it concerns.
 */

const text = (max: number) => storableText().max(max).trim();
const identifier = (what: string) =>
  z.string().max(64).regex(NODE_ID_PATTERN, { message: `must be a ${what} of letters, digits and _ (not starting with a digit), at most 64 characters` });
const DURATION = /^\s*(?:\d+|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)\s*$/;
const duration = z.string().min(1).max(32).regex(DURATION, { message: 'must be a duration such as 30s, 5m or 1h30m' });
/** A `when` or a forEach's items: one CEL expression. */
const expression = z.string().min(1).max(CEL_MAX_LENGTH);

export const MAX_NODES = 500;
export const MAX_SECTION_NODES = 50;
export const MAX_INPUT_KEYS = 50;
/** A node's inputs as JSON, and the whole template, in characters: both ride every run's workflow input, so both stay well below Temporal's payload limit. */
export const MAX_INPUTS_CHARS = 32 * 1024;
export const MAX_TEMPLATE_CHARS = 512 * 1024;
export const MAX_LITERAL_ITEMS = 1000;

// Characters, not bytes: no Buffer here, so workflows may import this file too.
const jsonChars = (value: unknown) => (JSON.stringify(value) ?? '').length;

const inputs = z
  .record(z.string().max(128), z.unknown())
  .refine((v) => Object.keys(v).length <= MAX_INPUT_KEYS, { message: `must have at most ${MAX_INPUT_KEYS} keys` })
  .refine((v) => jsonChars(v) <= MAX_INPUTS_CHARS, { message: `must be at most ${MAX_INPUTS_CHARS} characters as JSON` })
  .meta({
    maxProperties: MAX_INPUT_KEYS,
    description: "The step type's inputs (GET /step-types/{type}); any string may hold `${{ parameters.x }}`, `${{ steps.<id>.outputs.<field> }}` and, under forEach, `${{ item }}`",
  });

export const nodeRetrySchema = z
  .strictObject({
    attempts: z.number().int().min(1).max(20).meta({ description: 'Tries in all, the first included (1: no retry)' }),
    backoff: duration.optional().meta({ description: 'Wait before the second try (default 1s)' }),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maxBackoff: duration.optional(),
  })
  .meta({ id: 'TemplateNodeRetry' });

export const nodeForEachSchema = z
  .strictObject({
    items: z
      .union([expression, z.array(z.unknown()).max(MAX_LITERAL_ITEMS)])
      .meta({ description: 'A CEL expression giving a list (`parameters.regions`, `steps.list.outputs.items`), or a literal list' }),
    concurrency: z.number().int().min(1).max(100).optional().meta({ description: 'How many items run at once (default 10)' }),
  })
  .meta({ id: 'TemplateNodeForEach' });

export const templateNodeSchema = z
  .strictObject({
    id: identifier('node id'),
    type: z.string().min(1).max(64).meta({ description: 'A step type of GET /step-types (script, http, wait, approval, gate, promote, deploy, change-request, rollout, notify)' }),
    name: text(200).optional(),
    inputs: inputs.default({}),
    dependsOn: z.array(z.string().max(64)).max(50).optional().meta({ description: 'Ids of nodes of the same section that must end first' }),
    when: expression.optional().meta({ description: 'CEL over `parameters`, `steps` (id → {status, outputs}) and, under forEach, `item`; false skips the node' }),
    retry: nodeRetrySchema.optional(),
    timeout: duration.optional().meta({ description: 'Per try; the try is cancelled after it' }),
    continueOnError: z.boolean().optional(),
    forEach: nodeForEachSchema.optional(),
  })
  .meta({ id: 'TemplateNode' });

const parameterValue = z.union([z.string().max(256), z.number()]);

export const templateParameterSchema = z
  .strictObject({
    name: identifier('parameter name'),
    type: z.enum(PARAMETER_TYPES),
    description: text(2000).optional(),
    default: z.unknown().optional().meta({ description: 'Absent: the parameter is required when a run starts' }),
    enum: z.array(parameterValue).min(1).max(100).optional().meta({ description: 'Allowed values (strings or numbers)' }),
  })
  .meta({ id: 'TemplateParameter' });

export const templateSpecSchema = z
  .strictObject({
    name: text(100).min(1, { message: 'is required' }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT }),
    description: text(2000).optional(),
    parameters: z.array(templateParameterSchema).max(50).optional(),
    nodes: z.array(templateNodeSchema).min(1).max(MAX_NODES),
    onCancel: z.array(templateNodeSchema).max(MAX_SECTION_NODES).optional().meta({ description: 'Run after a cancel, in a scope nobody can cancel; they depend only on each other' }),
    finally: z.array(templateNodeSchema).max(MAX_SECTION_NODES).optional().meta({ description: 'Run at the end whatever the outcome; they depend only on each other' }),
  })
  .refine((t) => jsonChars(t) <= MAX_TEMPLATE_CHARS, { message: `must be at most ${MAX_TEMPLATE_CHARS} characters as JSON` })
  .meta({ id: 'WorkflowTemplateInput' });

export type TemplateSpecInput = z.infer<typeof templateSpecSchema>;
