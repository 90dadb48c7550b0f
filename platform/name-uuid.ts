import { createHash } from 'node:crypto';

/**
 * A stable uuid (v5-shaped: sha256 of the name, version and variant bits set)
 * from a name, so every retry of one request or write names the same thing:
 * an evidence packet of a decision, the job of a rollback.
 */
export function nameUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
