import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderLedger } from '../../apps/clm/src/procurement/order-ledger.js';
import { loadOrderContext } from '../../apps/clm/src/procurement/order-context.js';
import { transitionFrom } from '../../apps/clm/src/procurement/order-states.js';
import { LeaseLostError } from '../../apps/clm/src/procurement/procurement-errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onboardProvider, registerSandboxStiCa, testAdmin } from '../support/factories.js';
import { ShiftedClock, startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const ORDERS = 24;
const LEASE_MS = 60_000;

/**
 * The claim and the lease on their own, with two services on one database: concurrent claims
 * never hand one order to both, a held lease keeps an order away from the other service, and
 * an expired one gives it over, after which the first service can no longer move it.
 */
describe('certificate order claims and leases (integration, two services on one database)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let a: ProcurementApp;
  let b: ProcurementApp;
  const clock = new ShiftedClock();

  beforeAll(async () => {
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess()]);
    const env = { CLM_PROCUREMENT_LEASE_MS: String(LEASE_MS) };
    [a, b] = await Promise.all([startProcurementApp({ db, sandbox, clock, env }), startProcurementApp({ db, sandbox, clock, env })]);
    const ocns = Array.from({ length: ORDERS }, (_, i) => `7${String(i).padStart(3, '0')}`);
    const { provider } = await onboardProvider(a, sandbox, { ocns });
    const ca = await registerSandboxStiCa(a, sandbox);
    for (const ocn of ocns) await a.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await sandbox?.stop();
    await db?.drop();
  });

  it('hands each due order to exactly one of two services claiming at the same moment', async () => {
    const ledgerA = a.app.get(OrderLedger);
    const ledgerB = b.app.get(OrderLedger);
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? ledgerA.claimDue(a.worker.workerId, 5) : ledgerB.claimDue(b.worker.workerId, 5))),
    );
    const byA = claims.filter((_, i) => i % 2 === 0).flat();
    const byB = claims.filter((_, i) => i % 2 === 1).flat();
    expect(byA.length + byB.length).toBe(ORDERS);
    expect(new Set([...byA, ...byB]).size).toBe(ORDERS);
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);

    // Leased: nobody gets them again while the leases run.
    expect(await ledgerB.claimDue(b.worker.workerId, ORDERS)).toEqual([]);
    expect(await ledgerA.claimDue(a.worker.workerId, ORDERS)).toEqual([]);
    const rows = await a.prisma.certificateOrder.findMany({ select: { id: true, lockedBy: true } });
    for (const row of rows) expect(row.lockedBy).toBe(byA.includes(row.id) ? a.worker.workerId : b.worker.workerId);

    // A's worker dies (no heartbeat): once its leases run out, B takes its orders over...
    clock.advance(LEASE_MS + 1_000);
    const takenOver = await ledgerB.claimDue(b.worker.workerId, ORDERS);
    expect(new Set(takenOver)).toEqual(new Set([...byA, ...byB]));

    // ...and A, if it was only slow, can neither extend its lease nor persist a transition.
    const orderId = byA[0]!;
    expect(await ledgerA.extendLease(orderId, a.worker.workerId)).toBe(false);
    const context = await loadOrderContext(a.prisma, orderId);
    await expect(ledgerA.advance(context, transitionFrom(context.order.state)!, { details: {} }, a.worker.workerId)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(ledgerA.fail(context, { code: 'X', message: 'x', permanent: false }, a.worker.workerId)).rejects.toBeInstanceOf(LeaseLostError);
    const unchanged = await a.prisma.certificateOrder.findUniqueOrThrow({ where: { id: orderId } });
    expect(unchanged).toMatchObject({ state: 'key_generated', attempts: 0, lockedBy: b.worker.workerId });
  });
});
