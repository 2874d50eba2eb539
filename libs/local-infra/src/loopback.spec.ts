import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from './loopback.js';

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.3.2.1', '::1', '[::1]', '0:0:0:0:0:0:0:1'])('%s stays on this machine', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '[::]', '10.0.0.5', '192.0.2.1', 'sbc.example.net', 'localhost.example.net', '128.0.0.1', '::ffff:127.0.0.1', ''])('%s does not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
