import { bestSentences, checkCitations, extractiveAnswer, suggestionFrom, type Passage } from '../../domain/ai/answer';
import { confidenceOf, passageScore, termCoverage } from '../../domain/ai/scoring';
import { anyOfTsQuery, queryTerms } from '../../domain/ai/terms';

describe('query terms', () => {
  test('lower case words without the words every question has, each once, safe in a tsquery', () => {
    expect(queryTerms('How do I fix the Redis cache-miss rate? Redis!')).toEqual(['redis', 'cache', 'miss', 'rate']);
    expect(anyOfTsQuery(queryTerms("redis' | !cache & (x)"))).toBe('redis | cache');
    expect(queryTerms('how do I?')).toEqual([]);
  });
});

describe('scoring', () => {
  test('coverage counts near misses by their similarity and ignores noise', () => {
    expect(termCoverage([1, 1])).toBe(1);
    expect(termCoverage([1, 0.3])).toBe(0.5);
    expect(termCoverage([0.8, 0])).toBe(0.4);
    expect(termCoverage([])).toBe(0);
  });
  test('scores stay in [0, 1]; confidence is the best score', () => {
    expect(passageScore(0, [0, 0])).toBe(0);
    expect(passageScore(100, [1, 1])).toBeLessThanOrEqual(1);
    expect(passageScore(0.1, [1, 1])).toBeGreaterThan(passageScore(0.1, [1, 0]));
    expect(confidenceOf([0.2, 0.71, 0.5])).toBe(0.71);
    expect(confidenceOf([])).toBe(0);
  });
});

const passages: Passage[] = [
  { kind: 'article', id: 'KB0000001', title: 'Redis misses', text: '## Cause\nThe key prefix changed.\n\n## Fix\nRun cache-warm --all. Unrelated words here.', score: 0.8 },
  { kind: 'incident', id: 'INC0000002', title: 'Cache outage', text: 'Warmed the redis cache by hand.', score: 0.5 },
];

describe('answers', () => {
  test('the extractive answer quotes each passage’s best sentences with its marker', () => {
    expect(bestSentences(passages[0].text, ['cache', 'warm'])).toEqual(['Run cache-warm --all.']);
    expect(extractiveAnswer(['cache', 'warm'], passages)).toBe('KB0000001 (Redis misses): Run cache-warm --all. [1]\nINC0000002 (Cache outage): Warmed the redis cache by hand. [2]');
  });
  test('a written answer must cite a passage, and only passages that exist', () => {
    expect(checkCitations('Warm it [1][2].', 2)).toEqual({ ok: true, cited: [1, 2] });
    expect(checkCitations('Warm it.', 2)).toEqual({ ok: false, reason: 'it cites none of the passages' });
    expect(checkCitations('Warm it [1] [3] [0].', 2)).toMatchObject({ ok: false, reason: expect.stringContaining('[3], [0]') });
  });
  test('a suggestion names where it comes from, or is nothing', () => {
    expect(suggestionFrom(['cache'], passages)).toBe('From KB0000001 (Redis misses): Run cache-warm --all. See also INC0000002.');
    expect(suggestionFrom(['cache'], [])).toBeNull();
  });
});
