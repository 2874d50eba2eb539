import { base64Decode, decodeTnAuthList, isShakenError, singleSpc } from '@app/shaken';
import type { SandboxUrls } from '../common/sandbox-urls.js';
import { STI_PA_CRL_ISSUER_DN } from '../pki/sandbox-pki.js';
import type { SpcTokenIssuer } from './spc-token-issuer.js';
import { StiPaFailure } from './sti-pa-failure.js';
import type { StiPaUsers } from './sti-pa-users.js';
import type { AtcRequestDto } from './sti-pa.dto.js';

// ATIS-1000080 v005 §5.3.1 / what production clients send: SHA256 over the account key's SPKI.
const FINGERPRINT = /^SHA256 [0-9A-F]{2}(?::[0-9A-F]{2}){31}$/;
// Some STI-CAs document the RFC 7638 thumbprint instead; the STI-PA passes either through.
const JWK_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/**
 * The STI-PA's token endpoint logic (`POST /account/{OCN}/token`): the API user must hold the OCN,
 * `tkvalue` must be the standard base64 DER TNAuthList of exactly that OCN's SPC, the fingerprint
 * must be well formed, and `ca: true` needs the STI-PA's approval for delegate certificates.
 */
export class TokenDesk {
  constructor(
    private readonly users: StiPaUsers,
    private readonly issuer: SpcTokenIssuer,
    private readonly urls: SandboxUrls,
  ) {}

  async requestToken(userId: string, ocn: string, atc: AtcRequestDto): Promise<Record<string, string>> {
    if (!/^[0-9A-Z]{4}$/.test(ocn)) throw new StiPaFailure(400, `"${ocn}" is not an OCN (4 digits or uppercase letters)`);
    const user = this.users.find(userId);
    if (!user || !user.ocns.includes(ocn)) throw new StiPaFailure(403, `OCN ${ocn} is not assigned to this account`);
    if (atc.ca && !user.caTokens) throw new StiPaFailure(403, 'this account is not approved for CA (delegate certificate) tokens');
    const der = base64Decode(atc.tkvalue);
    if (der === undefined) throw new StiPaFailure(400, 'tkvalue must be the standard base64 (padded) DER TNAuthList');
    let spc: string | undefined;
    try {
      spc = singleSpc(decodeTnAuthList(der));
    } catch (error) {
      if (isShakenError(error)) throw new StiPaFailure(400, `tkvalue is not a DER TNAuthList: ${error.message}`);
      throw error;
    }
    if (spc !== ocn) throw new StiPaFailure(400, `tkvalue must be the TNAuthList holding exactly the SPC ${ocn}`);
    if (!FINGERPRINT.test(atc.fingerprint) && !JWK_THUMBPRINT.test(atc.fingerprint)) {
      throw new StiPaFailure(400, 'fingerprint must be "SHA256 " followed by 32 uppercase hex bytes separated by colons');
    }
    const { token } = await this.issuer.issue({ tkvalue: atc.tkvalue, ca: atc.ca, fingerprint: atc.fingerprint });
    return { status: 'success', message: 'Token generated successfully', token, crl: this.urls.stiPaCrl, iss: STI_PA_CRL_ISSUER_DN };
  }
}
