import path from 'node:path';

/** The stack `npm test` started for this run. */
export const testEnv = {
  databaseUrl: required('TEST_DATABASE_URL'),
  temporalAddress: required('TEST_TEMPORAL_ADDRESS'),
  temporalCli: process.env.TEST_TEMPORAL_CLI ?? 'temporal',
  dataDir: required('TEST_DATA_DIR'),
  get workflowBundle() {
    return { codePath: path.join(this.dataDir, 'workflow-bundle.js') };
  },
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\``);
  return value;
}
