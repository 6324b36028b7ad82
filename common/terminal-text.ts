/**
 * Text a person reads, made safe to print: every C0 and C1 control character (escape sequences that could clear a
 * terminal or draw a fake plan, carriage returns and newlines that could forge a line), DEL, the line and paragraph
 * separators, and every format, private-use or default-ignorable character (bidirectional controls that reorder what
 * is shown; zero-width characters, variation selectors, fillers and Unicode tag characters that hide text a model
 * would still read) become visible escapes like `\x1b`, `\u202e` or `\u{e0041}`. Applied to every value that came
 * from an agent, an approver or a target.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cf}|\p{Co}|\p{Default_Ignorable_Code_Point}/gu;
/** The same, less C0: in JSON text those appear only as its own whitespace, since `JSON.stringify` escapes them in strings. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029]|\p{Cf}|\p{Co}|\p{Default_Ignorable_Code_Point}/gu;

const hex4 = (unit: number) => `\\u${unit.toString(16).padStart(4, '0')}`;
const escapeChar = (c: string): string => {
  const code = c.codePointAt(0) as number;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code <= 0xffff ? hex4(code) : `\\u{${code.toString(16)}}`;
};
/** In JSON, the escape that is the same value: a character beyond the BMP as its two UTF-16 units. */
const escapeInJson = (c: string): string => [...Array(c.length).keys()].map((i) => hex4(c.charCodeAt(i))).join('');

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
  return (JSON.stringify(value, null, space) ?? 'null').replace(UNSAFE_IN_JSON, escapeInJson);
}

/** Multi-line text (error messages) made safe the same way, keeping its own line breaks. */
export function visibleLines(text: string): string {
  return text.split('\n').map(visible).join('\n');
}
