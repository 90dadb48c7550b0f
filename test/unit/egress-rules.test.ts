import { DEFAULT_EGRESS_DENY, EgressDenied, isDenied, parseEgressDeny } from '../../platform/egress-rules';

const listOf = (text: string) => {
  const parsed = parseEgressDeny(text);
  if (!parsed.ok) throw new Error(parsed.bad.join(', '));
  return parsed.list;
};

test('the default keeps link-local (cloud metadata), this-network and unspecified addresses out, and nothing else', () => {
  const list = listOf(DEFAULT_EGRESS_DENY);
  for (const address of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::', '::ffff:169.254.169.254', '[fe80::1]']) expect([address, isDenied(list, address)]).toEqual([address, true]);
  for (const address of ['127.0.0.1', '10.0.0.1', '192.168.1.1', '8.8.8.8', '::1', '2001:db8::1', '::ffff:127.0.0.1']) expect([address, isDenied(list, address)]).toEqual([address, false]);
});

test('operators add private ranges; "none" denies nothing', () => {
  const list = listOf('10.0.0.0/8, 127.0.0.0/8,::1/128');
  expect(isDenied(list, '10.20.30.40')).toBe(true);
  expect(isDenied(list, '::ffff:127.0.0.1')).toBe(true);
  expect(isDenied(list, '::1')).toBe(true);
  expect(isDenied(list, '11.0.0.1')).toBe(false);
  expect(isDenied(listOf('none'), '169.254.169.254')).toBe(false);
  expect(isDenied(list, 'example.com')).toBe(false);
});

test('names every entry that is not a CIDR', () => {
  expect(parseEgressDeny('10.0.0.0/8,10.0.0.0,300.1.1.1/8,10.0.0.0/33,::1/129,fe80::/10/2,x')).toEqual({ ok: false, bad: ['10.0.0.0', '300.1.1.1/8', '10.0.0.0/33', '::1/129', 'fe80::/10/2', 'x'] });
});

test('says which name led to which address', () => {
  expect(new EgressDenied('metadata.internal', '169.254.169.254').message).toBe('metadata.internal resolves to 169.254.169.254, which is not an address Tollgate may call (EGRESS_DENY_CIDRS)');
  expect(new EgressDenied('169.254.169.254', '169.254.169.254').message).toBe('169.254.169.254 is not an address Tollgate may call (EGRESS_DENY_CIDRS)');
});
