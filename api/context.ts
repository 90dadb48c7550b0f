import type { Config } from '../platform/config';
import type { Pool } from '../platform/db';
import type { Logger } from '../platform/logger';
import type { TemporalGateway } from '../platform/temporal';
import type { Principal } from '../domain/permissions';
import type { FixedWindowLimiter } from '../domain/rate-limit';
import type { SharedRateLimiter } from '../store/rate-limit-counters';
import type { ApiError } from './errors';
import type { TokenVerifier } from './auth/verifier';
import type { Metrics } from './metrics';
import type { DeploymentEventHub } from './realtime/hub';
import type { AgentWorkRelay } from './agent-work/relay';

/** The two wire dialects served over one set of handlers: Stella under /api/v1, StackFlow under /prod/api. */
export type Dialect = 'stella' | 'stackflow';

export interface AppDeps {
  config: Config;
  pool: Pool;
  temporal: TemporalGateway;
  log: Logger;
  verifier: TokenVerifier;
  /** This replica's own counters (health probes). */
  limiter: FixedWindowLimiter;
  /** Counters every replica shares (users, tenants, addresses, bulk records). */
  sharedLimiter: SharedRateLimiter;
  metrics: Metrics;
  /** Live deployment events for the WebSocket streams; absent where a process serves none. */
  realtime?: DeploymentEventHub;
  /** Hands Temporal's agent tasks to agents over their work channels; absent where a process relays none. */
  agentWork?: AgentWorkRelay;
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    requestId: string;
    dialect: Dialect;
    log: Logger;
    principal?: Principal;
    authError?: ApiError;
  };
}

export function dialectOf(path: string): Dialect {
  return path.startsWith('/prod/api') ? 'stackflow' : 'stella';
}
