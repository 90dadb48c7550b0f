import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../domain/duration';

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
  name: string;
  environmentId: string | undefined;
  labels: Record<string, string>;
  /** Target names to take over at registration; absent: the API assigns unassigned targets matching the labels. */
  targets: string[] | undefined;
  temporalAddress: string | undefined;
  namespace: string | undefined;
  stateDir: string;
  heartbeatIntervalMs: number | undefined;
  help: boolean;
}

export const AGENT_USAGE = `Usage: npm run agent -- --api URL --token TOKEN --name NAME --environment ENV_ID [options]

  --api URL                  Tollgate API base URL, e.g. http://127.0.0.1:3000      (TOLLGATE_API_URL)
  --token TOKEN              registration token; needed only to register             (TOLLGATE_AGENT_TOKEN)
  --name NAME                the agent's name, unique in the tenant                  (TOLLGATE_AGENT_NAME)
  --environment ENV_ID       the environment whose targets it deploys                (TOLLGATE_ENVIRONMENT_ID)
  --labels k=v[,k=v]         the agent's labels; without --targets it takes over the
                             unassigned targets carrying all of them                 (TOLLGATE_AGENT_LABELS)
  --targets a,b              names of the targets to take over                       (TOLLGATE_AGENT_TARGETS)
  --temporal HOST:PORT       Temporal to poll instead of the one the API names       (TOLLGATE_TEMPORAL_ADDRESS)
  --namespace NS             Temporal namespace instead of the one the API names     (TOLLGATE_TEMPORAL_NAMESPACE)
  --state-dir DIR            where the credential, target records and work dirs live
                             (default: $DATA_DIR/agents, else .data/agents)          (TOLLGATE_AGENT_STATE_DIR)
  --heartbeat-interval 10s   override the heartbeat interval the API asks for        (TOLLGATE_HEARTBEAT_INTERVAL)
  --help                     print this`;

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
        name: { type: 'string' },
        environment: { type: 'string' },
        labels: { type: 'string' },
        targets: { type: 'string' },
        temporal: { type: 'string' },
        namespace: { type: 'string' },
        'state-dir': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
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
  const temporal = pick('temporal', 'TOLLGATE_TEMPORAL_ADDRESS');
  if (temporal && !/^[^\s:]+:\d+$/.test(temporal)) throw new UsageError(`--temporal must be HOST:PORT, e.g. 127.0.0.1:7233 (got "${temporal}")`);
  const targets = pick('targets', 'TOLLGATE_AGENT_TARGETS');
  return {
    apiUrl: apiUrl ?? '',
    token: pick('token', 'TOLLGATE_AGENT_TOKEN'),
    name: name ?? '',
    environmentId: pick('environment', 'TOLLGATE_ENVIRONMENT_ID'),
    labels: parseLabels(pick('labels', 'TOLLGATE_AGENT_LABELS')),
    targets: targets === undefined ? undefined : splitList(targets),
    temporalAddress: temporal,
    namespace: pick('namespace', 'TOLLGATE_TEMPORAL_NAMESPACE'),
    stateDir: path.resolve(pick('state-dir', 'TOLLGATE_AGENT_STATE_DIR') ?? path.join(env.DATA_DIR?.trim() || '.data', 'agents')),
    heartbeatIntervalMs: intervalMs,
    help,
  };
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
