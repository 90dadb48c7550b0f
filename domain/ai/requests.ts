import { z } from 'zod';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';

export const MAX_PASSAGES = 20;
export const DEFAULT_PASSAGES = 5;

export const aiQuerySchema = z
  .strictObject({
    question: storableText().trim().min(1, { message: 'is required' }).max(2000).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT, description: 'The question, in plain words' }),
    limit: z.number().int().min(1).max(MAX_PASSAGES).optional().meta({ description: `How many passages to retrieve and cite at most (default ${DEFAULT_PASSAGES})` }),
  })
  .meta({ id: 'AiQuery', example: { question: 'How do we fix a Redis cache miss rate above 90%?', limit: 5 } });

export type AiQueryInput = z.infer<typeof aiQuerySchema>;
