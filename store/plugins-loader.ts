import path from 'node:path';
import type { z } from 'zod';
import type { Logger } from '../platform/logger';
import { readManifest, type PluginCallAnswer, type PluginModule } from '../domain/integrations/plugin-manifest';

/**
 * The plugins named in TOLLGATE_PLUGINS (comma-separated paths or package
 * names), loaded once per process by the API and the worker alike. A plugin
 * that fails to load (throws, exports no manifest, has a duplicate id) is
 * still listed, with its load error, and nothing of it runs. Every call into
 * a plugin goes through `callPlugin`: bounded by a timeout, errors caught, so
 * a plugin that throws or never answers gives an answer saying so and the
 * process goes on.
 */

export interface LoadedPlugin {
  /** The manifest's id, or for one that did not load, its entry's last path segment (so it can still be asked about). */
  id: string;
  source: string;
  plugin: PluginModule | null;
  config: z.ZodObject | null;
  loadError: string | null;
  loadedAt: string;
}

const loaded = new Map<string, Promise<LoadedPlugin[]>>();

/** The plugins of a TOLLGATE_PLUGINS value, loaded on first ask (each process asks at start). */
export function pluginsOf(spec: string, timeoutMs: number): Promise<LoadedPlugin[]> {
  let found = loaded.get(spec);
  if (!found) loaded.set(spec, (found = loadAll(spec, timeoutMs)));
  return found;
}

export async function findPlugin(spec: string, timeoutMs: number, id: string): Promise<LoadedPlugin | undefined> {
  return (await pluginsOf(spec, timeoutMs)).find((p) => p.id === id);
}

async function loadAll(spec: string, timeoutMs: number): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const source of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const one = await loadOne(source, timeoutMs);
    if (one.plugin && out.some((p) => p.id === one.id)) {
      out.push({ ...one, id: unloadedId(source), plugin: null, config: null, loadError: `another plugin already has the id "${one.id}"` });
      continue;
    }
    out.push(one);
  }
  return out;
}

async function loadOne(source: string, timeoutMs: number): Promise<LoadedPlugin> {
  const loadedAt = new Date().toISOString();
  const failed = (loadError: string): LoadedPlugin => ({ id: unloadedId(source), source, plugin: null, config: null, loadError, loadedAt });
  let exported: unknown;
  try {
    // A path (./plugins/x, /opt/x) is taken from the working directory; anything else is a package name.
    const specifier = source.startsWith('.') || path.isAbsolute(source) ? path.resolve(source) : source;
    exported = require(require.resolve(specifier, { paths: [process.cwd()] }));
  } catch (err) {
    return failed(`could not be loaded: ${(err as Error)?.message ?? String(err)}`);
  }
  const manifest = readManifest(exported);
  if (!manifest.ok) return failed(manifest.reason);
  const { plugin, config } = manifest;
  if (plugin.init) {
    const init = plugin.init;
    const answer = await bounded(async () => {
      await init.call(plugin);
      return { ok: true };
    }, timeoutMs, 'init');
    if (!answer.ok) return { ...failed(`init failed: ${answer.reason}`), id: plugin.id };
  }
  return { id: plugin.id, source, plugin, config, loadError: null, loadedAt };
}

const unloadedId = (source: string) => path.basename(source).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64) || 'unnamed';

export type PluginOperation = 'health' | 'test' | 'discover' | 'notify' | 'check';

/** A call's answer; `timedOut` when the plugin never answered within the bound (a caller may tell a hang from a refusal). */
export type PluginCallOutcome = Required<PluginCallAnswer> & { timedOut?: boolean };

/** One call into a plugin: its answer, or why there is none (it threw, it hung past the timeout, it answered nonsense). */
export async function callPlugin(entry: LoadedPlugin, operation: PluginOperation, timeoutMs: number, ...args: unknown[]): Promise<PluginCallOutcome> {
  const plugin = entry.plugin;
  if (!plugin) return { ok: false, reason: `plugin ${entry.id} is not loaded: ${entry.loadError}`, details: {} };
  const fn = plugin[operation] as ((...a: unknown[]) => unknown) | undefined;
  if (!fn) {
    if (operation === 'health') return { ok: true, reason: '', details: { loaded: true } };
    return { ok: false, reason: `plugin ${entry.id} does not implement ${operation}`, details: {} };
  }
  return bounded(() => fn.apply(plugin, args), timeoutMs, operation);
}

async function bounded(work: () => unknown, timeoutMs: number, what: string): Promise<PluginCallOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PluginTimeout(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const answer = (await Promise.race([Promise.resolve().then(work), timeout])) as PluginCallAnswer | undefined;
    if (!answer || typeof answer.ok !== 'boolean') return { ok: false, reason: `${what} answered without { ok: boolean }`, details: {} };
    return { ok: answer.ok, reason: answer.ok ? '' : String(answer.reason ?? 'not ok'), details: answer.details && typeof answer.details === 'object' ? answer.details : {} };
  } catch (err) {
    if (err instanceof PluginTimeout) return { ok: false, reason: err.message, details: {}, timedOut: true };
    return { ok: false, reason: `${what} threw: ${(err as Error)?.message ?? String(err)}`, details: {} };
  } finally {
    clearTimeout(timer);
  }
}

class PluginTimeout extends Error {}

/** Loads TOLLGATE_PLUGINS at a process's start and says what loaded; a plugin that failed is logged, never fatal. */
export async function loadPluginsAtStart(config: { TOLLGATE_PLUGINS: string; PLUGIN_CALL_TIMEOUT: number }, log: Pick<Logger, 'info' | 'error'>): Promise<void> {
  const plugins = await pluginsOf(config.TOLLGATE_PLUGINS, config.PLUGIN_CALL_TIMEOUT);
  for (const p of plugins) {
    if (p.loadError) log.error({ plugin: p.source, error: p.loadError }, 'a plugin did not load');
    else log.info({ plugin: p.id, implements: p.plugin?.implements }, 'plugin loaded');
  }
}
