import { z } from 'zod';
import { storableText } from '../text';

/**
 * The one extension point for what Tollgate calls out to. Each integration
 * type names the kind of service it is, the config it takes (one zod schema:
 * the API validates bodies with it and `GET /integration-types` publishes it
 * as JSON Schema) and which of its top-level fields are secrets (write-only:
 * stored encrypted, never served). Plugins add kinds' implementations of
 * their own; the kinds are fixed here.
 */

export const INTEGRATION_KINDS = ['container-registry', 'notifier', 'http-gate', 'metric-provider', 'traffic-provider'] as const;
export type IntegrationKind = (typeof INTEGRATION_KINDS)[number];

/** What an integration can be asked to do besides being stored. */
export type IntegrationOperation = 'test' | 'discover' | 'health';

export interface IntegrationTypeDefinition {
  id: string;
  kind: IntegrationKind;
  name: string;
  description: string;
  config: z.ZodObject;
  /** Top-level config fields that are secrets: optional in the schema, so a PUT may leave one out and keep it. */
  secretFields: readonly string[];
  /** Whether `POST /integrations/{id}/discover` has something to find for this type. */
  discovers: boolean;
}

const url = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048);
const secret = (what: string) => storableText().min(1).max(4096).optional().describe(`${what} (write-only: stored encrypted, never returned)`);
const headerName = z.string().min(1).max(128).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'must be an HTTP header name' });
const headers = z.record(headerName, storableText().max(4096)).refine((h) => Object.keys(h).length <= 20, { message: 'must have at most 20 headers' }).optional();
const timeoutMs = z.number().int().min(100).max(60_000).default(5_000).describe('How long one call may take, in milliseconds');

export const INTEGRATION_TYPES: Record<string, IntegrationTypeDefinition> = {
  'oci-registry': {
    id: 'oci-registry',
    kind: 'container-registry',
    name: 'OCI container registry',
    description: 'A registry that speaks the OCI distribution API (Docker Hub, GHCR, Harbor, distribution/registry): lists repositories, tags and manifest digests for sync-versions; basic or bearer-token auth.',
    config: z.strictObject({
      url: url.describe('Base URL of the registry, e.g. https://registry.example.com'),
      repositories: z.array(z.string().min(1).max(255).regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, { message: 'must be a repository name such as team/app' })).max(100).optional()
        .describe('Repositories discover lists (default: the registry catalog)'),
      username: storableText().min(1).max(256).optional(),
      password: secret('Password or access token for the username'),
      timeoutMs,
    }),
    secretFields: ['password'],
    discovers: true,
  },
  webhook: {
    id: 'webhook',
    kind: 'notifier',
    name: 'Webhook notifier',
    description: 'POSTs notifications as JSON (generic, Slack- or Teams-compatible), signed with HMAC-SHA256 in X-Tollgate-Signature when a signing secret is set; retried with backoff.',
    config: z.strictObject({
      url: url.describe('Where notifications are POSTed (a Slack or Teams incoming webhook URL works with the matching format)'),
      format: z.enum(['generic', 'slack', 'teams']).default('generic'),
      headers,
      signingSecret: secret('Key of the HMAC-SHA256 signature sent in X-Tollgate-Signature'),
      maxAttempts: z.number().int().min(1).max(10).default(3).describe('Attempts per notification (5xx, 429 and network errors are retried)'),
      timeoutMs,
    }),
    secretFields: ['signingSecret'],
    discovers: false,
  },
  'http-gate': {
    id: 'http-gate',
    kind: 'http-gate',
    name: 'HTTP gate',
    description: 'A gate that passes when a URL answers with an expected status.',
    config: z.strictObject({
      url,
      method: z.enum(['GET', 'POST', 'HEAD']).default('GET'),
      expectStatus: z.array(z.number().int().min(100).max(599)).min(1).max(20).default([200]),
      headers,
      bearerToken: secret('Sent as Authorization: Bearer …'),
      timeoutMs,
    }),
    secretFields: ['bearerToken'],
    discovers: false,
  },
  prometheus: {
    id: 'prometheus',
    kind: 'metric-provider',
    name: 'Prometheus metric provider',
    description: "A Prometheus (or compatible) server whose queries feed rollout analysis; discover lists its metric names.",
    config: z.strictObject({
      url: url.describe('Base URL, e.g. http://prometheus:9090'),
      bearerToken: secret('Sent as Authorization: Bearer …'),
      timeoutMs,
    }),
    secretFields: ['bearerToken'],
    discovers: true,
  },
  'traffic-webhook': {
    id: 'traffic-webhook',
    kind: 'traffic-provider',
    name: 'Traffic router webhook',
    description: 'A router someone else runs, driven through an HTTP endpoint that reads (GET) and sets (PUT) traffic weights.',
    config: z.strictObject({
      url,
      bearerToken: secret('Sent as Authorization: Bearer …'),
      timeoutMs,
    }),
    secretFields: ['bearerToken'],
    discovers: false,
  },
};

export const INTEGRATION_TYPE_IDS = Object.keys(INTEGRATION_TYPES);

export function integrationType(id: string): IntegrationTypeDefinition | undefined {
  return Object.hasOwn(INTEGRATION_TYPES, id) ? INTEGRATION_TYPES[id] : undefined;
}
