import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../domain/duration';
import { ROUTER_LISTEN } from '../../domain/deployments/requests';
import { ROUTER_PROVIDERS, type RouterProvider } from '../../domain/traffic';

/** A bad flag or a missing setting: printed as one line, with the usage a `--help` away. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface AgentOptions {
  apiUrl: string;
  /** The registration token: needed to register, not to run on a saved credential. */
  token: string | undefined;
  /** Where the token came from: `flag` (--token) is readable by every user of the host (ps), so it is warned about. */
  tokenSource: 'env' | 'file' | 'flag' | undefined;
  /** Take the named targets from the online agents that own them (the token needs agent:manage). */
  takeOver: boolean;
  name: string;
  environmentId: string | undefined;
  labels: Record<string, string>;
  /** Target names to take over at registration; absent: the API assigns unassigned targets matching the labels. */
  targets: string[] | undefined;
  stateDir: string;
  heartbeatIntervalMs: number | undefined;
  /** The traffic router the agent drives for its environment's rollouts; absent: none. */
  router: RouterOptions | undefined;
  /** Run the commands of template `script` steps on this host (off unless the operator opts in). */
  allowScripts: boolean;
  help: boolean;
}

export interface RouterOptions {
  provider: RouterProvider;
  /** host:port where clients reach the route (the router's frontend). */
  listen: string;
  webhookUrl?: string;
  /** The router's binary; absent: found on PATH or in /usr/sbin. */
  bin?: string;
}

export const AGENT_USAGE = `Usage: TOLLGATE_AGENT_TOKEN=TOKEN npm run agent -- --api URL --name NAME --environment ENV_ID [options]

  The registration token (needed only to register) comes from TOLLGATE_AGENT_TOKEN or --token-file PATH.
  A token registers a given agent name once: a deleted or revoked agent needs a new token to be registered again.

  --api URL                  Tollgate API base URL, e.g. http://127.0.0.1:3000      (TOLLGATE_API_URL)
  --token-file PATH          read the registration token from this file             (TOLLGATE_AGENT_TOKEN_FILE)
  --token TOKEN              the registration token itself; visible to every user of
                             the host in ps, so prefer the two above                 (TOLLGATE_AGENT_TOKEN)
  --name NAME                the agent's name, unique in the tenant                  (TOLLGATE_AGENT_NAME)
  --environment ENV_ID       the environment whose targets it deploys                (TOLLGATE_ENVIRONMENT_ID)
  --labels k=v[,k=v]         the agent's labels; without --targets it takes over the
                             unassigned targets carrying all of them                 (TOLLGATE_AGENT_LABELS)
  --targets a,b              names of the targets to take over                       (TOLLGATE_AGENT_TARGETS)
  --take-over                take named targets from the online agents owning them
                             (the token needs agent:manage; audited)                 (TOLLGATE_AGENT_TAKE_OVER=1)
  --state-dir DIR            where the credential, target records and work dirs live
                             (default: $DATA_DIR/agents, else .data/agents)          (TOLLGATE_AGENT_STATE_DIR)
  --heartbeat-interval 10s   override the heartbeat interval the API asks for        (TOLLGATE_HEARTBEAT_INTERVAL)
  --router haproxy|nginx|webhook
                             drive a traffic router for the environment's canary and
                             A/B rollouts: haproxy or nginx run by the agent itself,
                             or a webhook for a router it does not run               (TOLLGATE_ROUTER)
  --router-listen HOST:PORT  where clients reach the route: the router's frontend
                             (required for haproxy and nginx)                        (TOLLGATE_ROUTER_LISTEN)
  --router-webhook-url URL   the webhook's URL: POSTed each TrafficSpec, read back
                             with GET (required for webhook)                         (TOLLGATE_ROUTER_WEBHOOK_URL)
  --haproxy-bin PATH         the haproxy binary (default: on PATH or in /usr/sbin)   (TOLLGATE_HAPROXY_BIN)
  --nginx-bin PATH           the nginx binary (default: on PATH or in /usr/sbin)     (TOLLGATE_NGINX_BIN)
  --allow-scripts            run the commands of workflow template \`script\` steps
                             of this environment on this host (off by default)       (TOLLGATE_AGENT_ALLOW_SCRIPTS=1)
  --help                     print this

  Tasks arrive over the agent's work channel to the API: the agent needs no access to Temporal.
  An agent whose credential the API refuses (revoked, deleted) stops with exit code 1; it does not register again.`;

/** Flags win over their environment variables; anything malformed is a UsageError naming it. */
export function parseAgentOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'take-over': { type: 'boolean' },
        'allow-scripts': { type: 'boolean' },
        name: { type: 'string' },
        environment: { type: 'string' },
        labels: { type: 'string' },
        targets: { type: 'string' },
        'state-dir': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        router: { type: 'string' },
        'router-listen': { type: 'string' },
        'router-webhook-url': { type: 'string' },
        'haproxy-bin': { type: 'string' },
        'nginx-bin': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0].replace(/\. To specify.*$/, '')} (see --help)`);
  }
  const pick = (flag: string, variable: string): string | undefined => {
    const value = (values[flag] as string | undefined) ?? env[variable];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const help = values.help === true;
  const apiUrl = pick('api', 'TOLLGATE_API_URL');
  const name = pick('name', 'TOLLGATE_AGENT_NAME');
  if (!help) {
    if (!apiUrl) throw new UsageError('--api is required: the Tollgate API base URL, e.g. --api http://127.0.0.1:3000 (or TOLLGATE_API_URL)');
    if (!name) throw new UsageError('--name is required: the name this agent registers under (or TOLLGATE_AGENT_NAME)');
  }
  if (apiUrl && !/^https?:\/\/[^/\s]+/.test(apiUrl)) throw new UsageError(`--api must be an http:// or https:// URL (got "${apiUrl}")`);
  if (name && (name.length > 128 || /[\s/\\]/.test(name))) throw new UsageError(`--name must be at most 128 characters without spaces or slashes (got "${name}")`);
  const interval = pick('heartbeat-interval', 'TOLLGATE_HEARTBEAT_INTERVAL');
  const intervalMs = interval === undefined ? undefined : parseDuration(interval);
  if (interval !== undefined && (!intervalMs || intervalMs < 100)) throw new UsageError(`--heartbeat-interval must be a duration such as 10s or 500ms (got "${interval}")`);
  const targets = pick('targets', 'TOLLGATE_AGENT_TARGETS');
  const { token, tokenSource } = registrationToken(values, env);
  return {
    apiUrl: apiUrl ?? '',
    token,
    tokenSource,
    takeOver: values['take-over'] === true || /^(1|true|yes)$/i.test(env.TOLLGATE_AGENT_TAKE_OVER?.trim() ?? ''),
    name: name ?? '',
    environmentId: pick('environment', 'TOLLGATE_ENVIRONMENT_ID'),
    labels: parseLabels(pick('labels', 'TOLLGATE_AGENT_LABELS')),
    targets: targets === undefined ? undefined : splitList(targets),
    stateDir: path.resolve(pick('state-dir', 'TOLLGATE_AGENT_STATE_DIR') ?? path.join(env.DATA_DIR?.trim() || '.data', 'agents')),
    heartbeatIntervalMs: intervalMs,
    router: routerOptions(pick),
    allowScripts: values['allow-scripts'] === true || /^(1|true|yes)$/i.test(env.TOLLGATE_AGENT_ALLOW_SCRIPTS?.trim() ?? ''),
    help,
  };
}

function routerOptions(pick: (flag: string, variable: string) => string | undefined): RouterOptions | undefined {
  const provider = pick('router', 'TOLLGATE_ROUTER');
  const listen = pick('router-listen', 'TOLLGATE_ROUTER_LISTEN');
  const webhookUrl = pick('router-webhook-url', 'TOLLGATE_ROUTER_WEBHOOK_URL');
  if (provider === undefined) {
    if (listen || webhookUrl) throw new UsageError('--router-listen and --router-webhook-url need --router haproxy|nginx|webhook');
    return undefined;
  }
  if (!(ROUTER_PROVIDERS as readonly string[]).includes(provider)) throw new UsageError(`--router must be one of ${ROUTER_PROVIDERS.join(', ')} (got "${provider}")`);
  if (listen !== undefined && !ROUTER_LISTEN.test(listen)) throw new UsageError(`--router-listen must be host:port, e.g. 127.0.0.1:8080 (got "${listen}")`);
  if (provider === 'webhook') {
    if (!webhookUrl || !/^https?:\/\/[^/\s]+/.test(webhookUrl)) throw new UsageError(`--router webhook needs --router-webhook-url, an http:// or https:// URL${webhookUrl ? ` (got "${webhookUrl}")` : ''}`);
    return { provider, listen: listen ?? new URL(webhookUrl).host, webhookUrl };
  }
  if (!listen) throw new UsageError(`--router ${provider} needs --router-listen HOST:PORT: where clients reach the route`);
  const bin = provider === 'haproxy' ? pick('haproxy-bin', 'TOLLGATE_HAPROXY_BIN') : pick('nginx-bin', 'TOLLGATE_NGINX_BIN');
  return { provider: provider as RouterProvider, listen, ...(bin ? { bin } : {}) };
}

/**
 * The registration token: --token-file (or TOLLGATE_AGENT_TOKEN_FILE), --token, or TOLLGATE_AGENT_TOKEN. A token on
 * the command line works but is shown to every user of the host by ps; the file and the variable are not.
 */
function registrationToken(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Pick<AgentOptions, 'token' | 'tokenSource'> {
  const flag = typeof values.token === 'string' ? values.token.trim() : undefined;
  const fileFlag = typeof values['token-file'] === 'string' ? values['token-file'].trim() : undefined;
  if (flag && fileFlag) throw new UsageError('--token and --token-file are two ways of giving the same token: give one');
  const file = fileFlag || (flag ? undefined : env.TOLLGATE_AGENT_TOKEN_FILE?.trim() || undefined);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--token-file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const token = text.trim();
    if (!token) throw new UsageError(`--token-file ${file} is empty: it should hold the registration token`);
    if (/\s/.test(token)) throw new UsageError(`--token-file ${file} should hold the registration token alone, on one line`);
    return { token, tokenSource: 'file' };
  }
  if (flag) return { token: flag, tokenSource: 'flag' };
  const fromEnv = env.TOLLGATE_AGENT_TOKEN?.trim();
  return fromEnv ? { token: fromEnv, tokenSource: 'env' } : { token: undefined, tokenSource: undefined };
}

/** `role=web,zone=a` → { role: 'web', zone: 'a' }. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of splitList(text ?? '')) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at).trim() : '';
    if (!key) throw new UsageError(`--labels takes key=value pairs separated by commas, e.g. role=web,zone=a (got "${pair}")`);
    labels[key] = pair.slice(at + 1).trim();
  }
  return labels;
}

const splitList = (text: string) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
