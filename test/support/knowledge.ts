import type { TestApp } from './app';

/** Knowledge articles and AI questions over HTTP, for the knowledge and AI tests. */

export interface ArticleInput {
  title: string;
  body: string;
  category?: string | null;
  tags?: string[];
  state?: 'draft' | 'published' | 'retired';
}

export async function createArticle(app: TestApp, token: string, article: ArticleInput, prefix = '/prod/api') {
  const res = await app.http('POST', `${prefix}/knowledge/articles`, { token, body: article });
  if (res.status !== 201) throw new Error(`create article: ${res.status} ${res.text}`);
  return prefix === '/api/v1' ? res.body.data : res.body;
}

export async function ask(app: TestApp, token: string, question: string, limit?: number) {
  const res = await app.http('POST', '/prod/api/ai/query', { token, body: limit === undefined ? { question } : { question, limit } });
  if (res.status !== 200) throw new Error(`ai query: ${res.status} ${res.text}`);
  return res.body as {
    answered: boolean;
    answer: string | null;
    confidence: number;
    threshold: number;
    provider: string;
    model: string | null;
    note: string | null;
    citations: Array<{ marker: number; kind: string; id: string; title: string; link: string; score: number; excerpt: string }>;
  };
}

/** An incident that ends resolved, with its resolution notes saying how. */
export async function resolvedIncident(app: TestApp, token: string, incident: { short_description: string; description?: string }, resolution: string) {
  const created = await app.http('POST', '/prod/api/incidents', { token, body: incident });
  if (created.status !== 201) throw new Error(`create incident: ${created.status} ${created.text}`);
  const id = created.body.id as string;
  for (const body of [{ state: 'in_progress' }, { state: 'resolved', resolution_notes: resolution }]) {
    const res = await app.http('PATCH', `/prod/api/incidents/${id}`, { token, body });
    if (res.status !== 200) throw new Error(`patch incident: ${res.status} ${res.text}`);
  }
  return created.body as { id: string; ai_suggested_resolution: string | null };
}
