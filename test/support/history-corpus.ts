import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { encryptedDataConverter } from '../../platform/payload-codec';
import { parsePayloadKeys } from '../../platform/payload-keys';

/**
 * The replay corpus (test/fixtures/histories/README.md): histories of every
 * workflow type as the current code wrote them, replayed in `npm test` so a
 * change to a workflow's commands that would strand the workflows running in
 * users' Temporal shows here first.
 */
export const CORPUS_DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');

/**
 * The throwaway key the corpus was recorded under (PAYLOAD_ENCRYPTION_KEYS
 * format). It protects nothing: it exists so the histories hold payloads
 * exactly as a deployment's Temporal holds them, encrypted, and replay
 * through the same codec a worker uses.
 */
export const CORPUS_PAYLOAD_KEYS = readFileSync(path.join(CORPUS_DIR, 'payload-keys.txt'), 'utf8').trim();

/**
 * Histories in proto3 JSON, the form `temporal workflow show --output json`
 * prints and the SDK's historyToJSON/historyFromJSON write and read. Those two
 * fail in this install ("type must be a Type"): @temporalio/common and
 * @temporalio/proto each get a copy of protobufjs 8 of their own (the top level
 * holds 7 for grpc's proto-loader), and one copy's protojson does not know the
 * other's types. The same protojson, from the copy @temporalio/proto uses, does.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): History | null;
}
const protojson: ProtoJson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto'))] }));
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: History): { events: unknown[] } {
  return protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)) as { events: unknown[] };
}

export function historyFromJson(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('not a history');
  return history;
}

export function corpusDataConverter(): DataConverter {
  return encryptedDataConverter(parsePayloadKeys(CORPUS_PAYLOAD_KEYS));
}

export interface CorpusHistory {
  /** The file's name inside CORPUS_DIR. */
  file: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

/** Every `*.json` history of the corpus, by file name. */
export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function readCorpusHistory(file: string): CorpusHistory {
  const history = historyFromJson(JSON.parse(readFileSync(path.join(CORPUS_DIR, file), 'utf8')));
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started?.workflowType?.name) throw new Error(`${file} does not start with a WorkflowExecutionStarted event`);
  return { file, workflowId: started.workflowId || file, workflowType: started.workflowType.name, history };
}

/**
 * Writes a history in the JSON form `temporal workflow show --output json`
 * prints, one event per line so a diff shows events. A file already in the
 * corpus is kept (it stands for workflows already running somewhere) unless
 * RECORD_HISTORIES=overwrite; returns whether it was written.
 */
export function writeCorpusHistory(file: string, history: History): boolean {
  const target = path.join(CORPUS_DIR, file);
  if (existsSync(target) && process.env.RECORD_HISTORIES !== 'overwrite') return false;
  const { events } = historyToJson(history);
  writeFileSync(target, `{"events": [\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`);
  return true;
}
