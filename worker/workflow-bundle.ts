import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

type BundleLogger = NonNullable<Parameters<typeof bundleWorkflowCode>[0]['logger']>;

/**
 * The workflows' source folder, from the TypeScript tree (worker/) or from a
 * compiled entry (dist/): both sit one level below the project root.
 */
export const WORKFLOWS_SOURCE = path.resolve(__dirname, '..', 'workflows');

/** Bundles the workflows (webpack, several seconds of CPU) into the code a worker loads. */
export async function bundleWorkflows(logger?: BundleLogger): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_SOURCE, logger });
  return code;
}

/**
 * Bundles the workflows into `target`, written aside and renamed, so a worker
 * starting meanwhile never loads half a file. Built once (image build, each
 * `npm start`, each test run) so a worker that starts or restarts skips it.
 */
export async function writeWorkflowBundle(target: string, logger?: BundleLogger): Promise<string> {
  const code = await bundleWorkflows(logger);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(`${target}.${process.pid}`, code);
  renameSync(`${target}.${process.pid}`, target);
  return target;
}
