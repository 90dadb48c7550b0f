import { z } from 'zod';

/**
 * Text every store can hold. Postgres refuses NUL in text and json(b)
 * (22021, 22P05); half of a UTF-16 surrogate pair is no character at all, so
 * UTF-8 cannot encode it (the driver turns it into U+FFFD in text columns and
 * jsonb refuses its escape). Such input is refused where it enters, before a
 * workflow holds a value its persistence could never write.
 *
 * One pattern, matched per UTF-16 code unit, so the OpenAPI document can
 * declare exactly what is refused.
 */
export const STORABLE_TEXT = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export function isStorableText(text: string): boolean {
  return STORABLE_TEXT.test(text);
}

/**
 * STORABLE_TEXT for places where a document's pattern must compile in every
 * regex engine (e.g. propertyNames): no NUL. Surrogate ranges do not compile in
 * Rust's or Go's engines or in the fuzzer in `npm test`, whose strings cannot
 * hold a lone surrogate anyway; that half of the rule is then said in words.
 */
export const DOCUMENTED_STORABLE_TEXT = '^[^\\u0000]*$';

/**
 * What the documents add for a required text that is trimmed (next to the
 * storable pattern, in an allOf): at least one character String.prototype.trim
 * keeps. JavaScript's white space and line terminators are spelled out so every
 * regex engine reads them alike, and there are no surrogate ranges, so tools
 * that cannot compile STORABLE_TEXT (Rust's and Go's engines, the fuzzer in
 * `npm test`) still can this.
 */
export const DOCUMENTED_NON_BLANK_TEXT = '^[^\\u0000]*[^\\u0000\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff][^\\u0000]*$';

/** A string that is only accepted when storable; the rule shows in the schema as its pattern. */
export function storableText(params?: Parameters<typeof z.string>[0]) {
  return z.string(params).regex(STORABLE_TEXT, { message: UNSTORABLE_TEXT_MESSAGE });
}

/** A trimmed, storable text field of at most `max` characters: the house form of a free-text body field. */
export const textField = (max: number) => storableText().max(max).trim();

/** The same, required: blank is refused, and the document states it as a pattern. */
export const requiredTextField = (max: number) => textField(max).min(1, { message: 'is required' }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT });

export type ValuePath = Array<string | number>;

/**
 * Where a parsed JSON value (or query, params, headers) holds unstorable text:
 * every string value and every object key, at any depth. A key is reported at
 * its own path, since it is stored too (jsonb audit rows keep whole objects).
 * Iterative, so a hostile nesting depth cannot overflow the stack.
 */
export function unstorableTextPaths(value: unknown): ValuePath[] {
  const out: ValuePath[] = [];
  // Each entry links to its parent, so paths are only built for what is reported.
  type Step = { key: string | number; parent?: Step } | undefined;
  const pathOf = (step: Step): ValuePath => {
    const path: ValuePath = [];
    for (let s = step; s; s = s.parent) path.push(s.key);
    return path.reverse();
  };
  const pending: Array<[unknown, Step]> = [[value, undefined]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, at] = next;
    if (typeof item === 'string') {
      if (!isStorableText(item)) out.push(pathOf(at));
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([item[i], { key: i, parent: at }]);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item).reverse()) {
        // An unstorable key is reported itself; what it holds goes nowhere.
        pending.push([isStorableText(key) ? child : key, { key, parent: at }]);
      }
    }
  }
  return out;
}

const UNSTORABLE_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A copy of `value` whose every string (keys too) is storable: NUL and lone
 * surrogates become U+FFFD. For text Tollgate does not write itself — what an
 * agent reports of a target's answers, a hook's output — which must be kept,
 * not refused: a target's reply must not wedge the task that read it.
 */
export function storableCopy<T>(value: T): T {
  if (typeof value === 'string') return value.replace(UNSTORABLE_CHARS, '\ufffd') as T;
  if (Array.isArray(value)) return value.map((item) => storableCopy(item)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableCopy(k), storableCopy(v)])) as T;
  }
  return value;
}
