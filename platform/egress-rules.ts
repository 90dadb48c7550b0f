import { BlockList, isIP } from 'node:net';

/**
 * Which addresses Tollgate never calls out to for URLs tenants' users write
 * (platform/egress.ts applies it to every such connection).
 */

/** Link-local (the cloud metadata services among them), "this network" and the unspecified addresses. */
export const DEFAULT_EGRESS_DENY = '169.254.0.0/16,fe80::/10,fd00:ec2::254/128,0.0.0.0/8,::/128';

export class EgressDenied extends Error {
  readonly code = 'EGRESS_DENIED';
  constructor(host: string, address: string) {
    const why = 'is not an address Tollgate may call (EGRESS_DENY_CIDRS)';
    super(host === address ? `${address} ${why}` : `${host} resolves to ${address}, which ${why}`);
  }
}

/** The subnets of a comma-separated CIDR list ("none" for none), or the entries that are not CIDRs. */
export function parseEgressDeny(text: string): { ok: true; list: BlockList; cidrs: string[] } | { ok: false; bad: string[] } {
  const list = new BlockList();
  const cidrs = text.trim() === 'none' ? [] : text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad: string[] = [];
  for (const cidr of cidrs) {
    const [net, bits, extra] = cidr.split('/');
    const family = isIP(net ?? '');
    const prefix = Number(bits);
    if (extra !== undefined || !family || !/^\d{1,3}$/.test(bits ?? '') || prefix > (family === 4 ? 32 : 128)) {
      bad.push(cidr);
      continue;
    }
    list.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return bad.length ? { ok: false, bad } : { ok: true, list, cidrs };
}

/** Whether the list holds the address; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as its IPv4 address. */
export function isDenied(list: BlockList, address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return list.check(mapped[1], 'ipv4');
  const family = isIP(bare);
  return family !== 0 && list.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}
