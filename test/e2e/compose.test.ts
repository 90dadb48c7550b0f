import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../platform/config';
import { ENTRIES } from '../../scripts/build';

/**
 * The container deployment (Dockerfile, docker-compose.yml, the Postgres init
 * SQL) checked against the code it packages, without a Docker engine: entry
 * points exist and are in the image, every file the entry points import is
 * copied, and the environment compose sets is configuration Tollgate accepts.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const exists = (rel: string) => existsSync(path.join(ROOT, rel));

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: Array<string | { source?: string; target?: string }>;
  healthcheck?: { test?: string | string[] };
  ports?: string[];
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const APP_SERVICES = ['api', 'worker'] as const;

/** Compose's variable substitution with an empty shell (what `docker compose config` gives without a .env). */
function interpolate(value: string, shell: Env = {}): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, name, op, arg, bare) => {
    if (match === '$$') return '$';
    if (bare) return shell[bare] ?? '';
    const v = shell[name];
    const unset = op?.startsWith(':') ? !v : v === undefined;
    if (op === ':-' || op === '-') return unset ? arg : v;
    if (op === ':?' || op === '?') {
      if (unset) throw new Error(`compose requires ${name}: ${arg}`);
      return v;
    }
    return v ?? '';
  });
}

function environmentOf(service: Service): Env {
  const env: Env = {};
  const raw = service.environment ?? {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const i = entry.indexOf('=');
      if (i > 0) env[entry.slice(0, i)] = interpolate(entry.slice(i + 1));
    }
  } else {
    for (const [k, v] of Object.entries(raw)) if (v !== null && v !== undefined) env[k] = interpolate(String(v));
  }
  return env;
}

const commandOf = (service: Service): string[] =>
  service.command === undefined ? [] : Array.isArray(service.command) ? service.command.map(String) : String(service.command).trim().split(/\s+/);

/** `node [flags] dist/<name>.js` → the build's entry name; undefined for any other command. */
function distEntry(argv: string[]): string | undefined {
  if (argv[0] !== 'node') return undefined;
  return argv.slice(1).find((a) => !a.startsWith('-'))?.match(/^dist\/([\w-]+)\.js$/)?.[1];
}

const dependsOn = (service: Service): string[] =>
  service.depends_on === undefined ? [] : Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on);

/** The keys of the zod schema in platform/config.ts (it is not exported). */
function configKeys(): Set<string> {
  const text = read('platform/config.ts');
  const start = text.indexOf('const schema = z.object({');
  const end = text.indexOf('\n});', start);
  expect(start).toBeGreaterThan(-1);
  const keys = [...text.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
  expect(keys.length).toBeGreaterThan(10);
  return new Set(keys);
}

// ---------------------------------------------------------------- Dockerfile

interface Dockerfile {
  from: string[];
  /** Stage names (FROM … AS name), in order; the last is the image. */
  stages: string[];
  copies: Array<{ stage: number; from?: string; sources: string[]; dest: string }>;
  runs: Array<{ stage: number; command: string }>;
  cmd?: string[];
  user?: string;
  healthcheck?: string;
  env: Env;
}

function parseDockerfile(text: string): Dockerfile {
  // Join continuation lines; drop comments (also those inside a continuation).
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const instructions: string[] = [];
  let current = '';
  for (const line of lines) {
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ');
      continue;
    }
    current += line;
    if (current.trim()) instructions.push(current.trim());
    current = '';
  }
  const result: Dockerfile = { from: [], stages: [], copies: [], runs: [], env: {} };
  const stage = () => result.from.length - 1;
  for (const ins of instructions) {
    const [keyword, ...rest] = ins.split(/\s+/);
    const args = rest.join(' ');
    switch (keyword.toUpperCase()) {
      case 'FROM':
        result.from.push(rest[0]);
        result.stages.push(rest[1]?.toUpperCase() === 'AS' ? rest[2] : String(stage()));
        break;
      case 'RUN':
        result.runs.push({ stage: stage(), command: args });
        break;
      case 'COPY':
      case 'ADD': {
        const flags = rest.filter((a) => a.startsWith('--'));
        const paths = rest.filter((a) => !a.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        result.copies.push({ stage: stage(), from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] });
        break;
      }
      case 'CMD':
        result.cmd = args.startsWith('[') ? JSON.parse(args) : args.split(/\s+/);
        break;
      case 'USER':
        result.user = rest[0];
        break;
      case 'HEALTHCHECK':
        result.healthcheck = args;
        break;
      case 'ENV':
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) result.env[m[1]] = m[2].replace(/^"|"$/g, '');
        break;
    }
  }
  return result;
}

const dockerfile = parseDockerfile(exists('Dockerfile') ? read('Dockerfile') : '');
const IMAGE = () => dockerfile.from.length - 1;
const stageIndex = (name: string) => dockerfile.stages.indexOf(name);
/** Repo paths a stage (the image by default; any stage for 'all') receives from the build context. */
const copiedFromContext = (stage: number | 'all' = IMAGE()) => {
  // A stage built FROM another starts with that one's files.
  const lineage = (i: number): number[] => (i < 0 ? [] : [i, ...lineage(stageIndex(dockerfile.from[i]))]);
  const stages = stage === 'all' ? undefined : lineage(stage);
  return dockerfile.copies.filter((c) => !c.from && (!stages || stages.includes(c.stage))).flatMap((c) => c.sources.map((s) => path.posix.normalize(s)));
};
const copiedInto = (stage: number, rel: string) => copiedFromContext(stage).some((src) => src === rel || rel.startsWith(`${src.replace(/\/$/, '')}/`));
const inImage = (rel: string) => copiedInto(IMAGE(), rel);

/** Every repo file an entry point loads, following relative imports, require.resolve and dynamic imports. */
function localModuleGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const resolveSpec = (fromFile: string, spec: string): string | undefined => {
    const base = path.posix.join(path.posix.dirname(fromFile), spec);
    return [base, `${base}.ts`, `${base}.tsx`, `${base}.json`, `${base}/index.ts`].find((c) => exists(c) && statSync(path.join(ROOT, c)).isFile());
  };
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = read(file);
    const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require(?:\.resolve)?\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]);
    for (const spec of specs) {
      const target = resolveSpec(file, spec);
      if (!target) throw new Error(`${file} imports ${spec}, which does not resolve to a file`);
      visit(target);
    }
  };
  visit(entry);
  return seen;
}

/** Top-level patterns from .dockerignore (enough for this repo's simple list). */
function dockerignored(rel: string): boolean {
  if (!exists('.dockerignore')) return false;
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
  const toRegex = (p: string) =>
    new RegExp(`^${p.replace(/^\//, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(?:/.*)?$`);
  return patterns.some((p) => toRegex(p).test(rel));
}

// ---------------------------------------------------------------- tests

describe('docker-compose.yml', () => {
  test('has the production services and no others without an entry point', () => {
    expect(Object.keys(services).sort()).toEqual(['agent', 'api', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  });

  test('every app service runs `node dist/<entry>.js`, an entry the build (scripts/build.ts) makes from a source that exists', () => {
    const entries = Object.entries(services)
      .map(([name, s]) => [name, distEntry(commandOf(s))] as const)
      .filter((e): e is readonly [string, string] => e[1] !== undefined);
    expect(Object.fromEntries(entries)).toEqual({ agent: 'agent', api: 'api', worker: 'worker' });
    for (const [, entry] of entries) expect(exists(ENTRIES[entry as keyof typeof ENTRIES])).toBe(true);
    for (const s of Object.values(services)) expect(commandOf(s)).not.toContain('tsx');
  });

  test('api and worker run the image built from this Dockerfile', () => {
    const images = new Set<string>();
    for (const name of APP_SERVICES) {
      const s = services[name];
      const context = typeof s.build === 'string' ? s.build : s.build?.context;
      const dockerfileName = typeof s.build === 'object' ? (s.build.dockerfile ?? 'Dockerfile') : 'Dockerfile';
      expect({ name, context, dockerfileName }).toEqual({ name, context: '.', dockerfileName: 'Dockerfile' });
      if (s.image) images.add(s.image);
    }
    expect(images.size).toBeLessThanOrEqual(1);
  });

  test('api and worker point at the compose Postgres (tollgate database) and Temporal', () => {
    for (const name of APP_SERVICES) {
      const env = environmentOf(services[name]);
      expect(env.DATABASE_URL).toBeDefined();
      expect(env.TEMPORAL_ADDRESS).toBeDefined();
      const db = new URL(env.DATABASE_URL);
      expect(db.protocol).toBe('postgres:');
      expect(services[db.hostname]).toBeDefined();
      expect(db.pathname).toBe('/tollgate');
      const [host, port] = env.TEMPORAL_ADDRESS.split(':');
      expect(services[host]).toBeDefined();
      expect(port).toBe('7233');
      expect(dependsOn(services[name])).toEqual(expect.arrayContaining([db.hostname, host]));
    }
  });

  test('every depends_on names an existing service', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of dependsOn(s)) expect({ service: name, dependsOn: dep, exists: dep in services }).toEqual({ service: name, dependsOn: dep, exists: true });
    }
  });

  test('api and worker set only variables platform/config.ts knows', () => {
    const known = configKeys();
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(environmentOf(services[name])).filter((k) => !known.has(k));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
  });

  test('the compose environment is a configuration loadConfig accepts', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-compose-'));
    try {
      const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'test' }] });
      for (const name of APP_SERVICES) {
        const env = environmentOf(services[name]);
        // As written (AUTH_* left empty for the operator) and with a key set filled in.
        expect(() => loadConfig({ ...env, DATA_DIR: dataDir })).not.toThrow();
        const config = loadConfig({ ...env, DATA_DIR: dataDir, AUTH_JWKS: jwks });
        expect(config.DATABASE_URL).toBe(env.DATABASE_URL);
        expect(config.TEMPORAL_ADDRESS).toBe(env.TEMPORAL_ADDRESS);
        expect(config.AUTH_JWKS?.keys).toHaveLength(1);
      }
      expect(loadConfig({ ...environmentOf(services.api), DATA_DIR: dataDir }).PORT).toBe(3000);
      expect(loadConfig({ ...environmentOf(services.worker), DATA_DIR: dataDir }).WORKER_METRICS_PORT).toBe(9464);
      // The operator's own key source goes through the same validation.
      expect(() => loadConfig({ ...environmentOf(services.api), DATA_DIR: dataDir, AUTH_JWKS_URL: 'not a url' })).toThrow(/AUTH_JWKS_URL/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('the api publishes its port and the worker has its own health check (the image one probes the API)', () => {
    expect(services.api.ports).toContain('3000:3000');
    expect(JSON.stringify(services.worker.healthcheck?.test)).toContain('/metrics');
  });

  test('named volumes are declared, and the api keeps its DATA_DIR on one', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, s] of Object.entries(services)) {
      for (const v of (s.volumes ?? []).map(String)) {
        const source = v.split(':')[0];
        if (!/^[./~]/.test(source)) expect({ service: name, volume: source, declared: declared.includes(source) }).toEqual({ service: name, volume: source, declared: true });
      }
    }
    const dataDir = environmentOf(services.api).DATA_DIR ?? dockerfile.env.DATA_DIR;
    expect((services.api.volumes ?? []).map((v) => String(v).split(':')[1])).toContain(dataDir);
  });

  test('Temporal runs auto-setup 1.29.x on the compose Postgres; the UI is pinned and points at it', () => {
    const temporal = services.temporal;
    expect(temporal.image).toMatch(/^temporalio\/auto-setup:1\.29\.\d+$/);
    const env = environmentOf(temporal);
    expect(env.DB).toBe('postgres12');
    expect(services[env.POSTGRES_SEEDS]).toBeDefined();
    expect(env.DB_PORT).toBe('5432');
    expect(env.POSTGRES_USER).toBe(environmentOf(services.postgres).POSTGRES_USER);
    expect(env.POSTGRES_PWD).toBe(environmentOf(services.postgres).POSTGRES_PASSWORD);
    expect(dependsOn(temporal)).toContain('postgres');
    const ui = services['temporal-ui'];
    expect(ui.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(environmentOf(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services.postgres.image).toMatch(/^postgres:16/);
    expect(JSON.stringify(services.postgres.healthcheck?.test)).toContain('pg_isready');
  });

  test('Postgres mounts the init SQL that creates the tollgate database', () => {
    const mount = (services.postgres.volumes ?? []).map(String).find((v) => v.split(':')[1] === '/docker-entrypoint-initdb.d');
    expect(mount).toBeDefined();
    const hostDir = mount!.split(':')[0].replace(/^\.\//, '');
    expect(hostDir).toBe('db/docker-init');
    // The postgres image runs the *.sql files of that directory in name order.
    const scripts = readdirSync(path.join(ROOT, hostDir)).filter((f) => f.endsWith('.sql'));
    expect(scripts).toContain('01-create-tollgate-db.sql');
    expect(scripts.some((f) => /CREATE DATABASE\s+"?tollgate"?/i.test(read(path.posix.join(hostDir, f))))).toBe(true);
  });
});

describe('Dockerfile', () => {
  test('exists and builds on node 20 bookworm-slim (glibc for the Temporal worker)', () => {
    expect(exists('Dockerfile')).toBe(true);
    expect(dockerfile.from.length).toBeGreaterThan(0);
    // A stage built FROM an earlier stage inherits its base.
    for (const base of dockerfile.from.filter((b) => !dockerfile.stages.includes(b))) expect(base).toBe('node:20-bookworm-slim');
    expect(read('Dockerfile')).toMatch(/npm ci --omit=dev/);
  });

  test('a build stage compiles with scripts/build.ts; the image takes its dist/ and runs the API with node, not tsx', () => {
    const build = stageIndex('build');
    expect(build).toBeGreaterThanOrEqual(0);
    expect(dockerfile.runs.filter((r) => r.stage === build).map((r) => r.command)).toContain('node --import tsx scripts/build.ts');
    expect(dockerfile.copies).toContainEqual(expect.objectContaining({ stage: IMAGE(), from: 'build', sources: ['/app/dist'] }));
    expect(dockerfile.cmd).toEqual(['node', '--enable-source-maps', 'dist/api.js']);
    expect(distEntry(dockerfile.cmd!)).toBe('api');
    // The worker loads the bundle the build made instead of bundling at start.
    expect(dockerfile.env.WORKFLOW_BUNDLE).toBe('/app/dist/workflow-bundle.js');
    expect(dockerfile.runs.filter((r) => r.stage === IMAGE()).map((r) => r.command).join('\n')).not.toMatch(/tsx|build/);
  });

  test('every path it COPYs from the build context exists and is not excluded by .dockerignore', () => {
    const sources = copiedFromContext('all');
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect({ src, exists: exists(src) }).toEqual({ src, exists: true });
      expect({ src, ignored: dockerignored(src) }).toEqual({ src, ignored: false });
    }
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json']));
  });

  test('the build stage has every file the entries and the workflows load; the image has the migrations', () => {
    const build = stageIndex('build');
    const missing = new Set<string>();
    for (const entry of [...Object.values(ENTRIES), 'scripts/build.ts', 'workflows/index.ts']) {
      for (const file of localModuleGraph(entry)) if (!copiedInto(build, file) || dockerignored(file)) missing.add(file);
    }
    expect([...missing]).toEqual([]);
    // platform/db.ts reads SQL migrations from ../db/migrations at run time (dist/ is one level down, as platform/ is).
    expect(inImage('db/migrations/001_platform.sql')).toBe(true);
  });

  test('runs as a non-root user with a writable DATA_DIR and an API health check', () => {
    expect(dockerfile.user).toBeDefined();
    expect(['root', '0']).not.toContain(dockerfile.user);
    expect(path.posix.isAbsolute(dockerfile.env.DATA_DIR ?? '')).toBe(true);
    expect(dockerfile.healthcheck).toContain('/api/v1/health');
    expect(dockerfile.healthcheck).toContain('fetch(');
  });
});

describe('.dockerignore', () => {
  test('keeps local state, dependencies and VCS out of the build context', () => {
    for (const p of ['node_modules', '.data', '.tools', '.git', '.test-data', 'test']) expect({ p, ignored: dockerignored(p) }).toEqual({ p, ignored: true });
  });
});
