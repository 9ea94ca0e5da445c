import { describe, expect, it } from 'vitest';
import { PollPolicy } from '../../src/pool/poll-policy.js';

/** The answers of `shouldPoll()` over `count` occasions whose polls all find what `found` says. */
function occasions(policy: PollPolicy, count: number, found: boolean): boolean[] {
  const answers: boolean[] = [];
  for (let index = 0; index < count; index++) {
    const poll = policy.shouldPoll();
    answers.push(poll);
    if (poll) policy.record(found);
  }
  return answers;
}

describe('PollPolicy', () => {
  it('polls every time while polls find their frame', () => {
    expect(occasions(new PollPolicy(), 20, true).every(Boolean)).toBe(true);
  });

  it('skips twice as many occasions after each poll that found nothing, up to 64', () => {
    const policy = new PollPolicy();
    const answers = occasions(policy, 1 + 1 + 1 + 2 + 1 + 4 + 1, false);
    expect(answers).toEqual([true, false, true, false, false, true, false, false, false, false, true]);
    const later = occasions(policy, 400, false);
    const gaps: number[] = [];
    let last = -1;
    later.forEach((poll, index) => {
      if (!poll) return;
      if (last >= 0) gaps.push(index - last - 1);
      last = index;
    });
    expect(Math.max(...gaps)).toBe(64);
  });

  it('polls on every occasion again once a poll finds its frame', () => {
    const policy = new PollPolicy();
    occasions(policy, 50, false);
    let polled = occasions(policy, 65, true);
    expect(polled.filter(Boolean).length).toBeGreaterThan(0);
    polled = occasions(policy, 10, true);
    expect(polled.every(Boolean)).toBe(true);
  });
});
