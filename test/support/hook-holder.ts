import { trackHooksIn } from '../../agent/runtime/hook-registry';
import { runCommand } from '../../agent/hooks/hook-runner';
import { createLogger } from '../../platform/logger';

/**
 * A stand-in for an agent process in the middle of a hook: it records and runs one command exactly as the agent
 * does (its own process group, tracked in the agent's hook dir), then waits to be killed.
 *   node --import tsx test/support/hook-holder.ts <hook dir> <work dir> <command>
 */
const [dir, cwd, command] = process.argv.slice(2);
trackHooksIn(dir, createLogger('hook-holder', 'warn'));
void runCommand({ command, cwd, env: process.env, graceMs: 1_000 });
setInterval(() => undefined, 60_000);
