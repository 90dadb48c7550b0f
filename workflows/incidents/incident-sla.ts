import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { factsOf, humanSpan, mergeTimeline, nextWakeUp, slaClock, slaSnapshot, type SlaClock, type SlaEvent, type SlaFact, type TargetClock } from '../../domain/incidents/sla';
import type { SlaPolicy } from '../../domain/incidents/sla-policy';
import { isTerminal } from '../../domain/incidents/state-machine';
import { uiDetails } from '../../domain/ui-details';
import { ENTITY_ACTIVITY_OPTIONS, historyFull as isHistoryFull, showInUi } from '../entity';
import { getSlaStatus, incidentChanged, searchAttributesOf, type IncidentSlaInput } from './messages';

// A stakeholder webhook that stays down must not hold the clock: a few tries, then a log line.
const NOTIFY_OPTIONS: wf.ActivityOptions = { ...ENTITY_ACTIVITY_OPTIONS, retry: { ...ENTITY_ACTIVITY_OPTIONS.retry, maximumAttempts: 5 } };
const { recordIncidentSla, notifyIncident } = wf.proxyActivities<Activities>(ENTITY_ACTIVITY_OPTIONS);

/**
 * The SLA clock of one open incident. The API signals every state or priority
 * change (with the newest timeline entries); the clock is recomputed from the
 * whole timeline each time (domain/incidents/sla.ts), and durable timers wake
 * the workflow for the next warning or breach. Each recorded fact (warning,
 * breach) lands once: row, audit entry, search attribute, notification. Ends
 * when the incident is closed, cancelled or deleted; a resolved incident keeps
 * its (stopped) clock in case it is reopened.
 */
export async function incidentSla(input: IncidentSlaInput): Promise<{ id: string; state: string }> {
  const carried = input.carried;
  let timeline: SlaEvent[] = carried?.timeline ?? [];
  let policy: SlaPolicy | undefined = carried?.policy;
  let shortDescription = carried?.shortDescription ?? '';
  const recorded = new Set<SlaFact>(carried?.recorded ?? []);
  let persisted: string | undefined;
  let deleted = false;
  let signals = 0;
  let current: SlaClock | null = null;

  wf.setHandler(incidentChanged, (message) => {
    signals += 1;
    if (message.deleted) {
      deleted = true;
      return;
    }
    timeline = mergeTimeline(timeline, message.events);
    policy = message.policy;
    shortDescription = message.shortDescription;
  });
  wf.setHandler(getSlaStatus, () => ({ clock: current, recorded: [...recorded], asOf: new Date(Date.now()).toISOString() }));

  await wf.condition(() => (timeline.length > 0 && policy !== undefined) || deleted);

  const historyFull = () => isHistoryFull(input.maxHistoryEvents);

  for (;;) {
    if (deleted) break;
    const seen = signals;
    const now = Date.now();
    const clock = slaClock(timeline, policy!, now);
    current = clock;
    const facts = factsOf(clock).filter((f) => !recorded.has(f));
    const sla = slaSnapshot(clock, new Set([...recorded, ...facts]), now);
    const { computed_at: _at, ...comparable } = sla;
    if (facts.length || JSON.stringify(comparable) !== persisted) {
      const label = facts.length ? facts.join(', ') : `${clock.clock} clock`;
      await recordIncidentSla.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Record ${input.incidentId} SLA: ${label}` }, [
        { tenantId: input.tenantId, incidentId: input.incidentId, sla, facts, clock, timelineVersion: timeline[timeline.length - 1].version },
      ]);
      persisted = JSON.stringify(comparable);
      for (const fact of facts) recorded.add(fact);
      for (const fact of facts) {
        await notifyIncident
          .executeWithOptions({ ...NOTIFY_OPTIONS, summary: `Notify ${fact.replace('_', ' ')} of ${input.incidentId}` }, [
            { tenantId: input.tenantId, incidentId: input.incidentId, reason: fact },
          ])
          .catch((err) => wf.log.warn('SLA notification failed for good', { incident: input.incidentId, fact, error: String(err) }));
      }
    }
    publish(clock, now);
    if (isTerminal(clock.state)) break;
    if (historyFull()) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof incidentSla>({
        ...input,
        carried: { timeline, policy: policy!, shortDescription, recorded: [...recorded] },
      });
    }
    const moved = () => signals !== seen || deleted || historyFull();
    const wake = nextWakeUp(clock);
    if (!wake) {
      await wf.condition(moved);
      continue;
    }
    const wait = wake.at - Date.now();
    if (wait > 0) await wf.condition(moved, wait, { summary: wake.what });
    // A timer that fired a hair early must not spin the loop.
    else if (facts.length === 0) await wf.condition(moved, 1000, { summary: 'SLA re-check' });
  }
  await wf.condition(wf.allHandlersFinished);
  return { id: input.incidentId, state: deleted ? 'deleted' : (current?.state ?? 'unknown') };

  // Search attributes and the UI's "current details" follow every recomputation.
  function publish(clock: SlaClock, now: number): void {
    showInUi(searchAttributesOf(input.tenantId, { id: input.incidentId, state: clock.state, priority: clock.priority }, recorded), details(clock, now));
  }

  function details(clock: SlaClock, now: number): string {
    const responding = clock.response.running;
    const running = [clock.response, clock.resolution].filter((t) => t.running && t.breached_at === null);
    const next = running.sort((a, b) => a.due_at - b.due_at)[0];
    const waits = [responding && 'a first response', clock.resolution.running && 'a resolution'].filter((w): w is string => typeof w === 'string');
    return uiDetails({
      state: `**${input.incidentId}** · ${clock.priority} · **${clock.state}** · clock ${clock.clock}`,
      missing: waits.length ? waits.join(' and ') : null,
      deadline: next ? `${next.kind} due ${iso(next.due_at)}, ${humanSpan(next.due_at - now)} left` : null,
      more: [
        shortDescription,
        `Resolution: ${describe(clock.resolution, now)}`,
        `Response: ${clock.response.running || clock.response.breached_at !== null ? describe(clock.response, now) : 'met'}`,
        `(as of ${iso(now)})`,
      ],
    });
  }
}

function describe(target: TargetClock, now: number): string {
  const progress = `target ${humanSpan(target.target_ms)}, ${humanSpan(target.elapsed_ms)} counted`;
  if (target.breached_at !== null) return `⚠ breached at ${iso(target.breached_at)}, ${humanSpan(now - target.breached_at)} ago (${progress})`;
  if (!target.running) return `not running; ${humanSpan(target.target_ms - target.elapsed_ms)} left when it resumes (${progress})`;
  return `due ${iso(target.due_at)}, ${humanSpan(target.due_at - now)} left (${progress})`;
}

const iso = (ms: number) => new Date(ms).toISOString();
