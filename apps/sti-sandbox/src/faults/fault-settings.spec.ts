import { describe, expect, it } from 'vitest';
import { NO_FAULTS, parseFaultEnv, parseFaultUpdate } from './fault-settings.js';
import { FaultState } from './fault-state.js';

describe('fault switches', () => {
  it('parses boot-time switches from SANDBOX_FAULT_* and names every bad one', () => {
    const problems: string[] = [];
    const settings = parseFaultEnv(
      { SANDBOX_FAULT_BAD_NONCE_RATE: '0.25', SANDBOX_FAULT_DELAY_MS: '1500', SANDBOX_FAULT_REVOKED_CA: 'yes', SANDBOX_FAULT_OTHER_SPC_CERT: '709J' },
      problems,
    );
    expect(problems).toEqual([]);
    expect(settings).toEqual({ ...NO_FAULTS, badNonceRate: 0.25, delayMs: 1500, revokedCa: true, otherSpcCertificate: '709J' });

    const bad: string[] = [];
    parseFaultEnv({ SANDBOX_FAULT_SERVER_ERROR_RATE: '5', SANDBOX_FAULT_DELAY_SCOPE: 'everything', SANDBOX_FAULT_OTHER_SPC_CERT: '709j' }, bad);
    expect(bad).toHaveLength(3);
    expect(bad.join('\n')).toMatch(/SANDBOX_FAULT_SERVER_ERROR_RATE.*0 to 1/);
    expect(bad.join('\n')).toMatch(/SANDBOX_FAULT_DELAY_SCOPE.*all, sti-pa, acme/);
    expect(bad.join('\n')).toMatch(/SANDBOX_FAULT_OTHER_SPC_CERT/);
  });

  it('accepts partial admin updates and refuses unknown switches and bad values', () => {
    expect(parseFaultUpdate({ serverErrorRate: 1, serverErrorScope: 'acme' })).toEqual({ update: { serverErrorRate: 1, serverErrorScope: 'acme' }, problems: [] });
    expect(parseFaultUpdate({ wrongKey: true }).problems[0]).toMatch(/unknown fault switch/);
    expect(parseFaultUpdate({ delayMs: -1, expiredSpcToken: 'yes' }).problems).toHaveLength(2);
    expect(parseFaultUpdate([1]).problems).toEqual(['body must be a JSON object of fault switches']);
  });

  it('draws rate faults from the injected randomness and only in their scope', () => {
    const state = new FaultState({ ...NO_FAULTS, serverErrorRate: 0.5, serverErrorScope: 'sti-pa', badNonceRate: 0.5 }, () => 0.4);
    expect(state.rollServerError('sti-pa')).toBe(true);
    expect(state.rollServerError('acme')).toBe(false);
    expect(state.rollBadNonce()).toBe(true);
    const unlucky = new FaultState({ ...NO_FAULTS, badNonceRate: 0.5 }, () => 0.6);
    expect(unlucky.rollBadNonce()).toBe(false);
  });

  it('uses challenge refusals up one validation at a time', () => {
    expect(parseFaultUpdate({ refuseChallenges: 1.5 }).problems[0]).toMatch(/refuseChallenges: must be a whole number/);
    expect(parseFaultEnv({ SANDBOX_FAULT_REFUSE_CHALLENGES: '2' }, []).refuseChallenges).toBe(2);
    const state = new FaultState({ ...NO_FAULTS, refuseChallenges: 2 });
    expect([state.takeChallengeRefusal(), state.takeChallengeRefusal(), state.takeChallengeRefusal()]).toEqual([true, true, false]);
    expect(state.settings.refuseChallenges).toBe(0);
  });

  it('tells listeners when switches change', () => {
    const seen: boolean[] = [];
    const state = new FaultState();
    state.onChange((settings) => seen.push(settings.revokedCa));
    state.set({ revokedCa: true });
    state.reset();
    expect(seen).toEqual([true, false]);
  });
});
