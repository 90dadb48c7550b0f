import { session } from './session';

/** An error answer of the API, with its envelope's code and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const BASE = '/api/v1';

let onRefused: (message: string) => void = () => undefined;

/** What happens when the API refuses the token (401): the app signs out and says why. */
export function whenTokenRefused(handler: (message: string) => void): void {
  onRefused = handler;
}

export interface Listed<T> {
  data: T[];
  totalItems: number;
  page: number;
  totalPages: number;
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path.startsWith(`${BASE}/`) ? path : `${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiFailure(0, 'NETWORK', 'The API could not be reached; check the connection and try again.');
  }
  if (res.ok) return res;
  const envelope = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: unknown } } | null;
  const failure = new ApiFailure(res.status, envelope?.error?.code ?? `HTTP_${res.status}`, envelope?.error?.message ?? `The API answered ${res.status} ${res.statusText}`, envelope?.error?.details);
  if (res.status === 401) onRefused(explain(failure));
  throw failure;
}

/** The `data` of a Stella envelope. `path` is under /api/v1, or a full /api/v1/… address the API gave (an item's `links`). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(method, path, body);
  return ((await res.json()) as { data: T }).data;
}

/** A page of a list, with its pagination. */
export async function list<T>(path: string): Promise<Listed<T>> {
  const res = await call('GET', path);
  const body = (await res.json()) as { data: T[]; meta?: { pagination?: { totalItems?: number; page?: number; totalPages?: number } } };
  const p = body.meta?.pagination ?? {};
  return { data: body.data, totalItems: p.totalItems ?? body.data.length, page: p.page ?? 1, totalPages: p.totalPages ?? 1 };
}

/**
 * Why a WebSocket was refused: the browser only reports a failed handshake, so
 * the same address is asked as plain HTTP, where the API answers with what it
 * would have refused the upgrade for (401, 403, 404…) or 426 when only the
 * upgrade is missing. Undefined means the stream would be accepted (a drop, or the API away).
 */
export async function streamRefusal(path: string): Promise<ApiFailure | undefined> {
  try {
    await call('GET', path);
    return undefined;
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status === 426 || err.status === 0 || err.status >= 500 || err.status === 429) return undefined;
    return err;
  }
}

/** A file the API serves (no envelope), as a Blob, with the name its Content-Disposition gives. */
export async function download(path: string, fallbackName: string): Promise<{ blob: Blob; name: string }> {
  const res = await call('GET', path);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  return { blob: await res.blob(), name };
}

/** What to tell a person about a failure: the API's own message, with what kind of refusal it is. */
export function explain(err: unknown): string {
  if (!(err instanceof ApiFailure)) return `Something went wrong: ${err instanceof Error ? err.message : String(err)}`;
  if (err.status === 401) return `Your token was refused (${err.code}): ${err.message}`;
  if (err.status === 403) return `Not allowed (${err.code}): ${err.message}`;
  if (err.status === 0) return err.message;
  return `${err.message} (${err.code})`;
}
