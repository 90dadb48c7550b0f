import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Every handler under api/modules is typed against its route, so the compiler
 * checks what it answers against the response schema the OpenAPI documents
 * show. An `as never` on an answer turns that check off without a word, so
 * none may come back. Prose such as "was never" is not a cast: the pattern
 * wants `as` as a word of its own.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const MODULES = path.join(ROOT, 'api', 'modules');
const CAST = /\bas\s+never\b/g;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const castsIn = (source: string) => source.match(CAST)?.length ?? 0;

test('the pattern finds casts, however spaced, and not the words "was never" or "has never"', () => {
  expect(castsIn('return ok(c, row) as never;\nreturn okList(c, page)  as\n never;')).toBe(2);
  expect(castsIn("summary: 'Delete a release that was never promoted'; 'has not sent a heartbeat yet'")).toBe(0);
});

test('no file under api/modules casts with `as never`', () => {
  const scanned = files(MODULES);
  // A wrong path would find nothing and pass: the routers of the modules must be among what is read.
  expect(scanned.map((f) => path.relative(MODULES, f))).toEqual(expect.arrayContaining(['changes/index.ts', 'promotions/index.ts', 'deployments/index.ts']));
  const offenders = scanned
    .map((file) => ({ file: path.relative(ROOT, file), casts: castsIn(readFileSync(file, 'utf8')) }))
    .filter(({ casts }) => casts > 0);
  expect(offenders).toEqual([]);
});
