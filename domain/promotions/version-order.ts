/**
 * Version precedence as semver 2.0 (§11) defines it, applied to any dotted
 * version a registry tags: numeric identifiers compare as numbers (2.10.0 is
 * after 2.9.0), others as text, a pre-release comes before its release
 * (2.10.0-rc.1 before 2.10.0), and build metadata (+…) does not count.
 */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = split(a);
  const [coreB, preB] = split(b);
  const core = compareIdentifiers(coreA, coreB);
  if (core !== 0) return core;
  if (preA === undefined || preB === undefined) return preA === preB ? 0 : preA === undefined ? 1 : -1;
  return compareIdentifiers(preA, preB);
}

function split(version: string): [string[], string[] | undefined] {
  const withoutBuild = version.split('+')[0];
  const dash = withoutBuild.indexOf('-');
  if (dash < 0) return [withoutBuild.split('.'), undefined];
  return [withoutBuild.slice(0, dash).split('.'), withoutBuild.slice(dash + 1).split('.')];
}

const NUMERIC = /^\d+$/;

function compareIdentifiers(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const order = compareIdentifier(x, y);
    if (order !== 0) return order;
  }
  return 0;
}

function compareIdentifier(x: string, y: string): number {
  const [nx, ny] = [NUMERIC.test(x), NUMERIC.test(y)];
  if (nx && ny) return cmp(BigInt(x), BigInt(y));
  if (nx !== ny) return nx ? -1 : 1;
  return cmp(x, y);
}

const cmp = <T extends string | bigint>(x: T, y: T) => (x < y ? -1 : x > y ? 1 : 0);
