/**
 * Additional authenticated data for every sealed secret, whichever module seals it: binds a blob
 * to the record and field it belongs to, so a blob copied into another row (another provider's
 * password column, say) fails to open instead of handing over someone else's secret. `clm keys
 * rewrap` (keys/rewrap.service.ts) uses the same table and must list every entry.
 */
export const stiPaPasswordAad = (providerId: string) => `sti_pa_accounts:${providerId}:password`;
export const eabHmacAad = (stiCaId: string) => `sti_cas:${stiCaId}:eab_hmac`;
export const privateKeyAad = (keyId: string) => `private_keys:${keyId}:pkcs8`;
export const webhookSecretAad = (webhookId: string) => `webhooks:${webhookId}:secret`;
/** SPC tokens are bearer credentials for the tkauth-01 challenge (RFC 9447): sealed like passwords. */
export const spcTokenAad = (spcTokenId: string) => `spc_tokens:${spcTokenId}:token`;
