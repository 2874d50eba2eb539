import { encodeAcmeIdentifierValue, isShakenError, type AcmeIdentifierEncoding } from '@app/shaken';
import { AcmeErrorCode, AcmeUsageError } from './errors.js';
import type { AcmeIdentifier } from './resources.js';

/**
 * How a CA wants the TNAuthList identifier value written. RFC 9448 §3 says base64url without
 * padding; several STI-CAs document padded standard base64 instead, so it is a per-CA setting.
 */
export type TnAuthListEncoding = AcmeIdentifierEncoding;

export const TN_AUTH_LIST_IDENTIFIER_TYPE = 'TNAuthList';

/** An identifier for newOrder: a ready `{type, value}`, or a TNAuthList given as DER bytes. */
export type AcmeIdentifierInput = AcmeIdentifier | { type: typeof TN_AUTH_LIST_IDENTIFIER_TYPE; der: Uint8Array };

/**
 * The identifier value, written by @app/shaken (the same code that writes `atc.tkvalue`), after it
 * has decoded the bytes as an RFC 8226 TNAuthorizationList: a CA would reject anything else.
 */
export function encodeTnAuthListValue(der: Uint8Array, encoding: TnAuthListEncoding): string {
  if (encoding !== 'base64url' && encoding !== 'base64') {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `unknown TNAuthList identifier encoding ${String(encoding)}`);
  }
  try {
    return encodeAcmeIdentifierValue(der, encoding);
  } catch (error) {
    if (!isShakenError(error)) throw error;
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `TNAuthList identifier is not the DER of a TNAuthorizationList: ${error.message}`, { cause: error });
  }
}

export function toWireIdentifier(input: AcmeIdentifierInput, encoding: TnAuthListEncoding): AcmeIdentifier {
  if ('der' in input) return { type: TN_AUTH_LIST_IDENTIFIER_TYPE, value: encodeTnAuthListValue(input.der, encoding) };
  if (typeof input.type !== 'string' || input.type === '' || typeof input.value !== 'string' || input.value === '') {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'ACME identifier needs a non-empty type and value');
  }
  return { type: input.type, value: input.value };
}
