import corpus from '../fixtures/ai-eval/corpus.json';
import questions from '../fixtures/ai-eval/questions.json';
import { startTestApp, type TestApp } from '../support/app';
import { ask, createArticle, resolvedIncident } from '../support/knowledge';

/** recall@5 of the AI query over the evaluation set (test/fixtures/ai-eval/README.md states the floor). */
const RECALL_FLOOR = 0.85;

let app: TestApp;
let token: string;
const ids = new Map<string, string>();

beforeAll(async () => {
  // Retrieval reads rows only: no worker needs to run the incidents' SLA clocks.
  app = await startTestApp({ worker: false });
  token = await app.token('eval@example.com', { roles: ['sre'] });
  const seeds: Array<() => Promise<unknown>> = [
    ...corpus.articles.map(({ key, ...article }) => async () => ids.set(key, (await createArticle(app, token, { ...article, state: 'published' })).id)),
    ...corpus.incidents.map(({ key, resolution, ...incident }) => async () => ids.set(key, (await resolvedIncident(app, token, incident, resolution)).id)),
  ];
  // A few at a time: quicker than one by one, without crowding a shared machine's database.
  const next = async (): Promise<void> => {
    const seed = seeds.shift();
    if (seed) await seed().then(next);
  };
  await Promise.all([next(), next(), next()]);
}, 300_000);
afterAll(() => app.close());

test(`recall@5 over ${questions.length} questions is at least ${RECALL_FLOOR}`, async () => {
  expect(questions.length).toBeGreaterThanOrEqual(30);
  const misses: string[] = [];
  let sum = 0;
  for (const q of questions) {
    const answer = await ask(app, token, q.question, 5);
    const cited = new Set(answer.citations.map((c) => c.id));
    const expected = q.expect.map((key) => ids.get(key)!);
    const found = expected.filter((id) => cited.has(id)).length;
    sum += found / expected.length;
    if (found < expected.length) misses.push(`${q.question} → expected ${q.expect.join(', ')}; cited ${[...cited].join(', ') || 'nothing'} (confidence ${answer.confidence})`);
  }
  const recall = sum / questions.length;
  console.log(`AI query recall@5: ${recall.toFixed(3)} over ${questions.length} questions (floor ${RECALL_FLOOR})${misses.length ? `\nmisses:\n${misses.join('\n')}` : ''}`);
  expect(recall).toBeGreaterThanOrEqual(RECALL_FLOOR);
}, 300_000);
