/**
 * Browsers cannot set headers on a WebSocket, so the live streams also
 * take the bearer token as `?access_token=`. Before the app sees the request,
 * the token moves into the Authorization header (a header sent as well wins)
 * and out of the URL, so the auth middleware verifies it exactly as any other
 * token and no log line or handler ever sees it in a query string. Every
 * other path is left alone: elsewhere a token in a URL is refused as missing.
 */
const STREAM_PATH = /^\/(?:api\/v1|prod\/api(?:\/v1)?)\/(?:deployment-jobs\/[^/]+\/stream|workflow-runs\/[^/]+\/stream|agents\/[^/]+\/task-stream|dashboard\/stream)\/?$/;

export function isStreamPath(path: string): boolean {
  return STREAM_PATH.test(path);
}

export function withQueryToken(request: Request): Request {
  if (request.method !== 'GET' || !request.url.includes('access_token=')) return request;
  const url = new URL(request.url);
  if (!isStreamPath(url.pathname)) return request;
  const token = url.searchParams.get('access_token');
  url.searchParams.delete('access_token');
  const headers = new Headers(request.headers);
  if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  return new Request(url, { method: 'GET', headers });
}
