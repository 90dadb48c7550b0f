import { DomainError } from '../errors';

/**
 * A change's maintenance window, as a create or an edit sets it: both ends or
 * neither, and the end after the start. Wrong in the request itself it is a
 * 400; wrong against the change's other end, a 422 (`kind`).
 */
export function checkSchedule(start: string | null, end: string | null, kind: 'invalid_input' | 'rule' = 'invalid_input'): void {
  if ((start === null) !== (end === null)) {
    throw new DomainError(kind, 'INCOMPLETE_WINDOW', 'scheduled_start and scheduled_end are set together', { scheduled_start: start, scheduled_end: end });
  }
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new DomainError(kind, 'INVALID_WINDOW', 'scheduled_end must be after scheduled_start', { scheduled_start: start, scheduled_end: end });
  }
}
