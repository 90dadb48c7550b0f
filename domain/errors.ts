/**
 * Business failures shared by workflows (update validators/handlers) and the
 * API. A workflow raises one as an ApplicationFailure whose `type` is the code
 * and whose first detail is the kind; the API turns the kind into a status.
 */
export type FailureKind = 'invalid_input' | 'forbidden' | 'not_found' | 'invalid_state' | 'rule';

export const FAILURE_STATUS: Record<FailureKind, 400 | 403 | 404 | 409 | 422> = {
  invalid_input: 400,
  forbidden: 403,
  not_found: 404,
  invalid_state: 409,
  rule: 422,
};

export interface DomainFailure {
  kind: FailureKind;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export class DomainError extends Error implements DomainFailure {
  constructor(
    readonly kind: FailureKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
