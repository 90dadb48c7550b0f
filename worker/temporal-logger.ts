import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from '../platform/logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Sends the SDK's, workflows' and activities' logs through pino, keeping workflow ids and tenants as fields. */
export class PinoTemporalLogger implements TemporalLogger {
  /** `infoAsDebug` quiets chatty sources (webpack's bundle report arrives at INFO); warnings and errors stay. */
  constructor(
    private readonly pino: Logger,
    private readonly options: { infoAsDebug?: boolean } = {},
  ) {}
  private write(level: LogLevel, message: string, meta?: LogMetadata) {
    const effective = this.options.infoAsDebug && level === 'INFO' ? 'DEBUG' : level;
    this.pino[LEVELS[effective] ?? 'info'](meta ?? {}, message);
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
