import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * The web console's files: index.html, console.css and app.js (console/src
 * bundled by esbuild). From a checkout (console/src is there) the bundle is
 * made in memory on first use, so `npm start` and the tests serve the sources
 * as they are; the image has no sources and serves what `npm run build` wrote
 * to dist/console.
 */
export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

export const CONSOLE_FILES = { 'index.html': 'text/html; charset=utf-8', 'console.css': 'text/css; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8' } as const;
export type ConsoleFile = keyof typeof CONSOLE_FILES;

/** The project root: the nearest folder up with a package.json (this file sits at a different depth in dist/api.js). */
function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const asset = (name: ConsoleFile, body: Buffer): ConsoleAsset => ({ body, type: CONSOLE_FILES[name], etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });

/** The bundle of console/src, as the browser loads it (one ES module, no source map: nothing to leak, nothing to fetch). */
export async function bundleConsole(root: string): Promise<Buffer> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['console/src/main.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    write: false,
    logLevel: 'silent',
  });
  return Buffer.from(result.outputFiles[0]!.contents);
}

/** `npm run build`: the console as the image serves it, in <outdir>/console (each file written aside, then renamed over the old one). */
export async function writeConsole(outdir: string, root = projectRoot()): Promise<void> {
  const dir = path.join(outdir, 'console');
  mkdirSync(dir, { recursive: true });
  const aside = (name: ConsoleFile) => path.join(dir, `${name}.${process.pid}`);
  writeFileSync(aside('app.js'), await bundleConsole(root));
  copyFileSync(path.join(root, 'console', 'index.html'), aside('index.html'));
  copyFileSync(path.join(root, 'console', 'console.css'), aside('console.css'));
  for (const name of Object.keys(CONSOLE_FILES) as ConsoleFile[]) renameSync(aside(name), path.join(dir, name));
}

async function load(): Promise<Map<ConsoleFile, ConsoleAsset>> {
  const root = projectRoot();
  const fromSources = existsSync(path.join(root, 'console', 'src', 'main.ts'));
  const dir = fromSources ? path.join(root, 'console') : path.join(root, 'dist', 'console');
  const app = fromSources ? await bundleConsole(root) : readFileSync(path.join(dir, 'app.js'));
  return new Map<ConsoleFile, ConsoleAsset>([
    ['index.html', asset('index.html', readFileSync(path.join(dir, 'index.html')))],
    ['console.css', asset('console.css', readFileSync(path.join(dir, 'console.css')))],
    ['app.js', asset('app.js', app)],
  ]);
}

let loaded: Promise<Map<ConsoleFile, ConsoleAsset>> | undefined;

/** The assets, built or read once per process; a failed build is tried again at the next request. */
export function consoleAssets(): Promise<Map<ConsoleFile, ConsoleAsset>> {
  loaded ??= load().catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}
