import { visible } from '../common/terminal-text';

/** HTML text, already escaped: the only thing pages concatenate. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes any value for HTML text or a quoted attribute. Controls, bidi overrides and invisible characters are made
 * visible first (as the CLI shows them), so an agent-written summary can neither inject markup nor hide a word.
 */
export function escapeHtml(value: unknown): string {
  const s = typeof value === 'string' ? value : value === undefined ? '' : String(value);
  return visible(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * A template tag that escapes every interpolated value unless it is {@link Html} (or an array of it): pages are
 * written as `html\`<p>${summary}</p>\`` and cannot forget to escape.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === false || value === null || value === undefined) return '';
  return escapeHtml(value);
}
