import { decideTakeOver, type NamedTarget } from '../../domain/deployments/target-takeover';

/** Who may move a named target at registration: free and offline-owned targets move; an online owner's only on a managed take-over. */

const online = { id: 'a-1', name: 'agent-1', status: 'online' as const };
const offline = { id: 'a-2', name: 'agent-2', status: 'offline' as const };
const revoked = { id: 'a-3', name: 'agent-3', status: 'revoked' as const };
const targets: NamedTarget[] = [
  { id: 't-1', name: 'web-1', owner: online },
  { id: 't-2', name: 'web-2', owner: online },
  { id: 't-3', name: 'web-3', owner: offline },
  { id: 't-4', name: 'web-4', owner: revoked },
  { id: 't-5', name: 'web-5', owner: null },
];

test('a target of an online agent is TARGET_OWNED without takeOver, naming each such target and its owner, whoever asks', () => {
  for (const canManage of [false, true]) {
    const decision = decideTakeOver({ targets, takeOver: false, canManage });
    expect(decision).toMatchObject({
      allowed: false,
      code: 'TARGET_OWNED',
      owned: [
        { targetId: 't-1', target: 'web-1', ownerId: 'a-1', owner: 'agent-1' },
        { targetId: 't-2', target: 'web-2', ownerId: 'a-1', owner: 'agent-1' },
      ],
    });
    expect(!decision.allowed && decision.message).toMatch(/^Targets web-1 \(agent agent-1\), web-2 \(agent agent-1\) belong to an online agent;.*agent:manage.*"takeOver": true/);
  }
});

test('takeOver without agent:manage is refused, owned targets or not', () => {
  expect(decideTakeOver({ targets, takeOver: true, canManage: false })).toMatchObject({ allowed: false, code: 'TAKE_OVER_FORBIDDEN' });
  expect(decideTakeOver({ targets: [targets[4]], takeOver: true, canManage: false })).toMatchObject({ allowed: false, code: 'TAKE_OVER_FORBIDDEN', owned: [] });
});

test('a managed take-over moves everything, and names what each previous owner lost', () => {
  expect(decideTakeOver({ targets, takeOver: true, canManage: true })).toEqual({
    allowed: true,
    takenFrom: [
      { agentId: 'a-1', agentName: 'agent-1', targets: [{ id: 't-1', name: 'web-1' }, { id: 't-2', name: 'web-2' }] },
      { agentId: 'a-2', agentName: 'agent-2', targets: [{ id: 't-3', name: 'web-3' }] },
      { agentId: 'a-3', agentName: 'agent-3', targets: [{ id: 't-4', name: 'web-4' }] },
    ],
  });
});

test('targets of offline or revoked agents, or of none, move without takeOver; their owners are still told', () => {
  expect(decideTakeOver({ targets: targets.slice(2), takeOver: false, canManage: false })).toEqual({
    allowed: true,
    takenFrom: [
      { agentId: 'a-2', agentName: 'agent-2', targets: [{ id: 't-3', name: 'web-3' }] },
      { agentId: 'a-3', agentName: 'agent-3', targets: [{ id: 't-4', name: 'web-4' }] },
    ],
  });
  expect(decideTakeOver({ targets: [], takeOver: false, canManage: false })).toEqual({ allowed: true, takenFrom: [] });
});
