import { NativeConnection, Worker } from '@temporalio/worker';
import { dataConverterOf } from '../../platform/payload-keys';

/**
 * A rogue for the zero-trust tests, run as its own process: a plain Temporal worker that polls an agent's queue
 * directly — as anyone who can reach Temporal's port could — and answers every deployTarget with `succeeded`
 * without claiming anything or running a hook. ROGUE_DATA_DIR gives it the payload key too (the worst case: it
 * can read the task); without it the task's input is ciphertext it cannot even decode.
 */
async function main(): Promise<void> {
  const address = process.env.ROGUE_TEMPORAL_ADDRESS!;
  const taskQueue = process.env.ROGUE_TASK_QUEUE!;
  const dataDir = process.env.ROGUE_DATA_DIR;
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    ...(dataDir ? { dataConverter: dataConverterOf({ DATA_DIR: dataDir }) } : {}),
    activities: {
      async deployTarget() {
        console.log('rogue answered a deployTarget');
        const now = new Date().toISOString();
        return { outcome: 'succeeded', exitCode: 0, healthChecks: 1, error: null, alreadyClaimed: false, startedAt: now, finishedAt: now };
      },
    },
  });
  console.log('rogue polling');
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
