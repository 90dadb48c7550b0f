import { isAfter, isVisible, parseEventId, visibleFamilies } from '../../domain/dashboard/events';
import { permissionsFor } from '../../domain/permissions';

describe('dashboard events', () => {
  it('shows each family to whoever may read its records', () => {
    expect([...visibleFamilies({ permissions: permissionsFor(['viewer']) })].sort()).toEqual(['deployment', 'freeze', 'incident', 'promotion', 'rollout']);
    expect([...visibleFamilies({ permissions: ['promotion:read', 'incident:read'] })].sort()).toEqual(['incident', 'promotion']);
    expect(visibleFamilies({ permissions: permissionsFor(['agent-registrar']) }).size).toBe(0);
    expect(visibleFamilies({ permissions: ['admin'] }).size).toBe(5);
    const families = new Set(['promotion']);
    expect(isVisible('promotion.approval', families)).toBe(true);
    expect(isVisible('incident.sla_breach', families)).toBe(false);
    expect(isVisible('promotions', families)).toBe(false);
  });

  it('takes event ids as non-negative integers and compares them as such', () => {
    expect(parseEventId('0')).toBe('0');
    expect(parseEventId('0042')).toBe('42');
    for (const bad of ['', '-1', '1.5', 'abc', '1e3', '1234567890123456789', 42, null]) expect(parseEventId(bad)).toBeUndefined();
    expect(isAfter('10', '9')).toBe(true);
    expect(isAfter('9', '10')).toBe(false);
    expect(isAfter('10', '10')).toBe(false);
  });
});
