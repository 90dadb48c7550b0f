/**
 * The cap on a task's log (DEPLOY_LOG_CAP_BYTES) keeps its head and its tail:
 * the first half of the cap as it was written, and a rolling tail of the last
 * half, so the agent's closing lines (`[tollgate] succeeded`, `… failed: …`)
 * survive however much a hook printed. Offsets stay those the agent wrote at:
 * what was dropped between head and tail is a hole a reader passes with one
 * marker line. Characters are UTF-16 code units, as the offsets count them; no
 * cut ever falls between the two halves of a surrogate pair.
 */

export interface LogChunk {
  offset: number;
  data: string;
}

/** Characters kept from the start of the log. */
export const headBudget = (capBytes: number) => Math.floor(capBytes / 2);
/** Characters kept from the end of the log. */
export const tailBudget = (capBytes: number) => capBytes - headBudget(capBytes);

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** New text arriving at `size`: what still belongs to the head, and the rest, which joins the tail. */
export function splitFresh(size: number, fresh: string, capBytes: number): { head: string; tail: string } {
  let cut = Math.min(fresh.length, Math.max(0, headBudget(capBytes) - size));
  if (cut > 0 && cut < fresh.length && isHigh(fresh.charCodeAt(cut - 1))) cut += 1;
  return { head: fresh.slice(0, cut), tail: fresh.slice(cut) };
}

/** Where the tail starts once the log holds `size` characters: anything of the tail before it is dropped. */
export const tailKeepFrom = (size: number, capBytes: number) => size - tailBudget(capBytes);

/** A tail chunk once the tail keeps only what starts at `keepFrom`: null when all of it goes. */
export function trimChunk(chunk: LogChunk, keepFrom: number): LogChunk | null {
  const end = chunk.offset + chunk.data.length;
  if (end <= keepFrom) return null;
  if (chunk.offset >= keepFrom) return chunk;
  let skip = keepFrom - chunk.offset;
  if (isLow(chunk.data.charCodeAt(skip))) skip += 1;
  return skip >= chunk.data.length ? null : { offset: chunk.offset + skip, data: chunk.data.slice(skip) };
}

/** The line a reader gets where `count` characters were dropped; it starts a line of its own. */
export function droppedMarker(count: number, afterNewline: boolean): string {
  return `${afterNewline ? '' : '\n'}[tollgate] … ${count} character${count === 1 ? '' : 's'} of this log ${count === 1 ? 'was' : 'were'} dropped here: past DEPLOY_LOG_CAP_BYTES it keeps its head and its tail …\n`;
}
