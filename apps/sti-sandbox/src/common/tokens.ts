/** Nest injection tokens for values that have no class of their own. */
export const STI_PA_SIGNING_PEM = Symbol('STI_PA_SIGNING_PEM');
export const SANDBOX_CLOCK = Symbol('SANDBOX_CLOCK');
export const ADMIN_SECRET = Symbol('ADMIN_SECRET');
export const SANDBOX_CONFIG = Symbol('SANDBOX_CONFIG');
