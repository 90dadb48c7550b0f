import path from 'node:path';
import type { Logger } from '../../platform/logger';
import type { RouterOptions } from '../runtime/options';
import { safeFileName } from '../runtime/state-files';
import { locateBinary } from './binaries';
import { HaproxyProvider } from './haproxy';
import { NginxProvider } from './nginx';
import type { TrafficProvider } from './provider';
import { WebhookProvider } from './webhook';

/** Where an agent's router keeps its config, pid file, socket, log and last applied spec. */
export const routerDir = (stateDir: string, agentName: string) => path.join(stateDir, `${safeFileName(agentName)}.router`);

/**
 * The agent's router, ready: a managed one adopts the router a previous agent process left running, or starts it
 * again with the last applied spec, so traffic survives an agent restart.
 */
export async function openRouter(options: RouterOptions, stateDir: string, agentName: string, log: Logger): Promise<TrafficProvider> {
  if (options.provider === 'webhook') return new WebhookProvider({ url: options.webhookUrl!, listen: options.listen });
  const bin = options.bin ?? locateBinary(options.provider);
  if (!bin) throw new Error(`--router ${options.provider}: the ${options.provider} binary was not found on PATH or in /usr/sbin (Debian: apt-get install ${options.provider}, or pass --${options.provider}-bin)`);
  const dir = path.join(routerDir(stateDir, agentName), options.provider);
  const provider = options.provider === 'haproxy' ? new HaproxyProvider({ bin, listen: options.listen, dir, log }) : new NginxProvider({ bin, listen: options.listen, dir, log });
  await provider.open();
  return provider;
}
