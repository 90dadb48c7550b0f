/** The fields of a NOTIFY payload that holds a JSON object, or undefined for anything else on the channel. */
export function notifyFields(payload: string | undefined): Record<string, unknown> | undefined {
  if (!payload) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
