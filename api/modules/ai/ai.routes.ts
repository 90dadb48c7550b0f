import { createRoute } from '@hono/zod-openapi';
import { aiQuerySchema } from '../../../domain/ai/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody } from '../../openapi-helpers';
import { AiAnswerSchema } from './ai.responses';

export const aiQueryRoute = createRoute({
  method: 'post',
  path: '/ai/query',
  operationId: 'aiQuery',
  tags: ['AI'],
  summary: 'Ask a question, answered from your own records with citations',
  description:
    'Retrieves passages from your tenant’s knowledge articles, incidents (with their work notes), changes and configuration items — only the kinds your ' +
    'permissions let you read (incident:read, change:read, cmdb:read; drafts need knowledge:write) — ranked by full text and trigram similarity. ' +
    'The answer is assembled from the best passages, each cited by [n]; confidence is the best passage’s score. Below the threshold ' +
    'the answer is "no answer" (answered false, no citations). When a chat model is configured it writes the answer from the same ' +
    'passages; an answer of its that cites no passage, or one that is not there, is refused and the extractive answer is returned with a note.',
  request: jsonBody(aiQuerySchema),
  responses: {
    200: { description: 'The answer, or "no answer"', content: { 'application/json': { schema: envelope(AiAnswerSchema) } } },
    ...errorResponses([...BODY_ERRORS, 403]),
  },
});
