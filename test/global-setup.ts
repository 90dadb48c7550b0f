import path from 'node:path';
import { writeWorkflowBundle } from '../worker/workflow-bundle';

/** Bundles the workflows once per run; every test worker loads the same file. */
export default async function globalSetup(): Promise<void> {
  const root = process.env.TEST_DATA_DIR;
  if (!root || !process.env.TEST_DATABASE_URL || !process.env.TEST_TEMPORAL_ADDRESS) {
    throw new Error('Run the tests with `npm test`: it starts Postgres and Temporal and passes them in TEST_* variables.');
  }
  await writeWorkflowBundle(path.join(root, 'workflow-bundle.js'), quiet);
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
