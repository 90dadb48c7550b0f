/**
 * RFC 8785 (JSON Canonicalization Scheme): object keys sorted by UTF-16 code
 * units, no whitespace, numbers and strings as ECMAScript serialises them —
 * which JSON.stringify already does for primitives, so only ordering and the
 * refusal of non-JSON values remain. Evidence hashes and signatures are taken
 * over this text, so the same record always hashes the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      // Plain < compares UTF-16 code units, exactly what RFC 8785 §3.2.3 asks for.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
}
