/**
 * Admin roles and what each may do (issue 2): `admin` everything, `compliance` onboarding and
 * certificates but no token management, `auditor` read-only. One table, read by the guard.
 */
export const ADMIN_ROLES = ['admin', 'compliance', 'auditor'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/**
 * What a route needs: `read` (GET/HEAD by default), `write` (other methods), `tokens` (admin
 * token management), `keys` (key-encryption key maintenance).
 */
export type AdminPermission = 'read' | 'write' | 'tokens' | 'keys';

export const ROLE_PERMISSIONS: Readonly<Record<AdminRole, readonly AdminPermission[]>> = {
  admin: ['read', 'write', 'tokens', 'keys'],
  compliance: ['read', 'write'],
  auditor: ['read'],
};

export function isAdminRole(value: string): value is AdminRole {
  return (ADMIN_ROLES as readonly string[]).includes(value);
}

/** Who made an admin request, as the audit log records it. */
export interface AdminActor {
  readonly tokenId: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly sourceAddress: string;
  readonly correlationId: string;
}
