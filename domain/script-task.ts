import { z } from 'zod';
import { storableText } from './text';

/**
 * A template's `script` step as its agent is handed it over the work channel
 * (activity `runScript` on `agent-<id>`), and what the agent answers. The
 * agent runs the command only when its operator started it with
 * --allow-scripts, and reports the capability `scripts` only then.
 */
export const SCRIPT_CAPABILITY = 'scripts';

export interface ScriptTaskInput {
  tenantId: string;
  runId: string;
  nodeId: string;
  /** forEach: the item's index; -1 for a node without forEach. */
  itemIndex: number;
  /** The node's try, from 1; log lines of each try are numbered apart. */
  attempt: number;
  command: string;
  env: Record<string, string>;
  /** Paths (relative to the script's work dir) uploaded as the step's artifacts when the command ends. */
  artifacts: string[];
  /** Lines of output kept per try; past it the agent sends one line saying how many it dropped. */
  logCapLines: number;
  /** How long a cancelled command gets between SIGTERM and SIGKILL. */
  cancelGraceMs: number;
}

export interface ScriptArtifact {
  name: string;
  size: number;
  sha256: string;
}

export interface ScriptTaskResult {
  /** null: the command did not exit on its own (stopped, or it could not start). */
  exitCode: number | null;
  /** `name=value` lines the command wrote to $TOLLGATE_OUTPUT. */
  outputs: Record<string, string>;
  artifacts: ScriptArtifact[];
  /** Why there is no exit code, or what went wrong around the command (an artifact missing). */
  error: string | null;
}

/** Lines numbered per try: a line sent again (a lost answer) is stored once. */
export const LINES_PER_ATTEMPT = 1_000_000_000;
export const scriptLineSeq = (attempt: number, line: number) => attempt * LINES_PER_ATTEMPT + line;

/** The name a `name=value` output may have: what a reference `steps.<id>.outputs.<name>` can name. */
export const SCRIPT_OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const text = (max: number) => storableText().max(max);

export const scriptResultSchema = z.strictObject({
  exitCode: z.number().int().min(-1_000).max(1_000).nullable(),
  outputs: z.record(z.string().regex(SCRIPT_OUTPUT_NAME), text(4_096)).refine((v) => Object.keys(v).length <= 50, { message: 'at most 50 outputs' }),
  artifacts: z.array(z.strictObject({ name: text(128), size: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).max(20),
  error: text(8_000).nullable(),
});

/** A batch of a script's output lines, numbered from `from` within the try. */
export const scriptLinesSchema = z
  .strictObject({
    from: z.number().int().min(0).max(LINES_PER_ATTEMPT - 1),
    lines: z
      .array(z.strictObject({ stream: z.enum(['stdout', 'stderr']), text: z.string().max(16_384) }))
      .min(1)
      .max(500),
  })
  .meta({ id: 'ScriptLines', description: 'Output lines of a script step, numbered from `from` within the try; a line sent again is stored once' });
