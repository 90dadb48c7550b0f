import type { z } from 'zod';

/**
 * Options for a check that compares fields of an object (a window's start and
 * end, which fields go together). Zod skips such a check once any field has
 * failed, so a body with a missing name and a window ending before it starts
 * was answered one problem at a time; with these, the check runs unless one of
 * the fields it reads has failed (or the body is not an object at all), and a
 * body's problems are reported at once.
 */
export function acrossFields(...fields: string[]): { when: (payload: z.core.ParsePayload) => boolean } {
  return {
    when: (payload) =>
      typeof payload.value === 'object' &&
      payload.value !== null &&
      !Array.isArray(payload.value) &&
      !payload.issues.some(({ path = [], code }) => (path.length === 0 ? code === 'invalid_type' : fields.includes(String(path[0])))),
  };
}
