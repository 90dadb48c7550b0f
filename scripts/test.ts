import { spawn, spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from './stack/processes';
import { startThrowawayStack } from './stack/throwaway';

/**
 * `npm test`: typecheck, then the same stack `npm start` runs (Postgres and the
 * Temporal dev server) on free ports in a throwaway directory, then jest with
 * any extra arguments, then teardown. Exits with jest's status.
 */
const say = (msg: string) => console.log(`[test] ${msg}`);

async function main(): Promise<number> {
  const jestArgs = process.argv.slice(2);
  if (!process.env.SKIP_TYPECHECK) {
    say('typechecking…');
    // The web console's browser code is a project of its own (DOM types, no Node ones).
    for (const project of ['tsconfig.json', 'console/tsconfig.json']) {
      const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', project], { cwd: PROJECT_ROOT, stdio: 'inherit' });
      if (tsc.status !== 0) return tsc.status ?? 1;
    }
  }

  let jest: ReturnType<typeof spawn> | undefined;
  const stack = await startThrowawayStack('tollgate-test', say);
  const keep = Boolean(process.env.KEEP_TEST_DATA);
  const teardown = async () => {
    jest?.kill('SIGTERM');
    await stack.stop({ keep });
    if (keep) say(`test data kept in ${stack.root}`);
  };
  process.on('SIGINT', () => void teardown().then(() => process.exit(130)));
  process.on('SIGTERM', () => void teardown().then(() => process.exit(143)));

  try {
    jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...jestArgs], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        TEST_DATABASE_URL: stack.databaseUrl,
        TEST_TEMPORAL_ADDRESS: stack.temporalAddress,
        TEST_TEMPORAL_CLI: stack.temporalCli,
        TEST_DATA_DIR: stack.root,
      },
    });
    const code: number = await new Promise((resolve) => jest!.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    jest = undefined;
    return code;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[test] ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
