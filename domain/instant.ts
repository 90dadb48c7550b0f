import { z } from 'zod';

/**
 * The instants a timestamp field accepts: those with a four-digit year in
 * UTC. Outside them Postgres refuses the value (there is no year 0000, 22008)
 * or JavaScript writes it in a form nothing parses back ("+010000-…"), and
 * an offset can push an in-range local time across either edge, so the check
 * is on the instant, not on the text.
 */
export const EARLIEST_INSTANT = '0001-01-01T00:00:00.000Z';
export const LATEST_INSTANT = '9999-12-31T23:59:59.999Z';
const EARLIEST_MS = Date.parse(EARLIEST_INSTANT);
const LATEST_MS = Date.parse(LATEST_INSTANT);

export const INSTANT_RANGE_MESSAGE = `must be between ${EARLIEST_INSTANT} and ${LATEST_INSTANT}`;

export function isStorableInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/**
 * An ISO 8601 timestamp with a time zone, within the storable range,
 * normalised to UTC with milliseconds. Every schema that takes a date-time uses this.
 */
export function instant(message = 'must be an ISO 8601 timestamp with a time zone, e.g. 2026-05-22T01:00:00Z') {
  return z.iso
    .datetime({ offset: true, message })
    // Fractions of a second may have any number of digits; the text still has an end.
    .max(64)
    .refine((v) => isStorableInstant(Date.parse(v)), { message: INSTANT_RANGE_MESSAGE, params: { code: 'out_of_range' } })
    .transform((v) => new Date(v).toISOString());
}
