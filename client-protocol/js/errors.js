// errors.js: RookeryError, what every promise of the SDK rejects with.

/**
 * An error from a node (`client/ERROR` or an HTTP error body) or from the SDK itself.
 * SDK codes: `timeout` (no answer in time), `disconnected` (the socket dropped before the
 * answer; the message may or may not have been applied), `closed` (the client was closed).
 */
export class RookeryError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ref?: string, frame?: object, status?: number}} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "RookeryError";
    this.code = code;
    this.ref = details.ref;
    this.frame = details.frame;
    this.status = details.status;
  }
}
