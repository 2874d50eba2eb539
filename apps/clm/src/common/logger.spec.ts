import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRootLogger, PinoNestLogger } from './logger.js';

function capture(level: 'info' | 'debug'): { logger: PinoNestLogger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(chunk.toString('utf8')); done(); } });
  const logger = new PinoNestLogger(createRootLogger(level, sink));
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('PinoNestLogger', () => {
  it("keeps Nest's per-module and per-route start-up lines out of info, and our components' lines in", () => {
    const { logger, lines } = capture('info');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Mapped {/api/v1/providers, POST} route', 'RouterExplorer');
    logger.log({ msg: 'this replica is the scheduler leader', component: 'jobs' }, 'SchedulerLeader');
    logger.warn('something odd', 'InstanceLoader');
    expect(lines().map((l) => [l.context, l.msg, l.level])).toEqual([
      ['SchedulerLeader', 'this replica is the scheduler leader', 30],
      ['InstanceLoader', 'something odd', 40],
    ]);
  });

  it('still writes them at debug', () => {
    const { logger, lines } = capture('debug');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    expect(lines()).toMatchObject([{ context: 'InstanceLoader', level: 20 }]);
  });

  it('redacts credentials in structured messages', () => {
    const { logger, lines } = capture('info');
    logger.log({ msg: 'pulled', credential: 'clm_sig_secret', nested: { privateKeyPem: 'PEM' } }, 'Signers');
    const text = JSON.stringify(lines());
    expect(text).not.toContain('clm_sig_secret');
    expect(text).not.toContain('PEM"');
  });
});
