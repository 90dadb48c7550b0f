import { z } from '@hono/zod-openapi';
import { storableText } from '../domain/text';

/** An empty filter value (`?status=`) means no filter, and the document says so. */
export const emptyIsNone = <T extends z.ZodType>(schema: T) =>
  z
    .union([z.literal(''), schema])
    .optional()
    .transform((v) => (v === '' ? undefined : (v as z.output<T> | undefined)));

/**
 * One value or a comma-separated list, as a pattern so the document states
 * exactly what is accepted; an empty value (`?state=`) means no filter.
 */
export const csv = <T extends readonly [string, ...string[]]>(values: T) => {
  const one = `(?:${values.join('|')})`;
  return z
    .string()
    .regex(new RegExp(`^(?:${one}(?:,${one})*)?$`), { message: `must be one or more of ${values.join(', ')}, comma-separated` })
    .transform((v) => (v ? (v.split(',') as T[number][]) : undefined))
    .optional();
};

/** A free-text filter up to `max` characters; blank means no filter, as for every list (`trim`: spaces alone are blank too). */
export const filterText = (max: number, { trim = false } = {}) =>
  storableText()
    .max(max)
    .transform((v) => (trim ? v.trim() : v) || undefined)
    .optional();
