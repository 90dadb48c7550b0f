import { z } from 'zod';
import { requiredTextField, storableCopy, STORABLE_TEXT, textField, UNSTORABLE_TEXT_MESSAGE } from '../text';
import { labelsSchema } from '../inventory-fields';
import { ROUTER_PROVIDERS } from '../traffic';

/**
 * Request bodies of the agents API: registration, updates, heartbeats, and the
 * agent-only task calls (claim, log chunks, artifacts). Every rule a client must follow is one the OpenAPI document can state (a
 * pattern, a union of strict objects), so a schema-driven client never builds a
 * body the server then refuses.
 */

const text = textField;
const name = requiredTextField(100);
const uuid = z.uuid({ message: 'must be a UUID' });

const agentVersion = text(100).nullable().optional().meta({ description: 'The agent software’s version' });
export const CAPABILITY = /^[A-Za-z0-9][A-Za-z0-9._:\/-]{0,63}$/;
/** host:port, [v6]:port or :port: where clients reach the route the agent's router serves. */
export const ROUTER_LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
const agentRouter = z
  .strictObject({
    provider: z.enum(ROUTER_PROVIDERS),
    listen: z.string().max(300).regex(ROUTER_LISTEN, { message: 'must be host:port, e.g. 127.0.0.1:8080' }),
  })
  .nullable()
  .meta({ description: 'The traffic router the agent drives for its environment (rollouts), or null for none' });
const capabilities = z
  .array(z.string().max(64).regex(CAPABILITY, { message: 'capabilities are words of letters, digits, . _ : / -' }))
  .max(50)
  .meta({ description: 'What the agent can run, e.g. shell, http-health' });

export const registerAgentSchema = z
  .strictObject({
    name,
    environmentId: uuid,
    labels: labelsSchema(),
    version: agentVersion,
    capabilities: capabilities.default([]),
    router: agentRouter.optional(),
    targets: z
      .array(name)
      .max(1_000)
      .optional()
      .meta({ description: 'Names of targets in the environment to take over; absent: every target there without an agent whose labels include all of the agent’s' }),
    takeOver: z
      .boolean()
      .default(false)
      .meta({
        description:
          'Take named targets from the online agents that own them (needs agent:manage; audited, and each previous owner is told in its next heartbeat answer). Without it, a named target owned by an online agent is 409 TARGET_OWNED',
      }),
  })
  .meta({ id: 'AgentRegistration' });

export const updateAgentSchema = z
  .strictObject({
    name,
    labels: labelsSchema(),
    revoked: z.boolean().meta({ description: 'true stops the agent’s credential at once; false restores it' }),
  })
  .meta({ id: 'AgentUpdate' });

// What a target's own answer says it runs: its text is the target's, kept with NUL and half pairs as U+FFFD rather
// than refusing the heartbeat (which would take the agent offline).
const reportedText = z.string().max(200).overwrite(storableCopy).trim().nullable().default(null);
export const heartbeatSchema = z
  .strictObject({
    version: agentVersion,
    capabilities: capabilities.optional(),
    router: agentRouter.optional().meta({ description: 'The traffic router the agent drives now; null: none; absent: unchanged' }),
    targets: z
      .array(
        z.strictObject({
          targetId: uuid,
          releaseId: reportedText.meta({ description: 'The release the target actually runs, or null when unknown' }),
          version: reportedText.meta({ description: 'The version the target actually runs, or null when unknown' }),
          healthy: z.boolean().nullable().default(null),
        }),
      )
      .max(1_000)
      .meta({ description: 'What each of the agent’s targets actually runs; targets not assigned to this agent are ignored' }),
  })
  .meta({ id: 'AgentHeartbeat' });

export const claimTaskSchema = z
  .strictObject({
    jobId: uuid,
    targetId: uuid,
    phase: z.enum(['deploy', 'rollback']),
    attempt: z.number().int().min(0).max(1_000_000),
  })
  .meta({ id: 'TaskClaim' });

export const LOG_CHUNK_MAX_CHARS = 256 * 1024;
/**
 * Storable text, except that it may open with the low half of a surrogate
 * pair: a chunk resent from an offset inside a pair, whose high half (at
 * offset - 1) the log already holds.
 */
const LOG_CHUNK_TEXT = new RegExp(`^[\\udc00-\\udfff]?${STORABLE_TEXT.source.slice(1)}`);
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
export const appendLogSchema = z
  .strictObject({
    offset: z.number().int().min(0).max(2_147_483_647).meta({ description: 'Where `data` starts in the task’s log, in characters' }),
    data: z
      .string()
      .max(LOG_CHUNK_MAX_CHARS)
      .regex(LOG_CHUNK_TEXT, { message: UNSTORABLE_TEXT_MESSAGE })
      .meta({ description: 'The next characters of the log (at most 256 KiB); what the server already holds is skipped. It may start with the low half of a surrogate pair the log already holds' }),
    stoppedBy: z.enum(['SIGTERM', 'SIGKILL']).optional().meta({ description: 'How a cancelled hook was stopped' }),
  })
  // A chunk resent from inside a pair: the half the log holds is dropped here, so the pair is never cut in two when
  // the server skips what it has (storing the lone half would turn the character into U+FFFD). Opening a chunk at
  // the end of the log, the half starts past it: a LOG_OFFSET_GAP names where to send from.
  .overwrite((chunk) => (isLowSurrogate(chunk.data.charCodeAt(0)) ? { ...chunk, offset: chunk.offset + 1, data: chunk.data.slice(1) } : chunk))
  .meta({ id: 'TaskLogAppend' });

// "." and ".." name no file, and a URL path cannot carry them.
export const ARTIFACT_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
