import type { z } from 'zod';

/**
 * A config as written splits into what is stored in clear and what is stored
 * encrypted; a config as served shows only whether each secret is set. The
 * split is by the declaration's `secretFields`, so a type (or a plugin) names
 * its secrets once.
 */

export type ConfigValues = Record<string, unknown>;

export interface SplitConfig {
  config: ConfigValues;
  secrets: Record<string, string>;
}

export type ConfigCheck = { ok: true; value: SplitConfig } | { ok: false; error: z.ZodError };

/**
 * Validates a whole config (every field's problem at once) and splits out its
 * secrets. `kept` are the secrets already stored: a secret left out of an
 * update keeps its value, so a client never has to send it back.
 */
export function checkConfig(schema: z.ZodType, secretFields: readonly string[], body: unknown, kept: Record<string, string> = {}): ConfigCheck {
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, error: parsed.error };
  const config: ConfigValues = { ...(parsed.data as ConfigValues) };
  const secrets: Record<string, string> = {};
  for (const field of secretFields) {
    const value = config[field];
    delete config[field];
    if (typeof value === 'string') secrets[field] = value;
    else if (typeof kept[field] === 'string') secrets[field] = kept[field];
  }
  return { ok: true, value: { config, secrets } };
}

/** Which secrets are set, as clients see them: never the values. */
export function secretsShown(secretFields: readonly string[], setFields: readonly string[]): Record<string, { secretSet: boolean }> {
  return Object.fromEntries(secretFields.map((f) => [f, { secretSet: setFields.includes(f) }]));
}

/** The config a call runs with: clear fields and decrypted secrets together again. */
export function joinConfig(split: SplitConfig): ConfigValues {
  return { ...split.config, ...split.secrets };
}
