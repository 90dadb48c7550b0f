import { sendKeyed, type KeyedRequest, type Outcome, type RetryPolicy, type RetryStats } from './client';

/** One acknowledged request: what the API answered, to be checked against Postgres and Temporal afterwards. */
export interface Ack {
  lifecycle: string;
  step: string;
  key: string;
  changeId: string;
  /** The change's version and state in the 2xx answer. */
  version: number;
  state: string;
  /** Audit actions this request must have written at that version, in order. */
  actions: string[];
  actor: string;
  attempts: number;
  ms: number;
}

export interface LifecycleRecord {
  name: string;
  /** The marker in short_description: every change carrying it was created by this lifecycle. */
  marker: string;
  changeId?: string;
  acks: Ack[];
  /** Under way, every step acknowledged, or stopped (`problem` says why); a probe is a lone create. */
  outcome: 'running' | 'completed' | 'abandoned' | 'probe';
  problem?: string;
}

export interface Users {
  tenant: string;
  requester: { email: string; token: string };
  approvers: Array<{ email: string; token: string }>;
}

interface Step {
  name: string;
  method: 'POST' | 'PATCH';
  path: (id: string) => string;
  body?: unknown;
  as: 'requester' | number;
  want: string;
  actions: string[];
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A normal change from create to closed: every edge a change takes through CAB. */
const STEPS: Step[] = [
  { name: 'submit', method: 'POST', path: (id) => `/${id}/submit`, as: 'requester', want: 'submitted', actions: ['change.submit'] },
  { name: 'submit-cab', method: 'POST', path: (id) => `/${id}/submit-cab`, body: {}, as: 'requester', want: 'cab_review', actions: ['change.submit_cab'] },
  { name: 'approve-1', method: 'POST', path: (id) => `/${id}/approve`, body: { comment: 'approved in the fault drill' }, as: 0, want: 'cab_review', actions: ['change.approve'] },
  { name: 'approve-2', method: 'POST', path: (id) => `/${id}/approve`, body: { comment: 'approved in the fault drill' }, as: 1, want: 'scheduled', actions: ['change.approve', 'change.schedule'] },
  { name: 'start', method: 'PATCH', path: (id) => `/${id}`, body: { state: 'in_progress' }, as: 'requester', want: 'in_progress', actions: ['change.start'] },
  { name: 'complete', method: 'PATCH', path: (id) => `/${id}`, body: { state: 'completed' }, as: 'requester', want: 'completed', actions: ['change.complete'] },
  { name: 'close', method: 'PATCH', path: (id) => `/${id}`, body: { state: 'closed' }, as: 'requester', want: 'closed', actions: ['change.close'] },
];

/** The request body of a create; the window is open now so work can start at once. */
export function createBody(marker: string, approvers: string[]) {
  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
  return {
    type: 'normal',
    short_description: `Fault drill ${marker}`,
    description: 'Rotate the TLS certificates of the internal load balancer',
    implementation_plan: '1. Upload the new certificate\n2. Switch the listener\n3. Watch the error rate for 10 minutes',
    backout_plan: 'Switch the listener back to the previous certificate',
    test_plan: 'curl the health endpoint through the load balancer and check the served certificate',
    scheduled_start: at(-MIN),
    scheduled_end: at(2 * HOUR),
    cab_approvers: approvers,
  };
}

/**
 * Lanes that each run keyed change lifecycles back to back until stopped. Every
 * request carries an Idempotency-Key and is retried with it until acknowledged
 * (bounded); a lifecycle whose request is refused or gives up is abandoned.
 */
export class Driver {
  readonly lifecycles: LifecycleRecord[] = [];
  private stopping = false;
  private lanes: Promise<void>[] = [];
  private counter = 0;
  private turn = 0;

  /** `apis`: one base URL, or several replicas' (requests take turns, so one lifecycle's steps go through all of them). */
  constructor(
    private readonly apis: string[],
    private readonly users: Users,
    private readonly runTag: string,
    private readonly policy: RetryPolicy,
    private readonly stats: RetryStats,
  ) {}

  start(lanes: number): void {
    this.lanes = Array.from({ length: lanes }, (_, lane) => this.lane(lane));
  }

  /** Stops starting lifecycles and waits for the ones under way to finish (each request is bounded by the policy). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.lanes);
  }

  acknowledged(): number {
    return this.lifecycles.reduce((n, l) => n + l.acks.length, 0);
  }

  completed(): number {
    return this.lifecycles.filter((l) => l.outcome === 'completed').length;
  }

  /** A single keyed create, retried until acknowledged: the probe that tells when the whole path serves again. */
  async probe(name: string, policy: RetryPolicy, api?: string): Promise<LifecycleRecord> {
    const record: LifecycleRecord = { name, marker: `${this.runTag}/${name}`, acks: [], outcome: 'probe' };
    this.lifecycles.push(record);
    const { requester } = this.users;
    const body = { type: 'standard', short_description: `Fault drill ${record.marker}` };
    const ack = await this.send(record, 'create', { method: 'POST', path: '', token: requester.token, key: `${record.marker}/create`, body }, 'draft', ['change.create'], requester.email, policy, api);
    record.changeId = ack?.changeId;
    return record;
  }

  private async lane(lane: number): Promise<void> {
    while (!this.stopping) {
      const name = `L${lane}-${++this.counter}`;
      const record: LifecycleRecord = { name, marker: `${this.runTag}/${name}`, acks: [], outcome: 'running' };
      this.lifecycles.push(record);
      if (await this.lifecycle(record)) record.outcome = 'completed';
    }
  }

  /** Resolves true when every step was acknowledged with the state it should reach. */
  private async lifecycle(record: LifecycleRecord): Promise<boolean> {
    const { requester, approvers } = this.users;
    const created = await this.send(
      record,
      'create',
      { method: 'POST', path: '', token: requester.token, key: `${record.marker}/create`, body: createBody(record.marker, approvers.map((a) => a.email)) },
      'draft',
      ['change.create'],
      requester.email,
    );
    if (!created) return false;
    record.changeId = created.changeId;
    for (const step of STEPS) {
      const user = step.as === 'requester' ? requester : approvers[step.as];
      const request: KeyedRequest = { method: step.method, path: step.path(created.changeId), token: user.token, key: `${record.marker}/${step.name}`, body: step.body };
      if (!(await this.send(record, step.name, request, step.want, step.actions, user.email))) return false;
    }
    return true;
  }

  private async send(
    record: LifecycleRecord,
    step: string,
    request: KeyedRequest,
    want: string,
    actions: string[],
    actor: string,
    policy = this.policy,
    api = this.apis[this.turn++ % this.apis.length],
  ): Promise<Ack | undefined> {
    const outcome: Outcome = await sendKeyed(`${api}/prod/api/changes`, request, policy, this.stats);
    if (outcome.kind !== 'ack') {
      record.outcome = record.outcome === 'probe' ? 'probe' : 'abandoned';
      record.problem = outcome.kind === 'refused' ? `${step}: ${outcome.status} ${outcome.text}` : `${step}: gave up after ${outcome.attempts} attempts (${outcome.last})`;
      return undefined;
    }
    const change = outcome.body;
    const ack: Ack = {
      lifecycle: record.name,
      step,
      key: request.key,
      changeId: change.id,
      version: change.version,
      state: change.state,
      actions,
      actor,
      attempts: outcome.attempts,
      ms: outcome.ms,
    };
    record.acks.push(ack);
    if (change.state !== want) {
      record.outcome = record.outcome === 'probe' ? 'probe' : 'abandoned';
      record.problem = `${step}: answered state ${change.state}, expected ${want}`;
      return undefined;
    }
    return ack;
  }
}
