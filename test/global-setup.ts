import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** Bundles the workflows once per run; every test worker loads the same file. */
export default async function globalSetup(): Promise<void> {
  const root = process.env.TEST_DATA_DIR;
  if (!root || !process.env.TEST_DATABASE_URL || !process.env.TEST_TEMPORAL_ADDRESS) {
    throw new Error('Run the tests with `npm test`: it starts Postgres and Temporal and passes them in TEST_* variables.');
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quiet });
  // Written aside and renamed, so a jest run sharing this directory never loads a half-written bundle.
  const target = path.join(root, 'workflow-bundle.js');
  writeFileSync(`${target}.${process.pid}`, code);
  renameSync(`${target}.${process.pid}`, target);
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
