import { describe, expect, it } from 'vitest';
import { CredentialClient } from './signer-sync/credential-client.js';
import { serverTrust, serverUrlProblem } from './server-connection.js';

const signer = { receivesPrivateKeys: true } as const;
const admin = { receivesPrivateKeys: false } as const;

describe('serverUrlProblem', () => {
  it.each(['https://clm.example.net:8080', 'https://10.0.0.5', 'http://127.0.0.1:8080', 'http://localhost:8080/', 'http://[::1]:8080'])(
    'accepts %s for the admin client and the signer sync agent alike',
    (url) => {
      expect(serverUrlProblem(url, signer)).toBeUndefined();
      expect(serverUrlProblem(url, admin)).toBeUndefined();
    },
  );

  it('refuses plain http off loopback for the sync agent, with no override, and says what to use instead', () => {
    const problem = serverUrlProblem('http://sbc-clm.example.net:8080', { ...signer, insecureHttp: true });
    expect(problem).toContain('refusing http://sbc-clm.example.net:8080');
    expect(problem).toContain('private key in cleartext');
    expect(problem).toContain('use https://sbc-clm.example.net:8080');
    expect(problem).toContain('--ca-file');
    expect(problem).toContain('no override');
    expect(serverUrlProblem('http://0.0.0.0:8080', signer)).toContain('refusing');
    expect(serverUrlProblem('http://192.0.2.7:8080', signer)).toContain('refusing');
  });

  it('refuses plain http off loopback for the admin client unless --insecure-http was given', () => {
    expect(serverUrlProblem('http://192.0.2.7:8080', admin)).toMatch(/admin token in cleartext.*--insecure-http \(CLM_INSECURE_HTTP=true\)/);
    expect(serverUrlProblem('http://192.0.2.7:8080', { ...admin, insecureHttp: true })).toBeUndefined();
  });

  it('refuses other schemes and relative URLs', () => {
    expect(serverUrlProblem('ftp://127.0.0.1', admin)).toMatch(/must use https \(got ftp\)/);
    expect(serverUrlProblem('127.0.0.1:8080', admin)).toMatch(/must use https|must be absolute/);
    expect(serverUrlProblem('clm.example.net', signer)).toMatch(/must be absolute/);
  });
});

describe('the sync agent client', () => {
  it('cannot be built for a non-loopback http server, whoever builds it', () => {
    expect(() => new CredentialClient({ server: 'http://192.0.2.7:8080', credential: 'clm_signer_x' })).toThrow(/refusing http:\/\/192\.0\.2\.7:8080/);
  });

  it('names an unreadable or non-PEM --ca-file', () => {
    expect(() => serverTrust('/nonexistent/ca.pem')).toThrow('--ca-file /nonexistent/ca.pem cannot be read (ENOENT)');
    expect(() => serverTrust('/etc/hostname')).toThrow('--ca-file /etc/hostname holds no PEM certificate');
    expect(serverTrust(undefined)).toBeUndefined();
  });
});
