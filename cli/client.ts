import type { Connection } from './config';
import { ApiFailure } from './errors';

export const API_PREFIX = '/api/v1';

export interface Page<T> {
  items: T[];
  total?: number;
}

type Query = Record<string, string | number | undefined>;

/** The HTTP API in its Stella dialect: `{success, data, meta}` answers, `{success: false, error: {code, message}}` refusals. */
export class ApiClient {
  constructor(readonly connection: Connection) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  async list<T>(path: string, query?: Query): Promise<Page<T>> {
    const body = (await this.send('GET', path, undefined, query)) as { data?: T[]; meta?: { pagination?: { total?: number } } };
    return { items: body.data ?? [], total: body.meta?.pagination?.total };
  }

  async call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const answer = (await this.send(method, path, body, query)) as { data?: T };
    return answer.data as T;
  }

  /** The raw bytes of an answer (a download), refusals still read as the envelope. */
  async download(path: string): Promise<Buffer> {
    const res = await this.fetch('GET', path);
    if (!res.ok) throw await failureOf(res);
    return Buffer.from(await res.arrayBuffer());
  }

  async send(method: string, path: string, body?: unknown, query?: Query): Promise<unknown> {
    const res = await this.fetch(method, path, body, query);
    if (!res.ok) throw await failureOf(res);
    if (res.status === 204) return {};
    return res.json();
  }

  url(path: string, query?: Query): string {
    const u = new URL(`${this.connection.url}${API_PREFIX}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.toString();
  }

  private async fetch(method: string, path: string, body?: unknown, query?: Query): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const target = this.url(path, query);
    try {
      return await fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiFailure(0, 'UNREACHABLE', `${method} ${target}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is the API running? --url / TOLLGATE_URL)`);
    }
  }
}

async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text();
  let body: { error?: { code?: string; message?: string; details?: unknown; validationErrors?: unknown } } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = body?.error;
  if (!error?.code) return new ApiFailure(res.status, `HTTP_${res.status}`, text.slice(0, 500) || res.statusText);
  return new ApiFailure(res.status, error.code, error.message ?? res.statusText, error.validationErrors ?? error.details);
}
