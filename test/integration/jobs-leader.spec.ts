import 'reflect-metadata';
import { afterAll, describe, expect, it } from 'vitest';
import { PrismaService } from '@app/db';
import { JobRunner } from '../../apps/clm/src/jobs/job-runner.service.js';
import { SchedulerLeader } from '../../apps/clm/src/jobs/scheduler-leader.service.js';
import { type InProcessClm, startInProcessClm } from '../support/clm-app.js';
import { createTestDatabase } from '../support/database.js';

describe('one scheduler across replicas', () => {
  const db = createTestDatabase();
  const replicas: InProcessClm[] = [];
  afterAll(async () => {
    for (const r of replicas) await r.close().catch(() => undefined);
    await (await db).drop();
  });

  it('elects exactly one leader, and another takes over when it stops', async () => {
    for (let i = 0; i < 3; i++) {
      replicas.push(await startInProcessClm({ db: await db, env: { CLM_JOBS_ENABLED: 'true' } }));
    }
    const leaders = async () => {
      for (const r of replicas) await r.app.get(SchedulerLeader).tryAcquire();
      return replicas.filter((r) => r.app.get(SchedulerLeader).isLeader());
    };
    const first = await leaders();
    expect(first).toHaveLength(1);

    const leader = first[0]!;
    await leader.close();
    replicas.splice(replicas.indexOf(leader), 1);
    const second = await leaders();
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(leader);
  });

  it('runs triggered jobs only on the leader and records each run', async () => {
    let runs = 0;
    await Promise.all(replicas.map((r) => r.app.get(JobRunner).trigger('test-job', async () => {
      runs++;
      return { ok: true };
    })));
    expect(runs).toBe(1);
    const follower = replicas.find((r) => !r.app.get(SchedulerLeader).isLeader())!;
    await expect(follower.app.get(JobRunner).run('failing-job', async () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    const rows = await follower.app.get(PrismaService).jobRun.findMany({ orderBy: { startedAt: 'asc' } });
    expect(rows.map((r) => [r.job, r.ok])).toEqual([['test-job', true], ['failing-job', false]]);
    expect(rows[1]!.error).toContain('boom');
  });

  it('notices a lost lock session at the next heartbeat, and another replica takes over', async () => {
    const leader = replicas.find((r) => r.app.get(SchedulerLeader).isLeader())!;
    const prisma = leader.app.get(PrismaService);
    // The server drops the leader's session (a network partition or an operator would): its lock goes with it.
    // (pg_locks and pg_stat_activity span the server: other test files' replicas are there too.)
    // With a timeout, pg_terminate_backend waits until the backend is gone (PostgreSQL 14+);
    // without one it only signals it, and the heartbeat below could still be answered.
    await prisma.$queryRaw`SELECT pg_terminate_backend(a.pid, 5000) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
      WHERE a.datname = current_database() AND a.application_name = 'shaken-clm scheduler'
        AND l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    // Another replica takes over at its next attempt...
    const others = replicas.filter((r) => r !== leader);
    for (const r of others) await r.app.get(SchedulerLeader).tryAcquire();
    expect(others.filter((r) => r.app.get(SchedulerLeader).isLeader())).toHaveLength(1);
    // ...and the old leader, at its next heartbeat, knows it no longer leads (its session is gone).
    expect(await leader.app.get(SchedulerLeader).tryAcquire()).toBe(false);
    expect(replicas.filter((r) => r.app.get(SchedulerLeader).isLeader())).toHaveLength(1);
  });
});
