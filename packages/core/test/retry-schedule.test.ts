import { describe, expect, it } from 'vitest';
import { C2pError } from '../src/errors.js';
import { createRetrySchedule, type RetryScheduleOptions } from '../src/retry-schedule.js';

// The middle of the jitter range: every delay is its nominal value.
const middle = () => 0.5;
const HOUR = 60 * 60 * 1000;

describe('createRetrySchedule', () => {
  it('waits 2 s after the first failure, doubling each time, capped at 6 h, for 25 attempts', () => {
    const schedule = createRetrySchedule({}, middle);
    expect([1, 2, 3, 4, 5].map(schedule)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    // 2 s × 2^13 is 4.55 h, 2^14 would be 9.1 h: the cap.
    expect(schedule(14)).toBe(2_000 * 2 ** 13);
    expect(schedule(15)).toBe(6 * HOUR);
    expect(schedule(24)).toBe(6 * HOUR);
    expect(schedule(25)).toBeNull();
    expect(schedule(26)).toBeNull();
  });

  it('treats zero attempts like the first', () => {
    expect(createRetrySchedule({}, middle)(0)).toBe(2_000);
  });

  it('follows the given base, cap and attempts', () => {
    const schedule = createRetrySchedule(
      { baseDelayMs: 100, maxDelayMs: 500, maxAttempts: 5, jitter: 0 },
      Math.random,
    );
    expect([1, 2, 3, 4, 5].map(schedule)).toEqual([100, 200, 400, 500, null]);
  });

  it('spreads each delay over its jitter range, and not past it', () => {
    const at = (random: number, jitter?: number) =>
      createRetrySchedule({ baseDelayMs: 1_000, jitter }, () => random)(1);
    // The default 0.2: 80% to 120%.
    expect(at(0)).toBe(800);
    expect(at(0.25)).toBe(900);
    expect(at(0.999_999)).toBe(1_200);
    expect(at(0, 0.5)).toBe(500);
    expect(at(0.75, 0.5)).toBe(1_250);
    // No jitter: the nominal delay whatever the draw.
    expect(at(0, 0)).toBe(1_000);
    expect(at(0.9, 0)).toBe(1_000);
  });

  it('answers a whole number of milliseconds', () => {
    const delay = createRetrySchedule({ baseDelayMs: 3 }, () => 0.123)(1);
    expect(delay).toBe(Math.round(3 * (0.8 + 0.4 * 0.123)));
    expect(Number.isInteger(delay)).toBe(true);
  });

  it('stays finite far down a long schedule, even with no base delay', () => {
    const long = createRetrySchedule({ maxAttempts: 10_000, jitter: 0 });
    expect(long(5_000)).toBe(6 * HOUR);
    // 0 × 2^4999 would be 0 × Infinity, NaN: the exponent is capped first.
    expect(createRetrySchedule({ maxAttempts: 10_000, baseDelayMs: 0, jitter: 0 })(5_000)).toBe(0);
  });

  it.each<[RetryScheduleOptions, string]>([
    [{ maxAttempts: 0 }, 'options.retry.maxAttempts: must be a positive integer'],
    [{ maxAttempts: 2.5 }, 'options.retry.maxAttempts: must be a positive integer'],
    [{ baseDelayMs: -1 }, 'options.retry.baseDelayMs: must be a non-negative integer'],
    [
      { baseDelayMs: 10, maxDelayMs: 9 },
      'options.retry.maxDelayMs: must be an integer of at least 10',
    ],
    [{ jitter: 1 }, 'options.retry.jitter: must be a number from 0 to below 1'],
    [{ jitter: -0.1 }, 'options.retry.jitter: must be a number from 0 to below 1'],
    [{ jitter: Number.NaN }, 'options.retry.jitter: must be a number from 0 to below 1'],
    [
      { jitter: '0.2' as unknown as number },
      'options.retry.jitter: must be a number from 0 to below 1',
    ],
  ])('refuses %j, naming the option', (options, problem) => {
    expect(() => createRetrySchedule(options)).toThrow(C2pError);
    expect(() => createRetrySchedule(options)).toThrow(`[@c2p/core] ${problem}`);
  });

  it('accepts a cap equal to the base, and a base of zero', () => {
    expect(createRetrySchedule({ baseDelayMs: 10, maxDelayMs: 10, jitter: 0 })(3)).toBe(10);
    expect(createRetrySchedule({ baseDelayMs: 0, jitter: 0 })(3)).toBe(0);
  });
});
