import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';

type History = { events?: temporal.api.history.v1.IHistoryEvent[] | null };

export interface TimerInHistory {
  /** The summary the Temporal UI shows for the timer (its user metadata). */
  summary: string | undefined;
  /** How long the timer was set for. */
  durationMs: number;
  outcome: 'fired' | 'cancelled' | 'pending';
}

/** Every durable timer a workflow run started, in order, with its summary and how it ended. */
export function timersIn(history: History): TimerInHistory[] {
  const events = history.events ?? [];
  return events
    .filter((e) => e.timerStartedEventAttributes)
    .map((e) => {
      const { timerId, startToFireTimeout } = e.timerStartedEventAttributes!;
      const payload = e.userMetadata?.summary;
      const fired = events.some((x) => x.timerFiredEventAttributes?.timerId === timerId);
      const cancelled = events.some((x) => x.timerCanceledEventAttributes?.timerId === timerId);
      return {
        summary: payload ? defaultPayloadConverter.fromPayload<string>(payload) : undefined,
        durationMs: tsToMs(startToFireTimeout),
        outcome: fired ? 'fired' : cancelled ? 'cancelled' : 'pending',
      };
    });
}
