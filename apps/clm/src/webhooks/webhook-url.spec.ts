import { describe, expect, it } from 'vitest';
import { webhookUrlProblem } from './webhook-url.js';

describe('webhook URL policy', () => {
  it('accepts https anywhere and http on loopback', () => {
    for (const url of ['https://hooks.example.net/clm', 'https://10.0.0.5:8443/x', 'http://127.0.0.1:9000/hook', 'http://localhost/x', 'http://[::1]:8080/']) {
      expect({ url, problem: webhookUrlProblem(url) }).toEqual({ url, problem: undefined });
    }
  });

  it('refuses plain http elsewhere, other schemes, credentials, fragments and garbage', () => {
    expect(webhookUrlProblem('http://hooks.example.net/clm')).toMatch(/https/);
    expect(webhookUrlProblem('http://128.0.0.1/')).toMatch(/loopback/);
    expect(webhookUrlProblem('ftp://example.net/')).toMatch(/got ftp/);
    expect(webhookUrlProblem('https://user:pw@example.net/')).toMatch(/user information/);
    expect(webhookUrlProblem('https://example.net/#x')).toMatch(/fragment/);
    expect(webhookUrlProblem('not a url')).toMatch(/absolute/);
  });
});
