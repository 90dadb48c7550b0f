import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTemporalCli, type CliLocations } from '../../scripts/stack/temporal-cli';

/** Where the local stack finds the Temporal CLI, in order; never a download. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cli-lookup-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (over: Partial<CliLocations>): CliLocations => ({
  projectBin: path.join(dir, 'project', '.tools', 'bin'),
  machineCache: path.join(dir, 'cache', 'temporal-v1.5.1'),
  which: () => undefined,
  ...over,
});

function fakeBinary(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\necho fake\n');
  chmodSync(file, 0o755);
  return file;
}

test('a temporal on PATH wins', () => {
  const onPath = fakeBinary(path.join(dir, 'path', 'temporal'));
  fakeBinary(path.join(dir, 'project', '.tools', 'bin', 'temporal'));
  expect(ensureTemporalCli(() => undefined, at({ which: (c) => (c === 'temporal' ? onPath : undefined) }))).toBe(onPath);
});

test("then the project's own build", () => {
  const local = fakeBinary(path.join(dir, 'project', '.tools', 'bin', 'temporal'));
  expect(ensureTemporalCli(() => undefined, at({}))).toBe(local);
});

test("then the machine's cached build, copied into the project", () => {
  fakeBinary(path.join(dir, 'cache', 'temporal-v1.5.1', 'temporal'));
  const found = ensureTemporalCli(() => undefined, at({}));
  expect(found).toBe(path.join(dir, 'project', '.tools', 'bin', 'temporal'));
  expect(existsSync(found)).toBe(true);
});

test('without temporal and without Go it stops with one message saying what to install', () => {
  expect(() => ensureTemporalCli(() => undefined, at({}))).toThrow(/Temporal CLI is not on PATH and Go is not installed[\s\S]*docs\.temporal\.io\/cli/);
});
