import { z } from 'zod';

/**
 * Validation messages in the API's one voice ("is required", "must be …"),
 * for the checks a schema leaves to zod's wording ("Invalid input: expected
 * string, received undefined"). A message a schema gives itself wins over
 * these. Each process that answers with zod's findings installs it once
 * (usePlainValidationMessages): the API's validation, and the worker's bulk records.
 */
export function plainIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${kindOf(issue.expected)}${issue.input === null ? ', not null' : ''}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${show(issue.values[0])}` : `must be one of ${issue.values.map(show).join(', ')}`;
    case 'too_small':
      return bound('at least', 'greater than', issue.origin, issue.minimum, issue.inclusive, issue.exact);
    case 'too_big':
      return bound('at most', 'less than', issue.origin, issue.maximum, issue.inclusive, issue.exact);
    case 'invalid_format':
      return formatMessage(issue.format, issue as { prefix?: string; suffix?: string; includes?: string });
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_union':
      return 'matches none of the accepted forms';
    case 'invalid_key':
      return 'has a key that is not accepted';
    case 'invalid_element':
      return 'has a value that is not accepted';
    case 'custom':
      return 'is not valid';
    default:
      return undefined;
  }
}

const KINDS: Record<string, string> = { int: 'an integer', object: 'an object', array: 'an array', undefined: 'left out' };
const kindOf = (expected: string) => KINDS[expected] ?? `a ${expected}`;
const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function bound(inclusiveWord: string, exclusiveWord: string, origin: string, limit: number | bigint, inclusive = true, exact = false): string {
  const n = String(limit);
  if (origin === 'string') {
    if (exact) return `must be exactly ${n} characters long`;
    if (inclusiveWord === 'at least' && n === '1') return 'must not be empty';
    return `must be ${inclusiveWord} ${n} characters long`;
  }
  if (origin === 'array' || origin === 'set') {
    if (exact) return `must have exactly ${n} items`;
    if (inclusiveWord === 'at least' && n === '1') return 'must have at least one item';
    return `must have ${inclusiveWord} ${n} items`;
  }
  return `must be ${inclusive ? inclusiveWord : exclusiveWord} ${n}`;
}

const FORMATS: Record<string, string> = {
  email: 'an email address',
  uuid: 'a UUID',
  guid: 'a UUID',
  url: 'a URL',
  datetime: 'an ISO 8601 date-time such as 2026-05-22T01:00:00Z',
  date: 'a date such as 2026-05-22',
  time: 'a time such as 01:00:00',
  duration: 'an ISO 8601 duration such as PT1H',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
};

function formatMessage(format: string, issue: { prefix?: string; suffix?: string; includes?: string }): string {
  if (format === 'starts_with') return `must start with "${issue.prefix}"`;
  if (format === 'ends_with') return `must end with "${issue.suffix}"`;
  if (format === 'includes') return `must include "${issue.includes}"`;
  return FORMATS[format] ? `must be ${FORMATS[format]}` : 'is not in the expected format';
}

/** Makes zod word every finding a schema does not word itself as plainIssueMessage does (process-wide). */
export function usePlainValidationMessages(): void {
  z.config({ customError: plainIssueMessage });
}

/**
 * What a finding on a left-out field says: "is required" whichever check the
 * field's schema words (a UUID's, an enum's), unless the schema's own message
 * already says it is required (with why).
 */
export function requiredMessage(message: string): string {
  return /\brequired\b/.test(message) ? message : 'is required';
}

/** Whether the object holding the field at `path` is in `input` and the field is not (or is undefined). */
export function isLeftOut(input: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return false;
  let holder: unknown = input;
  for (const key of path.slice(0, -1)) {
    if (typeof holder !== 'object' || holder === null) return false;
    holder = (holder as Record<PropertyKey, unknown>)[key];
  }
  if (typeof holder !== 'object' || holder === null || Array.isArray(holder)) return false;
  return (holder as Record<PropertyKey, unknown>)[path[path.length - 1]] === undefined;
}
