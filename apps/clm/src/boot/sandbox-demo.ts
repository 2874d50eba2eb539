/**
 * What the embedded sandbox offers a first-time user, in one place that the service (which
 * registers the sandbox STI-CA) and the CLI's `clm demo` (which onboards against it) share
 * without the CLI loading the service's modules.
 */
export const SANDBOX_STI_CA_NAME = 'Sandbox STI-CA';

/** The sandbox serves its STI-PA API under this path of the same origin as its ACME directory (apps/sti-sandbox common/sandbox-urls.ts). */
export const SANDBOX_STI_PA_PATH = '/sti-pa/api/v1';

/** The STI-PA user the sandbox seeds (apps/sti-sandbox/src/sti-pa/sti-pa-users.ts DEMO_USERS). */
export const SANDBOX_DEMO_USER = { userId: 'demo', password: 'demo-password', ocns: ['818H', '709J'] } as const;
