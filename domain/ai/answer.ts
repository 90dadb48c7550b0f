/**
 * The AI query's answer, made from retrieved passages only: an extractive
 * answer (the passages' own best sentences, each with its [n] marker), and the
 * check a model-written answer must pass (it cites passages, and only those).
 */

export const PASSAGE_KINDS = ['article', 'incident', 'change', 'ci'] as const;
export type PassageKind = (typeof PASSAGE_KINDS)[number];

export interface Passage {
  kind: PassageKind;
  id: string;
  title: string;
  /** What the answer may quote: the record's words (an incident's with its work notes). */
  text: string;
  score: number;
}

/** How many passages an extractive answer draws sentences from, and sentences from each. */
const ANSWER_PASSAGES = 3;
const SENTENCES_PER_PASSAGE = 2;
const MAX_SENTENCE = 400;

/** A passage's sentences, Markdown headings left out (a heading says what follows, it answers nothing). */
function sentencesOf(text: string): string[] {
  return text
    .split(/\n+/)
    .filter((line) => !/^\s*#/.test(line))
    .flatMap((line) => line.split(/(?<=[.!?])\s+/))
    .map((s) => s.replace(/^\s*(?:[>*-]|\d+\.)\s+/, '').trim())
    .filter((s) => s.length > 2)
    .map((s) => (s.length > MAX_SENTENCE ? `${s.slice(0, MAX_SENTENCE - 1)}…` : s));
}

/** How many terms a sentence holds, a term's first five letters standing in for its stem and small misspellings. */
function termHits(sentence: string, terms: readonly string[]): number {
  const lower = sentence.toLowerCase();
  return terms.filter((t) => lower.includes(t.length > 5 ? t.slice(0, 5) : t)).length;
}

/** The sentences of a passage that say most about the terms, in the passage's order. */
export function bestSentences(text: string, terms: readonly string[], count = SENTENCES_PER_PASSAGE): string[] {
  const sentences = sentencesOf(text);
  const ranked = sentences
    .map((s, i) => ({ s, i, hits: termHits(s, terms) }))
    .sort((a, b) => b.hits - a.hits || a.i - b.i)
    .slice(0, count)
    .filter((x, k) => k === 0 || x.hits > 0);
  return ranked.sort((a, b) => a.i - b.i).map((x) => x.s);
}

/** One line per passage: where it comes from, then its best sentences, then its marker. */
export function extractiveAnswer(terms: readonly string[], passages: readonly Passage[]): string {
  return passages
    .slice(0, ANSWER_PASSAGES)
    .map((p, i) => `${p.id} (${p.title}): ${bestSentences(p.text, terms).join(' ')} [${i + 1}]`)
    .join('\n');
}

export type CitationCheck = { ok: true; cited: number[] } | { ok: false; reason: string };

/** A written answer stands only if it cites at least one passage by its [n] and every [n] it uses is one of them. */
export function checkCitations(answer: string, passageCount: number): CitationCheck {
  const markers = [...answer.matchAll(/\[(\d{1,3})\]/g)].map((m) => Number(m[1]));
  if (markers.length === 0) return { ok: false, reason: 'it cites none of the passages' };
  const unknown = [...new Set(markers.filter((n) => n < 1 || n > passageCount))];
  if (unknown.length) return { ok: false, reason: `it cites ${unknown.map((n) => `[${n}]`).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not among the ${passageCount} passages` };
  return { ok: true, cited: [...new Set(markers)].sort((a, b) => a - b) };
}

/** The prompt a chat model answers from: the numbered passages and the rule that every claim cites one. */
export function chatMessages(question: string, passages: readonly Passage[]): Array<{ role: 'system' | 'user'; content: string }> {
  const numbered = passages.map((p, i) => `[${i + 1}] ${p.kind} ${p.id} — ${p.title}\n${p.text}`).join('\n\n');
  return [
    {
      role: 'system',
      content:
        'You answer questions about an organisation’s own records. Use only the numbered passages you are given. ' +
        'Cite the passage behind every statement with its marker, e.g. [1]. If the passages do not answer the question, say so and cite nothing.',
    },
    { role: 'user', content: `Passages:\n\n${numbered}\n\nQuestion: ${question}` },
  ];
}

/** What a new incident is offered: where the closest past answer is, and its words, in one short text. */
export function suggestionFrom(terms: readonly string[], passages: readonly Passage[]): string | null {
  const best = passages[0];
  if (!best) return null;
  const also = passages.slice(1, 3).map((p) => p.id);
  const text = `From ${best.id} (${best.title}): ${bestSentences(best.text, terms, 3).join(' ')}`;
  return also.length ? `${text} See also ${also.join(', ')}.` : text;
}
