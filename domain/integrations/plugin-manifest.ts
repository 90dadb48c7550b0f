import { z } from 'zod';
import type { IntegrationKind } from './types';

/**
 * What a plugin package exports (its module's default or module.exports): who
 * it is, which extension points (integration kinds) it implements, the schema
 * of an instance's config — written with the host's zod, handed to
 * `configSchema(z)`, so the API validates and publishes it as it does the
 * integration types' — which of its fields are secrets, and the calls it
 * answers. Every call may throw or hang: the host bounds each one and records
 * what happened on the plugin's health.
 */

export interface PluginCallAnswer {
  ok: boolean;
  reason?: string;
  details?: Record<string, unknown>;
}

export interface PluginModule {
  id: string;
  name: string;
  version: string;
  description?: string;
  implements: IntegrationKind[];
  configSchema?: (host: typeof z) => z.ZodObject;
  secretFields?: string[];
  /** Once at load; bounded like every call. */
  init?: () => unknown;
  health?: () => PluginCallAnswer | Promise<PluginCallAnswer>;
  test?: (config: Record<string, unknown>) => PluginCallAnswer | Promise<PluginCallAnswer>;
  discover?: (config: Record<string, unknown>) => PluginCallAnswer | Promise<PluginCallAnswer>;
  notify?: (config: Record<string, unknown>, notification: unknown) => PluginCallAnswer | Promise<PluginCallAnswer>;
  /** An http gate's verdict on one promotion: `context` holds only non-secret facts (tenant, release, environment). */
  check?: (config: Record<string, unknown>, context: PluginGateContext) => PluginCallAnswer | Promise<PluginCallAnswer>;
}

/** What a plugin's gate is told about the promotion it judges. */
export interface PluginGateContext {
  tenantId: string;
  release: { id: string; name: string };
  environment: { id: string; name: string };
}

/**
 * The extension points the host calls plugins for, each with the function it
 * calls: a notifier's `notify` (template notify steps, incident
 * notifications), an http gate's `check` (approval policies' httpGates).
 * Another kind would be accepted and never called, so a manifest naming one
 * does not load.
 */
export const PLUGIN_EXTENSION_POINTS = { notifier: 'notify', 'http-gate': 'check' } as const satisfies Partial<Record<IntegrationKind, keyof PluginModule>>;
export type PluginExtensionPoint = keyof typeof PLUGIN_EXTENSION_POINTS;
const EXTENSION_POINTS = Object.keys(PLUGIN_EXTENSION_POINTS) as PluginExtensionPoint[];
const supported = (kind: string): kind is PluginExtensionPoint => (EXTENSION_POINTS as string[]).includes(kind);
const extensionPointsSaid = EXTENSION_POINTS.map((k) => `${k} (exports ${PLUGIN_EXTENSION_POINTS[k]})`).join(', ');

/** Each `implements` entry the host does not call plugins for, or whose function the plugin does not export. */
export function extensionPointProblems(plugin: { implements: readonly string[] } & Record<string, unknown>): string[] {
  return plugin.implements.flatMap((kind, i) => {
    if (!supported(kind)) return [`implements.${i} "${kind}" is not an extension point plugins can implement today; they can implement ${extensionPointsSaid}`];
    const fnName = PLUGIN_EXTENSION_POINTS[kind];
    return typeof plugin[fnName] === 'function' ? [] : [`implements.${i} "${kind}" needs the function ${fnName}, which the plugin does not export`];
  });
}

export const PLUGIN_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const fn = z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });
const manifestSchema = z.object({
  id: z.string().regex(PLUGIN_ID, { message: 'must be lower-case letters, digits, ".", "_" or "-" (at most 64)' }),
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(64),
  description: z.string().max(2000).optional(),
  implements: z.array(z.string().max(64)).min(1, { message: 'must name at least one extension point' }),
  configSchema: fn.optional(),
  secretFields: z.array(z.string().min(1).max(128)).max(50).optional(),
  init: fn.optional(),
  health: fn.optional(),
  test: fn.optional(),
  discover: fn.optional(),
  notify: fn.optional(),
  check: fn.optional(),
});

/** The module as a plugin, or every reason it is not one. */
export function readManifest(exported: unknown): { ok: true; plugin: PluginModule; config: z.ZodObject } | { ok: false; reason: string } {
  const candidate = (exported as { default?: unknown })?.default ?? exported;
  const parsed = manifestSchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, reason: `not a Tollgate plugin: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'export'} ${i.message}`).join('; ')}` };
  const plugin = candidate as PluginModule;
  const unserved = extensionPointProblems(candidate as { implements: string[] } & Record<string, unknown>);
  if (unserved.length) return { ok: false, reason: `not a Tollgate plugin: ${unserved.join('; ')}` };
  let config: unknown = z.strictObject({});
  if (plugin.configSchema) {
    try {
      config = plugin.configSchema(z);
    } catch (err) {
      return { ok: false, reason: `its configSchema threw: ${(err as Error)?.message ?? String(err)}` };
    }
  }
  if (!(config instanceof z.ZodObject)) return { ok: false, reason: 'its configSchema must return a zod object schema (z.strictObject({...}))' };
  return { ok: true, plugin, config };
}
