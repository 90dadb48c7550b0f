import type { FailureKind } from '../domain/errors';
import { FAILURE_STATUS } from '../domain/errors';

export interface ValidationError {
  field: string;
  message: string;
  code: string;
}

/** Every error the API returns is one of these; the error handler renders it in the request's dialect. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly validationErrors?: ValidationError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class BadRequest extends ApiError {
  constructor(message: string, code = 'BAD_REQUEST', validationErrors?: ValidationError[], details?: Record<string, unknown>) {
    super(400, code, message, details, validationErrors);
  }
}
export class ValidationFailed extends BadRequest {
  constructor(validationErrors: ValidationError[], message = 'The request is invalid') {
    super(message, 'VALIDATION_FAILED', validationErrors);
  }
}
export class Unauthorized extends ApiError {
  constructor(message = 'A valid bearer token is required', code = 'UNAUTHORIZED') {
    super(401, code, message, undefined, undefined, { 'WWW-Authenticate': 'Bearer' });
  }
}
export class Forbidden extends ApiError {
  constructor(message: string, code = 'FORBIDDEN', details?: Record<string, unknown>) {
    super(403, code, message, details);
  }
}
export class NotFound extends ApiError {
  constructor(message: string, code = 'NOT_FOUND') {
    super(404, code, message);
  }
}
export class Conflict extends ApiError {
  constructor(message: string, code = 'CONFLICT', details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}
export class PayloadTooLarge extends ApiError {
  constructor(limit: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${limit} bytes`, { limitBytes: limit });
  }
}
export class UnsupportedMediaType extends ApiError {
  constructor() {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be JSON (Content-Type: application/json)');
  }
}
export class Unprocessable extends ApiError {
  constructor(message: string, code = 'BUSINESS_RULE_VIOLATION', details?: Record<string, unknown>) {
    super(422, code, message, details);
  }
}
export class TooManyRequests extends ApiError {
  constructor(retryAfterSeconds: number, scope: string) {
    super(429, 'RATE_LIMITED', `Rate limit exceeded for this ${scope}; retry after ${retryAfterSeconds}s`, { scope, retryAfterSeconds }, undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}
export class ServiceUnavailable extends ApiError {
  constructor(message: string, code = 'SERVICE_UNAVAILABLE', details?: Record<string, unknown>) {
    super(503, code, message, details, undefined, { 'Retry-After': '5' });
  }
}

/** A business failure raised by a workflow or domain rule, mapped to its status. */
export function fromDomainFailure(kind: FailureKind, code: string, message: string, details?: Record<string, unknown>): ApiError {
  return new ApiError(FAILURE_STATUS[kind] ?? 422, code, message, details);
}
