// Cancellation, as a plain interface: LSP's CancellationToken and an AbortSignal adapter both fit.

/** Tells a long computation that its result is no longer wanted. */
export interface CancellationToken {
  readonly isCancellationRequested: boolean;
}

/** A token that is never cancelled (CLI, tests). */
export const NEVER_CANCELLED: CancellationToken = Object.freeze({ isCancellationRequested: false });
