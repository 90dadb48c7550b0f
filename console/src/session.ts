/** The token lives in this tab's sessionStorage only: closing the tab signs out, and no other site or tab reads it. */
const KEY = 'tollgate.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  signIn: (token: string) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};

/** Who the token names, for the header only (the API checks the token; this only reads its claims). */
export function whoIs(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { email?: string; sub?: string; tenant_id?: string; tenant?: string };
    const tenant = claims.tenant_id ?? claims.tenant;
    return `${claims.email ?? claims.sub ?? 'signed in'}${tenant ? ` (${tenant})` : ''}`;
  } catch {
    return 'signed in';
  }
}
