import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export interface TemporalSettings {
  address: string;
  namespace: string;
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect({ address: settings.address, connectTimeout: '5s' });
  return new Client({ connection, namespace: settings.namespace });
}

/** The cluster could not be reached at all (as opposed to a call failing on a live connection). */
export class TemporalUnavailableError extends Error {
  constructor(address: string, cause: unknown) {
    super(`Temporal at ${address} is unreachable: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'TemporalUnavailableError';
  }
}

/**
 * The API must start (and report 503 on /health) while Temporal is down, and
 * recover without a restart when it comes back: connect lazily, retry on demand.
 */
export class TemporalGateway {
  private pending?: Promise<Client>;
  private probing?: Promise<Connection>;

  constructor(private readonly settings: TemporalSettings) {}

  client(): Promise<Client> {
    if (!this.pending) {
      this.pending = connectClient(this.settings).catch((err) => {
        this.pending = undefined;
        throw new TemporalUnavailableError(this.settings.address, err);
      });
    }
    return this.pending;
  }

  /**
   * A second connection without the SDK's retry interceptor, for health probes:
   * a probe must report what is true now, and must not leave retries pending
   * after it has answered.
   */
  probe(): Promise<Connection> {
    if (!this.probing) {
      this.probing = Connection.connect({ address: this.settings.address, connectTimeout: '2s', interceptors: [] }).catch((err) => {
        this.probing = undefined;
        throw new TemporalUnavailableError(this.settings.address, err);
      });
    }
    return this.probing;
  }

  async close(): Promise<void> {
    const [pending, probing] = [this.pending, this.probing];
    this.pending = this.probing = undefined;
    if (pending) await pending.then((c) => c.connection.close()).catch(() => undefined);
    if (probing) await probing.then((c) => c.close()).catch(() => undefined);
  }
}

/**
 * Registers Tollgate's search attributes on a cluster that lacks them (an
 * existing TEMPORAL_ADDRESS); the dev server gets them at start-up already.
 */
export async function ensureSearchAttributes(client: Client, namespace: string, wanted: Record<string, 'Keyword' | 'KeywordList'>): Promise<string[]> {
  const types = temporal.api.enums.v1.IndexedValueType;
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = Object.entries(wanted).filter(([name]) => !known.has(name));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map(([name, type]) => [name, type === 'KeywordList' ? types.INDEXED_VALUE_TYPE_KEYWORD_LIST : types.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  return missing.map(([name]) => name);
}
