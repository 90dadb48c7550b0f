import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { testEnv } from '../support/env';
import { corpusDataConverter, corpusFiles, readCorpusHistory, type CorpusHistory } from '../support/history-corpus';

/**
 * The replay corpus (test/fixtures/histories/README.md): every history there,
 * recorded from an earlier version of the workflows, must replay on the current
 * workflow bundle with the production data converter. A change that alters the
 * commands a workflow issues for an existing history (an activity added,
 * removed or reordered, a timer, a child) without a `patched()` guard fails
 * here, naming the file — as it would fail every such workflow running in a
 * user's Temporal after the upgrade.
 */
const files = corpusFiles();
const histories = new Map<string, CorpusHistory>();
const outcomes = new Map<string, Error | null>();

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier file in this jest worker
  }
  for (const file of files) histories.set(file, readCorpusHistory(file));
  const inOrder = [...histories.values()];
  // One replay worker for the whole corpus; results come back one per history, in order.
  let index = 0;
  const replays = Worker.runReplayHistories(
    { workflowBundle: testEnv.workflowBundle, dataConverter: corpusDataConverter(), replayName: 'replay-corpus' },
    inOrder.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  for await (const result of replays) outcomes.set(inOrder[index++].file, result.error ?? null);
});

test.each(files)('%s replays on the current workflow code', (file) => {
  expect(outcomes.has(file)).toBe(true);
  const error = outcomes.get(file);
  if (error) {
    throw new Error(
      `${file} (${histories.get(file)!.workflowType}) no longer replays: workflows running in users' Temporal stop at this point after an upgrade. ` +
        `Guard the new commands with patched() and record a new history (docs/ARCHITECTURE.md, "Changing a workflow safely").\n${error.name}: ${error.message}`,
    );
  }
});

test('the corpus holds at least one history of every workflow type the worker registers', () => {
  // workflows/index.ts exports exactly the workflow types (its own comment says so).
  const registered = Object.keys(require('../../workflows')).sort();
  const recorded = new Set([...histories.values()].map((h) => h.workflowType));
  expect(registered.filter((type) => !recorded.has(type))).toEqual([]);
});

test('every patch in workflows/ has a history that takes its new path', () => {
  const taken = new Set<string>();
  for (const { history } of histories.values()) {
    for (const event of history.events ?? []) {
      const marker = event.markerRecordedEventAttributes;
      if (marker?.markerName !== 'core_patch') continue;
      for (const payload of marker.details?.['patch-data']?.payloads ?? []) taken.add(defaultPayloadConverter.fromPayload<{ id: string }>(payload).id);
    }
  }
  const declared = patchIdsIn(path.resolve(__dirname, '../../workflows'));
  expect(declared.length).toBeGreaterThan(0);
  const untaken = declared.filter((id) => !taken.has(id));
  if (untaken.length) {
    throw new Error(
      `No history in test/fixtures/histories takes the new path of ${untaken.map((id) => `patched('${id}')`).join(', ')}: ` +
        'add a scenario to test/workflows/record-histories.test.ts and record it (test/fixtures/histories/README.md)',
    );
  }
});

/** The ids given to patched()/deprecatePatch() in the workflow sources: a string literal, or a constant of the same file. */
function patchIdsIn(dir: string): string[] {
  const ids = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const source = readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const [, arg] of source.matchAll(/\b(?:patched|deprecatePatch)\(\s*([^)\s]+)\s*\)/g)) {
      const literal = /^['"`](.+)['"`]$/.exec(arg);
      const constant = literal ? null : new RegExp(`\\bconst\\s+${arg}\\s*=\\s*['"\`]([^'"\`]+)['"\`]`).exec(source);
      const id = literal?.[1] ?? constant?.[1];
      if (!id) throw new Error(`${entry.name}: cannot tell the patch id of patched(${arg}); use a string literal or a const of the same file`);
      ids.add(id);
    }
  }
  return [...ids].sort();
}
