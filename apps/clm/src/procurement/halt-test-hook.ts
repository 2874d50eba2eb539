import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLM_CONFIG } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';

/**
 * TEST HOOK (CLM_TEST_HOOK_HALT_ORDER): lets an end-to-end test stop the worker at an exact
 * point of an order's life and SIGKILL the process there, to prove that a restart resumes
 * without a second ACME order or a lost key. Inert unless the variable is set: then `fires`
 * is always false and nothing here runs. The configuration accepts the variable only in a test
 * run (NODE_ENV=test or CLM_ENABLE_TEST_HOOKS=1); anywhere else the service refuses to start.
 */
@Injectable()
export class HaltTestHook {
  private readonly logger = new Logger('HaltTestHook');
  private haltedOrder: string | undefined;

  constructor(@Inject(CLM_CONFIG) private readonly config: ClmConfig) {}

  /** True once the hook fired: the worker claims nothing more. */
  get halted(): boolean {
    return this.haltedOrder !== undefined;
  }

  /**
   * Whether the hook asks to halt `when` the order reaches `state`. When it does, the line the
   * test waits for is printed and the hook stays fired.
   */
  fires(when: 'before' | 'after', state: string, orderId: string): boolean {
    const hook = this.config.procurement.testHookHaltOrder;
    if (!hook || hook.when !== when || hook.state !== state || this.halted) return false;
    this.haltedOrder = orderId;
    this.logger.warn({ msg: 'test hook halted the procurement worker', orderId, when, state });
    process.stdout.write(`TEST HOOK CLM_TEST_HOOK_HALT_ORDER: order ${orderId} halted ${when} ${state}\n`);
    return true;
  }

  /** Never settles: the worker keeps its lease and waits for the test to kill the process. */
  hang(): Promise<never> {
    return new Promise<never>(() => undefined);
  }
}
