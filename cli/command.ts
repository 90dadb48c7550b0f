import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient } from './client';
import { resolveConnection, type Connection } from './config';
import { UsageError } from './errors';
import type { Out } from './output';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Context {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  out: Out;
  connection: Connection;
  /** A client with the resolved URL and token (refuses to start without a token). */
  client(): ApiClient;
  usage: string;
}

export interface Command {
  /** The words that name it: ['promotions', 'list'], ['inbox']. */
  words: string[];
  /** Arguments and options after the words, e.g. `<id> [--comment TEXT]`. */
  synopsis: string;
  summary: string;
  options?: Options;
  /** How many positionals it takes: [min, max]. */
  positionals?: [number, number];
  run(ctx: Context): Promise<number | void>;
}

export const GLOBAL_OPTIONS: Options = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const GLOBAL_SYNOPSIS = '[--url URL] [--token TOKEN] [--json]';

export function usageOf(command: Command): string {
  return `usage: tollgate ${command.words.join(' ')}${command.synopsis ? ` ${command.synopsis}` : ''} ${GLOBAL_SYNOPSIS}\n  ${command.summary}`;
}

export function contextFor(command: Command, args: string[], out: Out): Context | 'help' {
  const usage = usageOf(command);
  let parsed: { values: Context['values']; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
  if (parsed.values.help) return 'help';
  const [min, max] = command.positionals ?? [0, 0];
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`missing argument${min - n > 1 ? 's' : ''}`, usage);
  if (n > max) throw new UsageError(`unexpected argument ${parsed.positionals[max]}`, usage);
  const connection = resolveConnection({ url: parsed.values.url as string | undefined, token: parsed.values.token as string | undefined });
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    out: { ...out, json: parsed.values.json === true },
    connection,
    usage,
    client() {
      if (!connection.token) throw new UsageError('no token: pass --token, set TOLLGATE_TOKEN, or run tollgate login --url URL --token TOKEN', usage);
      return new ApiClient(connection);
    },
  };
}

/** A required string option. */
export function required(ctx: Context, name: string): string {
  const value = ctx.values[name];
  if (typeof value !== 'string' || !value.trim()) throw new UsageError(`--${name} is required`, ctx.usage);
  return value;
}

export function optional(ctx: Context, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** "90s", "10m", "1h", "500ms", or plain seconds. */
export function durationMs(ctx: Context, name: string, fallback: string): number {
  const text = optional(ctx, name) ?? fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${name} ${text} is not a duration (e.g. 90s, 10m, 1h)`, ctx.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export function oneOf<T extends string>(ctx: Context, name: string, allowed: readonly T[]): T | undefined {
  const value = optional(ctx, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`, ctx.usage);
  return value as T;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
