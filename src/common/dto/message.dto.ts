/** A human-readable confirmation, as SuperMQ answers these flows. */
export class MessageDto {
  /** @example Email with reset link is sent */
  msg: string;
}
