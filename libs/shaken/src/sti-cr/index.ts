/**
 * The STI-CR (certificate repository) linter: what a verifier needs from an x5u URL and its HTTP
 * response, with `e_sticr_*` / `w_sticr_*` codes of this product's own design.
 */
export { lintStiCrUrl } from './sti-cr-url.js';
export {
  lintStiCrResponse,
  STI_CR_MAX_BODY_BYTES,
  STI_CR_MIN_MAX_AGE_SECONDS,
  type StiCrLintOptions,
  type StiCrResponse,
} from './sti-cr-response.js';
export {
  fetchStiCr,
  stiCrDispatcher,
  type FetchStiCrOptions,
  type FetchedStiCr,
  type StiCrDispatcherOptions,
} from './fetch-sti-cr.js';
export { StiCrCitation } from './sti-cr-findings.js';
