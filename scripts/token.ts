import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../platform/config';
import { ensureDevKeys, mintToken } from '../platform/dev-keys';
import { parseDuration } from '../domain/duration';

/**
 * Prints a bearer token signed by the local dev key that `npm start` trusts:
 *   npm run -s token -- --user alice@example.com --tenant acme --roles release-manager
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      tenant: { type: 'string' },
      roles: { type: 'string', default: '' },
      permissions: { type: 'string', default: '' },
      email: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '8h' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.user || !values.tenant) {
    console.error(
      'usage: npm run -s token -- --user <id or email> --tenant <tenant> [--roles a,b] [--permissions p,q] [--email e] [--name n] [--ttl 8h]\n' +
        'roles: viewer, requester, developer, engineer, change-manager, cab-member, approver, release-manager, sre, itsm_manager, auditor, admin',
    );
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfig();
  const { authKey } = await ensureDevKeys(config.DATA_DIR);
  const ttlMs = parseDuration(values.ttl!);
  if (!ttlMs) throw new ConfigError(`--ttl must be a duration such as 30m or 8h (got "${values.ttl}")`);
  const list = (v?: string) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const token = await mintToken(authKey, {
    user: values.user,
    tenant: values.tenant,
    roles: list(values.roles),
    permissions: list(values.permissions),
    email: values.email ?? (values.user.includes('@') ? values.user : undefined),
    name: values.name,
    ttlSeconds: Math.round(ttlMs / 1000),
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : (err as Error).message);
  process.exit(1);
});
