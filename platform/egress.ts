import dns, { type LookupAddress } from 'node:dns';
import { type BlockList, isIP } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher } from 'undici';
import { DEFAULT_EGRESS_DENY, EgressDenied, isDenied, parseEgressDeny } from './egress-rules';

/**
 * Where the worker may not call out to. URLs of templates' http and notify
 * steps, of integrations and of webhooks are written by tenants' users; without
 * a bound one could point the worker at the cloud's metadata service
 * (169.254.169.254) or any address only the worker can reach and read the answer
 * back through a run's outputs. Every such call goes through `outboundFetch`,
 * whose connections check each address a host name resolves to at connect time
 * (so a name that resolves to an allowed address when checked and a denied one
 * when used cannot slip through) and IP literals alike.
 */

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function guardedAgent(list: BlockList): Agent {
  const lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const denied = addresses.find((a) => isDenied(list, a.address));
      if (denied) return callback(new EgressDenied(hostname, denied.address) as NodeJS.ErrnoException, []);
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
  const connect = buildConnector({ lookup } as buildConnector.BuildOptions);
  return new Agent({
    connect: (options, callback) => {
      // net.connect does not look IP literals up: they are judged here.
      const host = options.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) && isDenied(list, host)) return callback(new EgressDenied(host, host), null);
      return connect(options, callback);
    },
  });
}

let configured: { spec: string; dispatcher: Dispatcher } | undefined;

/** Sets the process's bound from EGRESS_DENY_CIDRS (already validated by loadConfig); the API and the worker call it at start. */
export function configureEgress(spec: string = DEFAULT_EGRESS_DENY): void {
  if (configured?.spec === spec) return;
  const parsed = parseEgressDeny(spec);
  if (!parsed.ok) throw new Error(`EGRESS_DENY_CIDRS: not CIDRs: ${parsed.bad.join(', ')}`);
  configured = { spec, dispatcher: guardedAgent(parsed.list) };
}

/**
 * fetch, through connections the egress bound checks. It is undici's own fetch
 * with its own Agent (one copy of undici): an error the connector raises
 * reaches the caller as fetch's `cause` with its code and message intact.
 */
export async function outboundFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  if (!configured) configureEgress();
  return (await undiciFetch(url, { ...(init as object), dispatcher: configured!.dispatcher })) as unknown as Response;
}
