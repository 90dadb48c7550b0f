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
  constructor(private readonly pino: Logger) {}
  private write(level: LogLevel, message: string, meta?: LogMetadata) {
    this.pino[LEVELS[level] ?? 'info'](meta ?? {}, message);
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
