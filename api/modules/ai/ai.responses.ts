import { z } from '@hono/zod-openapi';
import { PASSAGE_KINDS } from '../../../domain/ai/answer';

/** The AI query's answer, for the OpenAPI documents. */

export const CitationSchema = z
  .object({
    marker: z.number().int().openapi({ description: 'The [n] the answer uses for this passage' }),
    kind: z.enum(PASSAGE_KINDS),
    id: z.string().openapi({ example: 'KB0000012' }),
    title: z.string(),
    link: z.string().openapi({ description: 'The record’s API path, in the dialect of the request', example: '/prod/api/knowledge/articles/KB0000012' }),
    score: z.number().openapi({ description: 'Retrieval score, 0 to 1' }),
    excerpt: z.string(),
  })
  .openapi('AiCitation');

export const AiAnswerSchema = z
  .object({
    question: z.string(),
    answered: z.boolean().openapi({ description: 'false: nothing retrieved reached the threshold; answer is null and there are no citations' }),
    answer: z.string().nullable(),
    confidence: z.number().openapi({ description: 'The best passage’s retrieval score, 0 to 1' }),
    threshold: z.number().openapi({ description: 'The confidence below which the answer is "no answer" (AI_MIN_CONFIDENCE)' }),
    provider: z.enum(['extractive', 'chat']),
    model: z.string().nullable(),
    ranking: z.enum(['words', 'words+meaning']).openapi({ description: 'How passages were ranked: full text and trigram similarity, blended with an embedding model’s similarity when AI_EMBEDDING_MODEL is set' }),
    note: z.string().nullable().openapi({ description: 'Why the answer is what it is when it is not the provider’s own (a refused model answer, an unreachable model, no answer)' }),
    citations: z.array(CitationSchema),
  })
  .openapi('AiAnswer');

export type AiAnswer = z.infer<typeof AiAnswerSchema>;
