/**
 * Why one record of a bulk job failed: the error the API would have answered
 * for it alone. The bulk activity writes it with the record's result and the
 * API's job read serves it as is.
 */
export interface RecordError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  validation_errors?: Array<{ field: string; code: string; message: string }>;
}
