/**
 * Bounds for messages built from untrusted input (a CSV with a million columns, a 10 MB cell, thousands
 * of config problems): values are quoted and cut, lists name the first few and count the rest, and a whole
 * message is cut as a last guard. Every error message the backend sends or prints goes through these.
 */

/** The longest message sent over the protocol or printed (characters). */
export const MAX_MESSAGE_CHARS = 4096;
/** The longest quoted value inside a message (characters, before quoting). */
export const MAX_VALUE_CHARS = 120;
/** How many items of a list a message names before "and K more". */
export const MAX_LISTED = 10;

/** `value` as a JSON string, cut at `max` characters with an ellipsis and its full length. */
export function quoted(value: string, max = MAX_VALUE_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/** The first `max` items joined with ", ", then "and K more" when there are more. */
export function listed(items: readonly string[], max = MAX_LISTED, noun = ''): string {
  const shown = items.slice(0, max).join(', ');
  const rest = items.length - max;
  return rest > 0 ? `${shown} and ${rest} more${noun ? ` ${noun}` : ''}` : shown;
}

/** `message` cut at `max` characters, saying how much was left out. */
export function boundMessage(message: string, max = MAX_MESSAGE_CHARS): string {
  if (message.length <= max) return message;
  const tail = ` … (message cut: ${message.length - max} more characters)`;
  return message.slice(0, max - tail.length) + tail;
}
