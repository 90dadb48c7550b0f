import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from '../platform/logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export interface PinoTemporalLoggerOptions {
  /** Quiets chatty sources (webpack's bundle report arrives at INFO); warnings and errors stay. */
  infoAsDebug?: boolean;
  /**
   * The native runtime (Rust core) repeats one warning per poller per retry while
   * Temporal is unreachable. Within this window a repeat goes to debug; the next
   * one after it is logged at its level again, with how many were quieted.
   */
  coreRepeatWindowMs?: number;
  /** Messages that are expected in this process, sent to debug (an agent registers no workflows on purpose). */
  expected?: RegExp;
}

/** Sends the SDK's, the native runtime's, workflows' and activities' logs through pino, keeping workflow ids and tenants as fields. */
export class PinoTemporalLogger implements TemporalLogger {
  private readonly repeats = new Map<string, { until: number; quieted: number }>();

  constructor(
    private readonly pino: Logger,
    private readonly options: PinoTemporalLoggerOptions = {},
  ) {}

  private write(level: LogLevel, message: string, meta: LogMetadata = {}) {
    let effective = (this.options.infoAsDebug && level === 'INFO') || this.options.expected?.test(message) ? 'DEBUG' : level;
    let fields: LogMetadata = meta;
    if (this.options.coreRepeatWindowMs && meta.sdkComponent === 'core' && (level === 'WARN' || level === 'ERROR')) {
      const quieted = this.quietRepeat(`${meta.target ?? ''}|${message.replace(/\d+/g, '#')}`, this.options.coreRepeatWindowMs);
      if (quieted === undefined) effective = 'DEBUG';
      else if (quieted > 0) fields = { ...meta, quietedRepeats: quieted };
    }
    this.pino[LEVELS[effective] ?? 'info'](fields, message);
  }

  /** undefined: a repeat inside the window; otherwise how many repeats the previous window quieted. */
  private quietRepeat(key: string, windowMs: number): number | undefined {
    const now = Date.now();
    const seen = this.repeats.get(key);
    if (seen && now < seen.until) {
      seen.quieted += 1;
      return undefined;
    }
    if (this.repeats.size > 1000) this.repeats.clear();
    this.repeats.set(key, { until: now + windowMs, quieted: 0 });
    return seen?.quieted ?? 0;
  }

  log(level: LogLevel, message: string, meta?: LogMetadata) {
    this.write(level, message, meta);
  }
  trace = (message: string, meta?: LogMetadata) => this.write('TRACE', message, meta);
  debug = (message: string, meta?: LogMetadata) => this.write('DEBUG', message, meta);
  info = (message: string, meta?: LogMetadata) => this.write('INFO', message, meta);
  warn = (message: string, meta?: LogMetadata) => this.write('WARN', message, meta);
  error = (message: string, meta?: LogMetadata) => this.write('ERROR', message, meta);
}

/** How much the native runtime should say for a pino level: its warnings normally, its detail when debugging. */
export function coreLogFilter(pinoLevel: string): { core: LogLevel; other: LogLevel } {
  if (pinoLevel === 'trace') return { core: 'TRACE', other: 'DEBUG' };
  if (pinoLevel === 'debug') return { core: 'DEBUG', other: 'WARN' };
  if (pinoLevel === 'error' || pinoLevel === 'fatal' || pinoLevel === 'silent') return { core: 'ERROR', other: 'ERROR' };
  return { core: 'WARN', other: 'ERROR' };
}
