/**
 * How a passage's retrieval score is made from what Postgres measures: full
 * text rank (exact words, stemmed) and, per question term, the best trigram
 * word similarity in the passage (which still finds a misspelt word). Scores
 * are in [0, 1], so a threshold means the same for every kind of record.
 */

/** Below this, a term's trigram similarity is noise (shared letters), not a match. */
export const TERM_MATCH_FLOOR = 0.5;
const COVERAGE_WEIGHT = 0.7;
const TEXT_RANK_WEIGHT = 0.3;

/** The share of the question's terms found in the passage, a near miss counting as much as its similarity. */
export function termCoverage(similarities: readonly number[]): number {
  if (similarities.length === 0) return 0;
  const matched = similarities.map((s) => (s >= TERM_MATCH_FLOOR ? s : 0));
  return matched.reduce((a, b) => a + b, 0) / similarities.length;
}

export function passageScore(textRank: number, similarities: readonly number[]): number {
  const rank = Math.max(0, textRank);
  return round(COVERAGE_WEIGHT * termCoverage(similarities) + TEXT_RANK_WEIGHT * (rank / (rank + 0.1)));
}

/** How much meaning (an embedding's cosine similarity) weighs against the words' score when an embedding model reranks. */
const MEANING_WEIGHT = 0.5;

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** A passage's score once an embedding model has judged it: its words' score and its meaning's closeness to the question, blended. */
export function blendedScore(lexical: number, similarity: number): number {
  return round((1 - MEANING_WEIGHT) * lexical + MEANING_WEIGHT * Math.max(0, similarity));
}

export const round = (n: number) => Math.round(n * 1000) / 1000;

/** The answer's confidence: the best passage's score (the answer rests on it first). */
export function confidenceOf(scores: readonly number[]): number {
  return scores.length ? round(Math.max(...scores)) : 0;
}
