import { z } from 'zod';
import { textField } from '../text';

/** The bodies of the workflow-run commands: the one declaration of each, inferred everywhere else. */

export const createRunSchema = z
  .strictObject({
    templateId: z.uuid({ message: 'must be a UUID' }),
    parameters: z
      .record(z.string().min(1).max(64), z.unknown())
      .refine((r) => Object.keys(r).length <= 100, { message: 'at most 100 parameters' })
      .default({})
      .meta({ maxProperties: 100, description: "Values for the template's declared parameters; those left out take their defaults" }),
    version: z.number().int().min(1).max(2_147_483_647).optional().meta({ description: "A version of the template to run; absent: its current one" }),
  })
  .meta({ id: 'WorkflowRunInput' });
export type CreateRunBody = z.infer<typeof createRunSchema>;

export const runCommandSchema = z.strictObject({ reason: textField(2_000).optional() }).meta({ id: 'WorkflowRunCommand' });
export type RunCommand = z.infer<typeof runCommandSchema>;

export const stepDecisionSchema = z.strictObject({ comment: textField(4_000).optional() }).meta({ id: 'WorkflowRunStepDecision' });
export type StepDecision = z.infer<typeof stepDecisionSchema>;
