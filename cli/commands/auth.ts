import { ApiClient } from '../client';
import { required, type Command } from '../command';
import { configFile, normalizeUrl, readStored, writeStored } from '../config';
import { ApiFailure } from '../errors';
import { fields, printJson } from '../output';

/**
 * The API has no "who am I" operation: a token is checked by an authenticated
 * read (the caller's inbox). 401 is a bad token; 403 is a good token without
 * promotion:read, which still says who it is.
 */
async function checkToken(client: ApiClient): Promise<void> {
  try {
    await client.get('/my/pending-approvals', { pageSize: 1 });
  } catch (err) {
    if (!(err instanceof ApiFailure && err.status === 403)) throw err;
  }
}

interface Claims {
  sub?: string;
  user_id?: string;
  email?: string;
  tenant_id?: string;
  roles?: string[];
  groups?: string[];
  exp?: number;
}

/** The token's claims as the API reads them (read only, not verified here: the API verified it). */
function claimsOf(token: string): Claims {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Claims;
  } catch {
    return {};
  }
}

export const login: Command = {
  words: ['login'],
  synopsis: '[--url URL] --token TOKEN',
  summary: 'Checks the token against the API, then stores URL and token in $XDG_CONFIG_HOME/tollgate/config.json (else ~/.config/…), mode 0600.',
  async run(ctx) {
    const url = normalizeUrl(ctx.connection.url);
    const token = required(ctx, 'token');
    await checkToken(new ApiClient({ url, token }));
    const file = configFile();
    writeStored({ ...readStored(file), url, token }, file);
    if (ctx.out.json) printJson(ctx.out, { url, configFile: file, ...summary(claimsOf(token)) });
    else ctx.out.write(`logged in to ${url} as ${summary(claimsOf(token)).user ?? '?'}; saved in ${file}\n`);
  },
};

function summary(c: Claims) {
  return {
    user: c.user_id ?? c.sub,
    email: c.email ?? null,
    tenant: c.tenant_id,
    roles: c.roles ?? [],
    groups: c.groups ?? [],
    expiresAt: c.exp ? new Date(c.exp * 1000).toISOString() : null,
  };
}

export const whoami: Command = {
  words: ['whoami'],
  synopsis: '',
  summary: 'Who the token says you are, once the API has accepted it.',
  async run(ctx) {
    const client = ctx.client();
    await checkToken(client);
    const who = { url: ctx.connection.url, ...summary(claimsOf(ctx.connection.token!)) };
    if (ctx.out.json) return printJson(ctx.out, who);
    ctx.out.write(
      fields([
        ['user', who.user],
        ['email', who.email],
        ['tenant', who.tenant],
        ['roles', who.roles.join(', ')],
        ['groups', who.groups.join(', ')],
        ['expires', who.expiresAt],
        ['api', who.url],
      ]),
    );
  },
};
