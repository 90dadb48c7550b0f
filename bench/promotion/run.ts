import { runLifecycleBench } from '../lifecycle-runner';
import { startTollgate } from './api-lifecycle';
import { startBaseline } from './baseline-driver';

/**
 * `npm run bench:promotion -- --n 100 --concurrency 10 --warmup 5`
 *
 * N promotions through the API (request, two approvals, then the workflow
 * deploys and signs evidence) against N runs of a minimal workflow with the
 * same updates and activity calls. Prints lifecycles/s and approve p50/p99,
 * each as a ratio against the baseline.
 */
runLifecycleBench({ name: 'promotion', perLifecycle: '3 updates + 12 activities', startBaseline, startTollgate });
