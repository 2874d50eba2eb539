import { describe, expect, it } from 'vitest';
import { childEnv } from './child-env.js';

describe('childEnv', () => {
  it('passes what a child needs and none of the service secrets', () => {
    const env = childEnv({ LC_ALL: 'C' }, {
      PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', LC_CTYPE: 'C',
      CLM_MASTER_KEY: 'k', CLM_ADMIN_TOKEN: 't', DATABASE_URL: 'postgresql://u:p@h/d', AWS_SECRET_ACCESS_KEY: 's', SANDBOX_ADMIN_SECRET: 'x',
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', LC_CTYPE: 'C', LC_ALL: 'C' });
  });
});
