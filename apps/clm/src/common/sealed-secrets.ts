/**
 * Additional authenticated data for every sealed secret: binds a blob to the record and field it
 * belongs to, so a blob copied into another row (another provider's password column, say) fails
 * to open instead of handing over someone else's secret. `clm keys rewrap` uses the same table.
 */
export const stiPaPasswordAad = (providerId: string) => `sti_pa_accounts:${providerId}:password`;
export const eabHmacAad = (stiCaId: string) => `sti_cas:${stiCaId}:eab_hmac`;
export const privateKeyAad = (keyId: string) => `private_keys:${keyId}:pkcs8`;
export const webhookSecretAad = (webhookId: string) => `webhooks:${webhookId}:secret`;
