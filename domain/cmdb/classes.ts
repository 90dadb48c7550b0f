import { z } from 'zod';
import { storableText } from '../text';

/**
 * A configuration item's class and what its attributes may hold. Each class
 * has its own schema: a CI's attributes are checked against its class on every
 * write (create, patch, bulk), so `attr.engine=postgres` means the same thing
 * on every database. Unknown keys are refused, naming the nearest known one.
 */

const label = (max = 200) => storableText().trim().min(1, { message: 'must not be empty' }).max(max);
const port = z.number().int().min(1).max(65_535);
const count = (max: number) => z.number().int().min(0).max(max);
const url = z.url({ message: 'must be a URL' }).max(2_000);

export const ATTRIBUTE_SCHEMAS = {
  service: z.strictObject({
    tier: z.number().int().min(0).max(3).optional().meta({ description: '0 (most critical) to 3' }),
    url: url.optional(),
    on_call: label().optional(),
  }),
  application: z.strictObject({
    language: label(50).optional(),
    repository: url.optional(),
    version: label(100).optional(),
  }),
  database: z.strictObject({
    engine: z.enum(['postgres', 'mysql', 'aurora', 'oracle', 'sqlserver', 'mongodb', 'dynamodb', 'cassandra']).optional(),
    version: label(50).optional(),
    port: port.optional(),
    replicas: count(64).optional(),
  }),
  host: z.strictObject({
    hostname: label(253).optional(),
    ip: z.union([z.ipv4(), z.ipv6()], { message: 'must be an IPv4 or IPv6 address' }).optional(),
    os: label(100).optional(),
    cpus: count(1024).optional(),
    memory_gb: z.number().min(0).max(65_536).optional(),
    region: label(64).optional(),
  }),
  queue: z.strictObject({
    technology: z.enum(['kafka', 'rabbitmq', 'sqs', 'sns', 'pubsub', 'nats']).optional(),
    topic: label().optional(),
    partitions: count(10_000).optional(),
  }),
  network: z.strictObject({
    cidr: z.union([z.cidrv4(), z.cidrv6()], { message: 'must be a CIDR block such as 10.0.0.0/16' }).optional(),
    vlan: z.number().int().min(1).max(4094).optional(),
    provider: label(100).optional(),
  }),
  storage: z.strictObject({
    kind: z.enum(['block', 'object', 'file']).optional(),
    capacity_gb: z.number().min(0).max(1e9).optional(),
    region: label(64).optional(),
    bucket: label(255).optional(),
  }),
  cache: z.strictObject({
    engine: z.enum(['redis', 'memcached', 'valkey']).optional(),
    port: port.optional(),
    nodes: count(1024).optional(),
  }),
} as const;

export type CiClass = keyof typeof ATTRIBUTE_SCHEMAS;
export const CI_CLASSES = Object.keys(ATTRIBUTE_SCHEMAS) as [CiClass, ...CiClass[]];

export interface AttributeIssue {
  field: string;
  code: string;
  message: string;
}

/** What is wrong with `attributes` for a CI of `ciClass`, one entry per field, named `attributes.<key>`. */
export function attributeIssues(ciClass: CiClass, attributes: Record<string, unknown>): AttributeIssue[] {
  const parsed = ATTRIBUTE_SCHEMAS[ciClass].safeParse(attributes);
  if (parsed.success) return [];
  const known = Object.keys(ATTRIBUTE_SCHEMAS[ciClass].shape);
  const out: AttributeIssue[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: `attributes.${key}`, code: 'unknown_field', message: `"${key}" is not an attribute of a ${ciClass} CI (known: ${known.join(', ')})` });
      }
      continue;
    }
    out.push({ field: ['attributes', ...issue.path.map(String)].join('.'), code: issue.code, message: issue.message });
  }
  return out.filter((entry, i) => out.findIndex((e) => e.field === entry.field) === i);
}
