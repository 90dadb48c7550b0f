import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { writeConsole } from '../api/modules/console/assets';
import { writeWorkflowBundle } from '../worker/workflow-bundle';

type BundleLogger = Parameters<typeof writeWorkflowBundle>[1];

/**
 * `npm run build`: the processes as plain JavaScript in dist/ (what the image
 * runs with `node`, no TypeScript compiler at run time) and the workflow
 * bundle the worker loads (WORKFLOW_BUNDLE=dist/workflow-bundle.js), so
 * neither a start nor a restart compiles anything.
 *
 * Each entry is one file of Tollgate's own code; packages stay in
 * node_modules. The files sit one level below the project root, as the
 * sources do, so paths the code finds from its own folder (db/migrations,
 * workflows) are the same in both.
 */
export const ENTRIES = {
  api: 'api/server.ts',
  worker: 'worker/orchestrator.ts',
  agent: 'worker/agent.ts',
  token: 'scripts/token.ts',
  migrate: 'scripts/migrate.ts',
  'rotate-integration-key': 'scripts/rotate-integration-key.ts',
  'rotate-evidence-key': 'scripts/rotate-evidence-key.ts',
  tollgate: 'cli/tollgate.ts',
} as const;

const ROOT = path.resolve(__dirname, '..');

/**
 * Builds into `outdir`, each file written aside and renamed over the old one:
 * `npm start` rebuilds while processes of another start may be (re)starting
 * from the same files, and none of them may find one missing or half written.
 */
export async function buildDist(outdir = path.join(ROOT, 'dist'), logger?: BundleLogger): Promise<void> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.entries(ENTRIES).map(([out, entry]) => ({ in: entry, out })),
    outdir,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    // Stack traces name functions as in the source; logs and errors stay readable.
    keepNames: true,
    logLevel: 'warning',
    metafile: true,
    write: false,
  });
  // An entry runs its main() when `require.main === module`; inside another entry's file that test would pass too.
  for (const [out, entry] of Object.entries(ENTRIES)) {
    const output = result.metafile.outputs[path.relative(ROOT, path.join(outdir, `${out}.js`))];
    const others = Object.values(ENTRIES).filter((e) => e !== entry && output && e in output.inputs);
    if (others.length) throw new Error(`dist/${out}.js would contain the entry ${others.join(', ')} and run its main() too`);
  }
  mkdirSync(outdir, { recursive: true });
  for (const file of result.outputFiles) {
    writeFileSync(`${file.path}.${process.pid}`, file.contents);
    renameSync(`${file.path}.${process.pid}`, file.path);
  }
  await writeWorkflowBundle(path.join(outdir, 'workflow-bundle.js'), logger);
  await writeConsole(outdir);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const started = Date.now();
  await buildDist(values.outdir ? path.resolve(values.outdir) : undefined);
  console.log(`built ${Object.keys(ENTRIES).map((e) => `dist/${e}.js`).join(', ')}, dist/workflow-bundle.js and dist/console in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
