import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes a key file made on first use, unless someone else got there first, and
 * answers what the file holds. The API and the worker may both start at once:
 * the content is written aside, then linked into place, so a reader never sees
 * half a key, and link() refuses to replace one — whoever loses the race reads
 * the winner's key and both agree.
 */
export function createOnce(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const aside = `${file}.${process.pid}.${Date.now()}`;
  writeFileSync(aside, content, { mode: 0o600 });
  try {
    linkSync(aside, file);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  } finally {
    rmSync(aside, { force: true });
  }
  return readFileSync(file, 'utf8');
}
