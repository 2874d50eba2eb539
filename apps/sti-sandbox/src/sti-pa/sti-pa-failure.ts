/**
 * A refusal by the sandbox STI-PA. Rendered as `{"status":"failed","message":...}` with the
 * given HTTP status: the shape of the STI-PA's answers, whose `message` is what clients show.
 */
export class StiPaFailure extends Error {
  override readonly name = 'StiPaFailure';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}
