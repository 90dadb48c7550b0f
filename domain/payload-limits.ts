/**
 * Temporal refuses any single payload above 2 MiB (its blob size limit) and
 * terminates the workflow whose command or activity input passes it: the
 * record is then stranded in whatever state it was in. A command's input is
 * therefore held far below that, since a workflow carries what a command
 * brings into several activity inputs and its own state (a promotion repeats
 * its change number in its gates, decision record and evidence).
 */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** The most a single command may hand a workflow, as UTF-8 JSON (a quarter of Temporal's limit). */
export const COMMAND_PAYLOAD_LIMIT_BYTES = TEMPORAL_PAYLOAD_LIMIT_BYTES / 4;

/** The UTF-8 size of a value as JSON, the way Temporal's default converter encodes it. */
export function jsonSizeBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value) ?? '').length;
}

/** Whether a command's arguments stay under COMMAND_PAYLOAD_LIMIT_BYTES. */
export function commandFits(args: readonly unknown[]): boolean {
  return jsonSizeBytes(args) <= COMMAND_PAYLOAD_LIMIT_BYTES;
}
