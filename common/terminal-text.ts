/**
 * Text a person reads, made safe to print: every C0 and C1 control character (escape sequences that could clear a
 * terminal or draw a fake plan, carriage returns and newlines that could forge a line), DEL, and the Unicode
 * bidirectional and invisible formatting characters that reorder or hide what is shown, become visible escapes
 * like `\x1b` or `\u202e`. Applied to every value that came from an agent, an approver or a target.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
/** The same, less C0: in JSON text those appear only as its own whitespace, since `JSON.stringify` escapes them in strings. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** A value as one safe line of text. */
export function visible(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.replace(UNSAFE, escapeChar);
}

/**
 * JSON for people and pipes alike: `JSON.stringify` already escapes C0 characters; this also writes C1, bidi and
 * invisible characters as `\uXXXX`, which is the same JSON value, so output piped into a terminal cannot reorder it.
 */
export function safeJson(value: unknown, space?: number): string {
  return (JSON.stringify(value, null, space) ?? 'null').replace(
    UNSAFE_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Multi-line text (error messages) made safe the same way, keeping its own line breaks. */
export function visibleLines(text: string): string {
  return text.split('\n').map(visible).join('\n');
}
