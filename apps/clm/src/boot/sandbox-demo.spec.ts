import { describe, expect, it } from 'vitest';
import { SandboxUrls } from '../../../sti-sandbox/src/common/sandbox-urls.js';
import { DEMO_USERS } from '../../../sti-sandbox/src/sti-pa/sti-pa-users.js';
import { SANDBOX_DEMO_USER, SANDBOX_STI_PA_PATH } from './sandbox-demo.js';

/** `clm demo` relies on these facts about the sandbox; if the sandbox changes them, this fails first. */
describe('sandbox facts the demo relies on', () => {
  it('the demo STI-PA user is the one the sandbox seeds', () => {
    const seeded = DEMO_USERS.find((u) => u.userId === SANDBOX_DEMO_USER.userId);
    expect(seeded).toMatchObject({ password: SANDBOX_DEMO_USER.password, ocns: [...SANDBOX_DEMO_USER.ocns] });
  });

  it('the STI-PA API lives at SANDBOX_STI_PA_PATH on the origin of the ACME directory', () => {
    const urls = SandboxUrls.forListener('127.0.0.1', 8445);
    expect(new URL(urls.acmeDirectory).origin + SANDBOX_STI_PA_PATH).toBe(urls.stiPaApi);
  });
});
