import { z } from 'zod';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { pipelineProblems } from './pipelines';

/** The body of a pipeline's create and replace (PUT): the same rules as the other inventory bodies. */

const text = (max: number) => storableText().max(max).trim();

export const pipelineSchema = z
  .strictObject({
    name: text(100).min(1, { message: 'is required' }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT }),
    description: text(2_000).nullable().optional(),
    environmentIds: z
      .array(z.uuid({ message: 'must be a UUID' }))
      .min(1, { message: 'must list at least one environment' })
      .max(50)
      .meta({ uniqueItems: true, description: 'The environments in promotion order: a release reaches each one only after the one before it; each environment at most once' }),
  })
  .superRefine((body, ctx) => {
    // Existence is checked against the tenant's environments by the API; the list's own shape is checked here.
    for (const problem of pipelineProblems(body.environmentIds)) {
      if (problem.code === 'duplicate') ctx.addIssue({ code: 'custom', path: problem.field.split('.').map((p, i) => (i === 0 ? p : Number(p))), message: problem.message });
    }
  })
  .meta({ id: 'PipelineInput' });
