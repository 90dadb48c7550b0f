import { z } from 'zod';
import { parseBusinessHours } from './business-hours';
import { DEFAULT_PRIORITY_MATRIX, parsePriorityMatrix, type PriorityMatrix } from './priority';
import {
  DEFAULT_RESOLUTION_TARGETS,
  DEFAULT_RESPONSE_TARGETS,
  DEFAULT_WARNING_RATIO,
  parsePriorityList,
  parseSlaTargets,
  type SlaPolicy,
} from './sla-policy';

/**
 * The incident module's environment variables, in the shape platform/config.ts
 * validates (one clear line naming a mis-set variable), and the policy and
 * matrix built from them.
 */

const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

function parsed<T>(fallback: string | undefined, parse: (text: string) => T | undefined, expected: string) {
  return z.preprocess(
    blankAsUnset,
    z
      .string()
      .optional()
      .transform((v, ctx): T | undefined => {
        const text = v ?? fallback;
        if (text === undefined) return undefined;
        const value = parse(text);
        if (value === undefined) {
          ctx.addIssue({ code: 'custom', message: `must be ${expected} (got "${text}")` });
          return z.NEVER;
        }
        return value;
      }),
  );
}

export const INCIDENT_CONFIG_FIELDS = {
  INCIDENT_SLA_RESPONSE: parsed('P1=15m,P2=1h,P3=8h,P4=1d', (t) => parseSlaTargets(t, DEFAULT_RESPONSE_TARGETS), 'response targets such as P1=15m,P2=1h,P3=8h,P4=1d'),
  INCIDENT_SLA_RESOLUTION: parsed('P1=4h,P2=8h,P3=3d,P4=5d', (t) => parseSlaTargets(t, DEFAULT_RESOLUTION_TARGETS), 'resolution targets such as P1=4h,P2=8h,P3=3d,P4=5d'),
  INCIDENT_SLA_WARNING: z.preprocess(blankAsUnset, z.coerce.number().gt(0).lt(1).default(DEFAULT_WARNING_RATIO)),
  INCIDENT_SLA_BUSINESS_HOURS: parsed(undefined, parseBusinessHours, 'business hours such as "Mon-Fri 09:00-17:00 +01:00"'),
  INCIDENT_SLA_BUSINESS_HOURS_PRIORITIES: parsed('P3,P4', parsePriorityList, 'a list of priorities such as P3,P4 (or all)'),
  INCIDENT_PRIORITY_MATRIX: parsed(undefined, parsePriorityMatrix, 'impact/urgency=priority cells such as high/high=P1,high/medium=P2'),
};

type IncidentConfig = { [K in keyof typeof INCIDENT_CONFIG_FIELDS]: z.output<(typeof INCIDENT_CONFIG_FIELDS)[K]> };

export interface IncidentSettings {
  policy: SlaPolicy;
  matrix: PriorityMatrix;
}

export function incidentSettings(config: IncidentConfig): IncidentSettings {
  const hours = config.INCIDENT_SLA_BUSINESS_HOURS;
  return {
    policy: {
      response_ms: config.INCIDENT_SLA_RESPONSE ?? DEFAULT_RESPONSE_TARGETS,
      resolution_ms: config.INCIDENT_SLA_RESOLUTION ?? DEFAULT_RESOLUTION_TARGETS,
      warning_ratio: config.INCIDENT_SLA_WARNING,
      business_hours: hours ? { ...hours, priorities: config.INCIDENT_SLA_BUSINESS_HOURS_PRIORITIES ?? ['P3', 'P4'] } : null,
    },
    matrix: config.INCIDENT_PRIORITY_MATRIX ?? DEFAULT_PRIORITY_MATRIX,
  };
}
