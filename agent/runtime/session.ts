import type { AgentRouter } from '../../domain/traffic';
import packageJson from '../../package.json';
import { agentTaskQueue } from '../../domain/deployments/model';
import { SCRIPT_CAPABILITY } from '../../domain/script-task';
import type { Logger } from '../../platform/logger';
import { AgentApiClient, AgentApiError, type Identity, type Registration } from './api-client';
import type { AgentOptions } from './options';
import { UsageError } from './options';
import { retryTransient } from './retry';
import { hookStateDir, reapLeftoverHooks, trackHooksIn } from './hook-registry';
import { readJsonFile, statePaths, writeJsonFile } from './state-files';

const REGISTER_RETRY_MS = 10_000;

/** What `<state-dir>/<name>.json` holds: enough to run again without the registration token. */
export interface SavedIdentity extends Identity {
  name: string;
  environmentId: string;
  taskQueue: string;
  heartbeatIntervalSeconds: number | null;
  apiUrl: string;
  registeredAt: string;
}

// Imported, not read at run time: the compiled agent (dist/) carries it.
export const AGENT_VERSION: string = packageJson.version ?? '0.0.0';

export const AGENT_CAPABILITIES = ['deploy-hook', 'health-check-http', 'health-check-command', 'logs', 'artifacts'];

/** What the agent reports it can do: `scripts` only when its operator allowed template commands (--allow-scripts). */
export const capabilitiesOf = (options: Pick<AgentOptions, 'allowScripts'>): string[] => (options.allowScripts ? [...AGENT_CAPABILITIES, SCRIPT_CAPABILITY] : AGENT_CAPABILITIES);

/** An error the agent process reports as one line and exits on. */
export class AgentStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentStartError';
  }
}

/**
 * The API no longer accepts the agent's own credential: it was revoked or deleted (or the state file holds a
 * credential the API never issued). The agent stops and says so; it never registers itself again, since an agent
 * that came back on its own would make DELETE and revoke meaningless.
 */
export class IdentityRefused extends AgentStartError {
  constructor(
    readonly agent: { id: string; name: string },
    readonly code: string,
    reason: string,
    stateFile: string,
  ) {
    super(
      `the API refused agent ${agent.name}'s credential (${code}: ${reason}); the agent stops and does not register itself again. ` +
        `To run it again an operator registers it anew: remove ${stateFile} and start it with a new registration token (or restore a revoked agent: PUT /api/v1/agents/${agent.id} with "revoked": false)`,
    );
    this.name = 'IdentityRefused';
  }
}

/**
 * The agent's identity: the saved credential when there is one, else a registration with the token. A saved
 * credential the API refuses ends the agent (IdentityRefused); it is never replaced behind the operator's back.
 * Opening the session also settles what an earlier process of this agent left behind: hooks still running in
 * their process groups are stopped and reported (hook-registry.ts) before this one runs any.
 */
export class AgentSession {
  private current: SavedIdentity | undefined;
  readonly api: AgentApiClient;
  private readonly file: string;

  constructor(
    private readonly options: AgentOptions,
    private readonly log: Logger,
    private readonly router: AgentRouter | null = null,
  ) {
    this.file = statePaths(options.stateDir, options.name).identity;
    this.api = new AgentApiClient({ baseUrl: options.apiUrl, identity: () => this.current });
  }

  get identity(): SavedIdentity | undefined {
    return this.current;
  }

  get stateFile(): string {
    return this.file;
  }

  /** The saved identity if any (not yet checked with the API), else a new registration. */
  async open(): Promise<SavedIdentity> {
    if (this.options.tokenSource === 'flag') {
      this.log.warn('the registration token was given with --token, where any user of this host can read it (ps, /proc): pass it in TOLLGATE_AGENT_TOKEN or --token-file instead');
    }
    const hooks = hookStateDir(this.options.stateDir, this.options.name);
    await reapLeftoverHooks(hooks, this.log);
    trackHooksIn(hooks, this.log);
    const saved = readJsonFile<SavedIdentity>(this.file);
    if (saved?.id && saved.credential) {
      if (this.options.environmentId && saved.environmentId && saved.environmentId !== this.options.environmentId) {
        throw new UsageError(
          `${this.file} holds agent ${saved.name} (${saved.id}) of environment ${saved.environmentId}, not ${this.options.environmentId}: use another --name or --state-dir, or delete the file to register anew`,
        );
      }
      this.current = saved;
      this.log.debug({ agentId: saved.id, stateFile: this.file }, 'using the saved agent credential');
      return saved;
    }
    return this.register();
  }

  /** What an API refusal of the agent's own credential (a 401 on its heartbeat) becomes: the reason to stop. */
  refused(error: AgentApiError): IdentityRefused {
    const me = this.current ?? { id: '?', name: this.options.name };
    return new IdentityRefused({ id: me.id, name: me.name ?? this.options.name }, error.code, error.message, this.file);
  }

  /** Registers with the token and saves the new identity. */
  private async register(): Promise<SavedIdentity> {
    const { token, environmentId, name } = this.options;
    if (!token) {
      throw new AgentStartError(
        `agent ${name} has no saved credential in ${this.file} and no registration token was given: set TOLLGATE_AGENT_TOKEN (or pass --token-file PATH) to register it`,
      );
    }
    if (!environmentId) throw new UsageError(`--environment is required to register agent ${name} (or TOLLGATE_ENVIRONMENT_ID)`);
    let registration: Registration;
    try {
      const body = {
        name,
        environmentId,
        labels: this.options.labels,
        version: AGENT_VERSION,
        capabilities: capabilitiesOf(this.options),
        ...(this.router ? { router: this.router } : {}),
        ...(this.options.targets ? { targets: this.options.targets } : {}),
        ...(this.options.takeOver ? { takeOver: true } : {}),
      };
      // An API that is still starting (or briefly down) gets a few seconds before the agent gives up.
      registration = await retryTransient(() => this.api.register(token, body), { deadline: Date.now() + REGISTER_RETRY_MS, maxDelayMs: 2_000 });
    } catch (error) {
      throw registrationError(error, name, this.file);
    }
    const identity: SavedIdentity = {
      id: registration.agent.id,
      credential: registration.credential,
      name: registration.agent.name ?? name,
      environmentId: registration.agent.environmentId ?? environmentId,
      taskQueue: registration.taskQueue ?? registration.agent.taskQueue ?? agentTaskQueue(registration.agent.id),
      heartbeatIntervalSeconds: registration.heartbeatIntervalSeconds ?? null,
      apiUrl: this.api.baseUrl,
      registeredAt: registration.agent.registeredAt ?? new Date().toISOString(),
    };
    writeJsonFile(this.file, identity);
    this.current = identity;
    this.log.info({ agentId: identity.id, stateFile: this.file }, 'agent registered');
    return identity;
  }
}

function registrationError(error: unknown, name: string, file: string): Error {
  if (!(error instanceof AgentApiError)) return error as Error;
  if (error.status === 0) return new AgentStartError(error.message);
  if (error.code === 'REGISTRATION_TOKEN_USED') {
    return new AgentStartError(`the registration token was used for agent ${name} before (${error.message}); a deleted or revoked agent is registered again only with a new token`);
  }
  if (error.code === 'TARGET_OWNED') {
    return new AgentStartError(`registering agent ${name} was refused: ${error.message} (start it with --take-over and a token that has agent:manage, or name other --targets)`);
  }
  if (error.status === 409) {
    return new AgentStartError(
      `an agent named ${name} is already registered and ${file} holds no credential the API accepts for it: delete that agent (DELETE /api/v1/agents/{id}) or start this one with another --name`,
    );
  }
  if (error.status === 401 || error.status === 403) return new AgentStartError(`the API refused the registration token (${error.status} ${error.code}: ${error.message})`);
  return new AgentStartError(`registering agent ${name} failed: ${error.status} ${error.code}: ${error.message}`);
}
