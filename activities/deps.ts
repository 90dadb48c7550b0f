import type { Config } from '../platform/config';
import type { Pool } from '../platform/db';
import type { Logger } from '../platform/logger';

/** What activities are built with; one instance per worker process. */
export interface ActivityDeps {
  pool: Pool;
  log: Logger;
  config: Config;
}
