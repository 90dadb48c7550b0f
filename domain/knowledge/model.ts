/** Knowledge articles: Markdown bodies people search and the AI query cites. */

export const ARTICLE_STATES = ['draft', 'published', 'retired'] as const;
export type ArticleState = (typeof ARTICLE_STATES)[number];

export const ARTICLE_ID_PATTERN = /^KB\d{7,18}$/;

export interface Article {
  id: string;
  number: string;
  title: string;
  body: string;
  category: string | null;
  tags: string[];
  state: ArticleState;
  version: number;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
  published_at: string | null;
}

export interface ArticleVersion {
  article_id: string;
  version: number;
  title: string;
  body: string;
  category: string | null;
  tags: string[];
  state: ArticleState;
  edited_by: string;
  created_at: string;
}

export const READ_ONLY_ARTICLE_FIELDS = ['id', 'number', 'version', 'created_by', 'updated_by', 'created_at', 'updated_at', 'published_at'] as const;

export function articleNumberToId(n: number): string {
  return `KB${String(n).padStart(7, '0')}`;
}

/**
 * The states a caller may see: drafts and retired articles are the writers'
 * working material, so whoever cannot write articles sees the published ones only.
 */
export function visibleStates(canWrite: boolean): readonly ArticleState[] {
  return canWrite ? ARTICLE_STATES : ['published'];
}

/** Tags compare as written by people: trimmed, lower case, each once. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))];
}
