/**
 * The words of a question that retrieval matches: lower case, letters and
 * digits only (so each is safe inside a tsquery), without the words every
 * question has ("how", "do", "the"), which would match everything.
 */

const STOPWORDS = new Set(
  (
    'a an and any are as at be been but by can could did do does doing for from had has have how i if in into is it its me my no not of ' +
    'on or our should so some than that the their them then there these they this those to too up us was we were what when where which ' +
    'who why will with would you your about after again all also am before being below between both each few further here just more most ' +
    'need needs other out over own same she he her him his such through under until very while yes ok please fix fixed issue problem ' +
    'happen happens happened get got getting way done'
  ).split(/\s+/),
);

export const MAX_QUERY_TERMS = 24;

export function queryTerms(question: string): string[] {
  const words = question.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms = words.filter((w) => w.length >= 2 && !STOPWORDS.has(w));
  return [...new Set(terms)].slice(0, MAX_QUERY_TERMS);
}

/** Any of the terms, as to_tsquery text ('redis | cache'): a question's words are alternatives, not all required. */
export function anyOfTsQuery(terms: readonly string[]): string {
  return terms.join(' | ');
}
