import { describe, expect, it } from 'vitest';
import {
  diffText,
  formatDuration,
  formatElapsed,
  formatPct,
  formatTokens,
  formatUSD,
  statusText,
  usageLine,
} from '../../src/views/format';

const usage = (over = {}) => ({
  inputTokens: 40_000,
  outputTokens: 5_000,
  cacheCreationTokens: 0,
  cacheReadTokens: 0,
  costUSD: 0.32,
  messages: 23,
  ...over,
});

describe('format', () => {
  it('abbreviates token counts', () => {
    expect(formatTokens(0)).toBe('0');
    expect(formatTokens(999)).toBe('999');
    expect(formatTokens(1_500)).toBe('1.5K');
    expect(formatTokens(45_200)).toBe('45K');
    expect(formatTokens(999_499)).toBe('999K');
    expect(formatTokens(999_600)).toBe('1M');
    expect(formatTokens(1_250_000)).toBe('1.3M');
    expect(formatTokens(312_450)).toBe('312K');
  });

  it('formats money', () => {
    expect(formatUSD(0.32)).toBe('$0.32');
    expect(formatUSD(2.4689)).toBe('$2.47');
    expect(formatUSD(1234.5)).toBe('$1,234.50');
    expect(formatUSD(0)).toBe('$0.00');
    expect(formatUSD(0.001)).toBe('<$0.01');
    expect(formatUSD(null)).toBe('$0.00');
  });

  it('formats durations and percentages', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(12 * 60_000 + 5_000)).toBe('12m');
    expect(formatDuration(125 * 60_000)).toBe('2h 5m');
    expect(formatDuration(120 * 60_000)).toBe('2h');
    expect(formatDuration(-5)).toBe('0s');
    expect(formatDuration(50 * 3_600_000)).toBe('2d 2h');
    expect(formatPct(67)).toBe('67%');
    expect(formatPct(6.2)).toBe('6.2%');
    expect(formatPct(66.6)).toBe('67%');
  });

  it('writes the usage line by source as in seed 004', () => {
    expect(usageLine(usage(), 'api')).toBe('45K tokens ($0.32) [API]');
    expect(usageLine(usage(), 'subscription')).toBe('23 messages [Sub]');
    expect(usageLine(usage({ messages: 1 }), 'subscription')).toBe('1 message [Sub]');
    expect(usageLine(usage(), 'proxy')).toBe('45K tokens ($0.32) [Proxy]');
    // cache tokens count toward the total, as in ccusage's totalTokens
    expect(usageLine(usage({ cacheReadTokens: 100_000 }), 'api')).toBe('145K tokens ($0.32) [API]');
  });

  it('writes changes with a real minus sign', () => {
    expect(diffText({ added: 142, removed: 38, files: 5 })).toBe('+142 \u221238');
  });

  it('writes the status with time in state', () => {
    expect(statusText('working', 60_000, 13 * 60_000 + 59_000)).toBe('Working for 12m');
    expect(statusText('paused', 0, 30_000)).toBe('Paused for 30s');
    expect(statusText('waiting', 0, 180_000)).toBe('Waiting for input for 3m');
    expect(statusText('exited', 0, 120_000, 1)).toBe('Exited (code 1) 2m ago');
    expect(statusText('stopped', 0, 60_000)).toBe('Stopped 1m ago');
  });

  it('never says "for 0s": under the 10 s re-render it says <10s', () => {
    expect(statusText('working', 1_000, 1_000)).toBe('Working for <10s');
    expect(statusText('rateLimited', 0, 9_999)).toBe('Rate limited for <10s');
    expect(statusText('stopped', 0, 400)).toBe('Stopped <10s ago');
    expect(statusText('working', 0, 10_000)).toBe('Working for 10s');
    expect(formatElapsed(0)).toBe('<10s');
    expect(formatElapsed(-5)).toBe('<10s');
  });
});
