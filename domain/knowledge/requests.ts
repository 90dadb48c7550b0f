import { z } from 'zod';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { ARTICLE_STATES } from './model';

/** Request bodies of the knowledge API. */

const text = (max: number) => storableText().trim().max(max);
const required = (max: number) => text(max).min(1, { message: 'is required' }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT });
const tag = storableText().trim().min(1, { message: 'must not be blank' }).max(50).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT });

const editable = {
  title: required(255).meta({ description: 'The article title, max 255 chars' }),
  body: required(100_000).meta({ description: 'Markdown' }),
  category: text(100).nullable().optional(),
  tags: z.array(tag).max(20).optional().meta({ description: 'Up to 20 tags; compared in lower case' }),
  state: z.enum(ARTICLE_STATES).optional().meta({ description: 'draft (default), published or retired' }),
};

export const createArticleSchema = z.strictObject(editable).meta({
  id: 'KnowledgeArticleCreate',
  example: {
    title: 'Redis cache miss rate spikes after a deploy',
    body: '## Symptom\nCache miss rate above 90%.\n\n## Fix\nWarm the cache with `cache-warm --all`.',
    category: 'cache',
    tags: ['redis', 'elasticache'],
    state: 'published',
  },
});

export const patchArticleSchema = z
  .strictObject({
    ...editable,
    title: editable.title.optional(),
    body: editable.body.optional(),
  })
  // An empty edit would add a version that changes nothing; a body with other problems already says what is wrong.
  .refine((v) => Object.keys(v).length > 0, { message: 'send at least one field to change', when: (payload) => payload.issues.length === 0 })
  .meta({ id: 'KnowledgeArticlePatch', example: { body: '## Fix\nWarm the cache with `cache-warm --all`.', state: 'published' } });

export type CreateArticleInput = z.infer<typeof createArticleSchema>;
export type PatchArticleInput = z.infer<typeof patchArticleSchema>;
