import { runLifecycleBench } from '../lifecycle-runner';
import { startTollgate } from './api-lifecycle';
import { startBaseline } from './baseline-driver';

/**
 * `npm run bench:change-lifecycle -- --n 100 --concurrency 10 --warmup 5`
 *
 * N normal-change lifecycles through the API against the same number of
 * lifecycles of a minimal workflow sending the same updates and activities,
 * on one throwaway stack. Progress goes to stderr; the table and then one
 * JSON line go to stdout.
 */
runLifecycleBench({ name: 'change-lifecycle', perLifecycle: '8 updates + 9 activities', startBaseline, startTollgate });
