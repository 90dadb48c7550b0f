import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * Workflow code must stay deterministic: workflows/ imports only
 * @temporalio/workflow (and its pure common types), async-mutex, domain/ and
 * its own files, and activities/ only as types. domain/ is pure: no I/O
 * modules either, since workflows import it. Within domain/, each module's
 * folder stands on the shared root files and never on another module, so
 * modules can be added (or removed) without touching each other's rules.
 *
 * The agent is a deployable of its own that reaches Tollgate only through the
 * API with its own credential: agent/ stands on domain/, the logger's type and
 * its own files, and only its entry point (worker/agent.ts) and the tests
 * import it. store/ is SQL that several entry points share: it stands on
 * domain/ and platform/ only, and starts or signals no workflow.
 *
 * dispatch/ starts and signals workflows from outside them, for the API and
 * the activities alike: it stands on domain/, platform/, store/ and the
 * workflows' message definitions, never on a workflow's code, the API or an
 * activity. An API module (api/modules/<m>/) reaches another module only
 * through that module's index.ts; what two modules share lives in api/ or
 * dispatch/, so a module can be moved or removed without breaking another.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const FORBIDDEN = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'pg', 'pino', 'prom-client', 'jose', 'hono']);
const WORKFLOW_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common', 'async-mutex']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Every import/export-from/require in a file, with whether it is type-only. */
export function importsOf(source: string): Array<{ specifier: string; typeOnly: boolean }> {
  const found: Array<{ specifier: string; typeOnly: boolean }> = [];
  const statement = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(statement)) {
    const specifier = m[3] ?? m[4] ?? m[5] ?? m[6];
    found.push({ specifier, typeOnly: Boolean(m[2]) });
  }
  return found;
}

function violations(file: string, allow: (specifier: string, typeOnly: boolean, resolved?: string) => boolean): string[] {
  return importsOf(readFileSync(file, 'utf8'))
    .filter(({ specifier, typeOnly }) => {
      const resolved = specifier.startsWith('.') ? path.resolve(path.dirname(file), specifier) : undefined;
      return !allow(specifier, typeOnly, resolved);
    })
    .map(({ specifier }) => `${path.relative(ROOT, file)} imports ${specifier}`);
}

const inside = (resolved: string | undefined, dir: string) => resolved !== undefined && (resolved + path.sep).startsWith(path.join(ROOT, dir) + path.sep);

// rrule is pure calculation (RFC 5545 recurrences for freeze windows): no clock, no I/O. @bufbuild/cel evaluates
// CEL over the bindings it is given: no clock, no I/O, no eval; @bufbuild/protobuf/wkt gives it timestamps.
const DOMAIN_PACKAGES = new Set(['zod', '@temporalio/common', 'rrule', '@bufbuild/cel', '@bufbuild/protobuf/wkt']);

function workflowImportAllowed(specifier: string, typeOnly: boolean, resolved?: string): boolean {
  if (resolved) return inside(resolved, 'workflows') || inside(resolved, 'domain') || (typeOnly && inside(resolved, 'activities'));
  return WORKFLOW_PACKAGES.has(specifier) || (typeOnly && !FORBIDDEN.has(specifier));
}

function domainImportAllowed(specifier: string, _typeOnly: boolean, resolved?: string): boolean {
  return resolved ? inside(resolved, 'domain') : DOMAIN_PACKAGES.has(specifier);
}

/** The module a domain/ path belongs to (domain/changes/… → 'changes'); undefined for the shared root files. */
function domainModuleOf(file: string): string | undefined {
  const [first, ...rest] = path.relative(path.join(ROOT, 'domain'), file).split(path.sep);
  return rest.length ? first : undefined;
}

/** Inside domain/: a module imports its own files and the root files; a root file imports no module. */
function domainCrossingAllowed(file: string, resolved?: string): boolean {
  if (!inside(resolved, 'domain')) return true;
  const target = domainModuleOf(resolved!);
  return target === undefined || target === domainModuleOf(file);
}

// No database and no Temporal access: the agent holds an API credential and nothing else.
const AGENT_FORBIDDEN_PACKAGES = new Set(['pg', '@temporalio/client', '@temporalio/worker']);
const LOGGER = path.join(ROOT, 'platform', 'logger');

/** The agent reports its version from the package file (a compiled agent has no source tree to read it from). */
const PACKAGE_FILE = path.join(ROOT, 'package.json');

function agentImportAllowed(specifier: string, typeOnly: boolean, resolved?: string): boolean {
  if (resolved) return inside(resolved, 'agent') || inside(resolved, 'domain') || resolved === PACKAGE_FILE || (typeOnly && resolved.replace(/\.ts$/, '') === LOGGER);
  return !AGENT_FORBIDDEN_PACKAGES.has(specifier);
}

function storeImportAllowed(specifier: string, _typeOnly: boolean, resolved?: string): boolean {
  if (resolved) return inside(resolved, 'store') || inside(resolved, 'domain') || inside(resolved, 'platform');
  return !specifier.startsWith('@temporalio/');
}

/** dispatch/ may name a workflow's messages (types, ids, signals), never the workflow itself. */
function dispatchImportAllowed(specifier: string, _typeOnly: boolean, resolved?: string): boolean {
  if (resolved) {
    const messages = inside(resolved, 'workflows') && path.basename(resolved).replace(/\.ts$/, '') === 'messages';
    return messages || inside(resolved, 'dispatch') || inside(resolved, 'domain') || inside(resolved, 'platform') || inside(resolved, 'store');
  }
  // No HTTP context: the activities call it too.
  return specifier !== 'hono' && !specifier.startsWith('@hono/');
}

const MODULES = path.join(ROOT, 'api', 'modules');

/** The module an api/modules/ path belongs to (api/modules/targets/… → 'targets'); undefined outside a module's folder. */
function apiModuleOf(file: string): string | undefined {
  if (!inside(file, path.join('api', 'modules'))) return undefined;
  const [first, ...rest] = path.relative(MODULES, file).split(path.sep);
  return rest.length ? first : undefined;
}

/** A file of api/modules/<m>/ imports another module's folder only through its index.ts (the folder itself). */
function apiModuleCrossingAllowed(file: string, resolved?: string): boolean {
  if (!inside(resolved, path.join('api', 'modules'))) return true;
  const target = path.relative(MODULES, resolved!).replace(/\.ts$/, '').split(path.sep);
  const own = apiModuleOf(file);
  if (target[0] === own || own === undefined) return true;
  return target.length === 1 || (target.length === 2 && target[1] === 'index');
}

/** Outside agent/ and the tests, only the agent's entry point may import agent/. */
/** The agent is its own deployable: no other deployable (API, worker, store …) may import it. Benches and the dev stack's scripts are no deployable: they run the agent's router code as tests do. */
function agentEntryAllowed(file: string, resolved?: string): boolean {
  return !inside(resolved, 'agent') || file === path.join(ROOT, 'worker', 'agent.ts') || inside(file, 'bench') || inside(file, 'scripts');
}

/** Every folder the typecheck covers (tsconfig.json `include`), but agent/ itself and test/. */
function sourceOutsideAgent(): string[] {
  const { include } = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
  return include.filter((dir) => dir !== 'agent' && dir !== 'test').flatMap((dir) => files(path.join(ROOT, dir)));
}

test('workflows/ imports only the workflow SDK, domain/, its own files, and activity types', () => {
  expect(files(path.join(ROOT, 'workflows')).flatMap((file) => violations(file, workflowImportAllowed))).toEqual([]);
});

test('domain/ is pure: no Node built-ins, no I/O packages, nothing from the layers above it', () => {
  expect(files(path.join(ROOT, 'domain')).flatMap((file) => violations(file, domainImportAllowed))).toEqual([]);
});

test('domain/<module> never imports domain/<other module>; the root files are shared and import no module', () => {
  expect(files(path.join(ROOT, 'domain')).flatMap((file) => violations(file, (_specifier, _typeOnly, resolved) => domainCrossingAllowed(file, resolved)))).toEqual([]);
});

test('agent/ imports only domain/, the logger type, package.json and its own files: no API, store, workflow or orchestrator code', () => {
  expect(files(path.join(ROOT, 'agent')).flatMap((file) => violations(file, agentImportAllowed))).toEqual([]);
});

test('store/ imports only domain/, platform/ and its own files, and no Temporal', () => {
  expect(files(path.join(ROOT, 'store')).flatMap((file) => violations(file, storeImportAllowed))).toEqual([]);
});

test('dispatch/ imports only domain/, platform/, store/, workflow message files and its own files', () => {
  expect(files(path.join(ROOT, 'dispatch')).flatMap((file) => violations(file, dispatchImportAllowed))).toEqual([]);
});

test('a file of api/modules/<m>/ imports another module only through its index.ts', () => {
  const moduleFiles = files(MODULES).filter((file) => apiModuleOf(file) !== undefined);
  expect(moduleFiles.flatMap((file) => violations(file, (_specifier, _typeOnly, resolved) => apiModuleCrossingAllowed(file, resolved)))).toEqual([]);
});

test('nothing but worker/agent.ts (and the tests, benches and dev scripts) imports agent/', () => {
  expect(sourceOutsideAgent().flatMap((file) => violations(file, (_specifier, _typeOnly, resolved) => agentEntryAllowed(file, resolved)))).toEqual([]);
});

test('the rules refuse what they must', () => {
  expect(importsOf("import { Pool } from 'pg';\nimport type { X } from '../activities';\nconst fs = require('node:fs');")).toEqual([
    { specifier: 'pg', typeOnly: false },
    { specifier: '../activities', typeOnly: true },
    { specifier: 'node:fs', typeOnly: false },
  ]);
  const activities = path.join(ROOT, 'activities', 'index');
  expect(workflowImportAllowed('pg', false)).toBe(false);
  expect(workflowImportAllowed('node:crypto', false)).toBe(false);
  expect(workflowImportAllowed('crypto', true)).toBe(false);
  expect(workflowImportAllowed('../activities', false, activities)).toBe(false);
  expect(workflowImportAllowed('../activities', true, activities)).toBe(true);
  expect(workflowImportAllowed('../../platform/db', true, path.join(ROOT, 'platform', 'db'))).toBe(false);
  expect(domainImportAllowed('node:fs', false)).toBe(false);
  expect(domainImportAllowed('../api/errors', false, path.join(ROOT, 'api', 'errors'))).toBe(false);
  const changeRules = path.join(ROOT, 'domain', 'changes', 'commands.ts');
  expect(domainCrossingAllowed(changeRules, path.join(ROOT, 'domain', 'changes', 'model'))).toBe(true);
  expect(domainCrossingAllowed(changeRules, path.join(ROOT, 'domain', 'draft'))).toBe(true);
  expect(domainCrossingAllowed(changeRules, path.join(ROOT, 'domain', 'promotions', 'model'))).toBe(false);
  expect(domainCrossingAllowed(path.join(ROOT, 'domain', 'actor.ts'), path.join(ROOT, 'domain', 'changes', 'model'))).toBe(false);
  const at = (...parts: string[]) => path.join(ROOT, ...parts);
  expect(agentImportAllowed('../../domain/deployments/model', false, at('domain', 'deployments', 'model'))).toBe(true);
  expect(agentImportAllowed('../runtime/retry', false, at('agent', 'runtime', 'retry'))).toBe(true);
  expect(agentImportAllowed('../../platform/logger', true, at('platform', 'logger'))).toBe(true);
  expect(agentImportAllowed('../../platform/logger', false, at('platform', 'logger'))).toBe(false);
  expect(agentImportAllowed('../../platform/db', true, at('platform', 'db'))).toBe(false);
  expect(agentImportAllowed('../../api/errors', true, at('api', 'errors'))).toBe(false);
  expect(agentImportAllowed('../../store/incidents', false, at('store', 'incidents'))).toBe(false);
  expect(agentImportAllowed('../../workflows/deployments/messages', true, at('workflows', 'deployments', 'messages'))).toBe(false);
  expect(agentImportAllowed('../../activities/deployments', true, at('activities', 'deployments'))).toBe(false);
  expect(agentImportAllowed('@temporalio/client', false)).toBe(false);
  expect(agentImportAllowed('pg', true)).toBe(false);
  expect(agentImportAllowed('ws', false)).toBe(true);
  expect(storeImportAllowed('../platform/db', true, at('platform', 'db'))).toBe(true);
  expect(storeImportAllowed('../domain/incidents/model', true, at('domain', 'incidents', 'model'))).toBe(true);
  expect(storeImportAllowed('../workflows/incidents/messages', false, at('workflows', 'incidents', 'messages'))).toBe(false);
  expect(storeImportAllowed('../api/errors', true, at('api', 'errors'))).toBe(false);
  expect(storeImportAllowed('../activities/incidents/bulk', true, at('activities', 'incidents', 'bulk'))).toBe(false);
  expect(storeImportAllowed('@temporalio/client', true)).toBe(false);
  expect(dispatchImportAllowed('../workflows/incidents/messages', false, at('workflows', 'incidents', 'messages'))).toBe(true);
  expect(dispatchImportAllowed('../workflows/promotions/promotion', false, at('workflows', 'promotions', 'promotion'))).toBe(false);
  expect(dispatchImportAllowed('../store/incidents', false, at('store', 'incidents'))).toBe(true);
  expect(dispatchImportAllowed('../platform/temporal', true, at('platform', 'temporal'))).toBe(true);
  expect(dispatchImportAllowed('../api/context', true, at('api', 'context'))).toBe(false);
  expect(dispatchImportAllowed('../activities/incidents/bulk', true, at('activities', 'incidents', 'bulk'))).toBe(false);
  expect(dispatchImportAllowed('hono', true)).toBe(false);
  expect(dispatchImportAllowed('@temporalio/client', false)).toBe(true);
  const targetRoutes = at('api', 'modules', 'targets', 'targets.routes.ts');
  expect(apiModuleCrossingAllowed(targetRoutes, at('api', 'modules', 'targets', 'targets.queries'))).toBe(true);
  expect(apiModuleCrossingAllowed(targetRoutes, at('api', 'inventory-responses'))).toBe(true);
  expect(apiModuleCrossingAllowed(targetRoutes, at('api', 'modules', 'environments'))).toBe(true);
  expect(apiModuleCrossingAllowed(targetRoutes, at('api', 'modules', 'environments', 'index'))).toBe(true);
  expect(apiModuleCrossingAllowed(targetRoutes, at('api', 'modules', 'environments', 'environments.responses'))).toBe(false);
  expect(apiModuleCrossingAllowed(at('api', 'modules', 'index.ts'), at('api', 'modules', 'targets'))).toBe(true);
  expect(agentEntryAllowed(at('worker', 'agent.ts'), at('agent', 'runtime', 'session'))).toBe(true);
  expect(agentEntryAllowed(at('worker', 'orchestrator.ts'), at('agent', 'runtime', 'session'))).toBe(false);
  expect(agentEntryAllowed(at('api', 'server.ts'), at('agent', 'runtime', 'api-client'))).toBe(false);
  expect(agentEntryAllowed(at('activities', 'index.ts'), at('activities', 'deployments'))).toBe(true);
});
