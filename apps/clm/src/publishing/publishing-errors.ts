import type { LintFinding } from '@app/shaken';

/**
 * Stable codes of the publishing feature. The lifecycle records them on the order (and backs off,
 * leaving the previous certificate active); the admin API returns them in problem documents.
 */
export const PublishingErrorCode = {
  /** The store refused or failed the upload (its own code is in `storageCode`); nothing was published. */
  UPLOAD_FAILED: 'STI_CR.UPLOAD_FAILED',
  /** The chain was uploaded, but the x5u does not serve it the way a verifier needs (`findings`). */
  CHECK_FAILED: 'STI_CR.CHECK_FAILED',
  /** The chain handed to the publisher is not one we can publish (unreadable, wrong fingerprint). */
  CHAIN_INVALID: 'STI_CR.CHAIN_INVALID',
} as const;

export type PublishingErrorCode = (typeof PublishingErrorCode)[keyof typeof PublishingErrorCode];

/**
 * A publishing failure. The message names the URL and the finding codes; it never carries body
 * bytes (a refused body may hold a key) or credentials.
 */
export class PublishingError extends Error {
  override readonly name = 'PublishingError';
  constructor(
    readonly code: PublishingErrorCode,
    message: string,
    readonly details: { readonly storageCode?: string; readonly url?: string; readonly findings?: readonly LintFinding[] } = {},
  ) {
    super(message);
  }
}

export function isPublishingError(error: unknown, code?: PublishingErrorCode): error is PublishingError {
  return error instanceof PublishingError && (code === undefined || error.code === code);
}
