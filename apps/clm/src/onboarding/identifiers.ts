/**
 * Formats of the regulatory identifiers compliance staff enter, checked at the API so the error
 * names the field. The database enforces FRN, 499-A filer ID and OCN with CHECK constraints too.
 */
// FCC CORES: the FCC Registration Number is 10 digits.
export const FRN_PATTERN = /^[0-9]{10}$/;
// FCC Form 499-A: the 499 Filer ID is 6 digits.
export const FILER_499_PATTERN = /^[0-9]{6}$/;
// Robocall Mitigation Database listing numbers look like RMD0012345.
export const RMD_PATTERN = /^RMD[0-9]{5,10}$/;
// NECA company codes (OCNs) are 4 characters, digits and uppercase letters; RFC 8226 SPCs carry
// them verbatim, so lowercase is an error, not something to fix up silently.
export const OCN_PATTERN = /^[0-9A-Z]{4}$/;
