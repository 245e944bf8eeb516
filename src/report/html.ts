/**
 * HTML for the reports: a tagged template that escapes every interpolated value unless it is already `SafeHtml`
 * (markup we built), so text from data (class names, ids, paths) always shows as text; and the page template
 * (inline CSS, no scripts, nothing fetched: the page opens offline).
 */

/** Markup that is safe to insert as is: built by `html` or `trustedMarkup`. */
export class SafeHtml {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML or XML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => entities[ch]);
}

/** Wraps markup produced by a trusted renderer (vega's SVG, which escapes its own text). */
export function trustedMarkup(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<td>${name}</td>\`` escapes `name`; nested `html` results and arrays of them are inserted as markup. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, i) => (out += render(value) + strings[i + 1]));
  return new SafeHtml(out);
}

/** A number for a table cell: fixed digits, `—` where there is none, an explicit `+` on request (differences). */
export function formatNumber(value: number | null | undefined, digits = 4, options: { sign?: boolean } = {}): string {
  if (value === null || value === undefined) return '—';
  return `${options.sign && value > 0 ? '+' : ''}${value.toFixed(digits)}`;
}

/** Cells that read as numbers (values, `—`, intervals) line up on the right. */
function isNumeric(cell: string | number | SafeHtml): boolean {
  return typeof cell === 'number' || (typeof cell === 'string' && /^([+-]?\d|—$|\[[+-]?\d)/.test(cell) && !/[a-z]{3}/i.test(cell));
}

export interface TableOptions {
  className?: string;
  caption?: string;
  /** Right-align the cells that read as numbers (default true; off for key-value tables). */
  alignNumbers?: boolean;
}

/** A table: the header row (none when empty), then body rows; every cell is text unless it is SafeHtml. */
export function htmlTable(header: readonly string[], rows: readonly (readonly (string | number | SafeHtml)[])[], options: TableOptions = {}): SafeHtml {
  const align = options.alignNumbers ?? true;
  return html`<table class="${options.className ?? 'data'}">${options.caption ? html`<caption>${options.caption}</caption>` : ''}
${header.length > 0 ? html`<thead><tr>${header.map((cell) => html`<th>${cell}</th>`)}</tr></thead>` : ''}
<tbody>${rows.map((row) => html`<tr>${row.map((cell) => html`<td${align && isNumeric(cell) ? html` class="num"` : ''}>${cell}</td>`)}</tr>\n`)}</tbody></table>`;
}

/** A figure: an inline SVG (rendered by vega, or built with escaped text), its caption and links to its files. */
export function figureHtml(figure: { name: string; svg: string; caption: string; kind?: 'chart' | 'image'; /** The folder of its files, beside the page (figures/ by default). */ dir?: string }): SafeHtml {
  const dir = figure.dir ?? 'figures';
  return html`<figure class="${figure.kind ?? 'chart'}" id="figure-${figure.name}" data-figure="${figure.name}">
${trustedMarkup(figure.svg)}
<figcaption>${figure.caption} <span class="files">(<a href="${dir}/${figure.name}.svg">SVG</a> · <a href="${dir}/${figure.name}.png">PNG</a>)</span></figcaption>
</figure>`;
}

export interface PageSection {
  id: string;
  title: string;
  body: SafeHtml;
}

const style = `
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 2rem 3rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
nav a { margin-right: 1rem; }
p.subtitle { color: #555; margin-top: 0; }
figure { margin: 1rem 1.5rem 1rem 0; display: inline-block; vertical-align: top; width: min-content; max-width: 100%; overflow-x: auto; }
figure svg { max-width: none; height: auto; }
figcaption { font-size: 0.85rem; color: #444; min-width: 20rem; }
table.data { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
table.data th, table.data td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
table.data td.num { text-align: right; white-space: nowrap; }
table.data caption { caption-side: bottom; font-size: 0.8rem; color: #555; text-align: left; padding-top: 0.3rem; }
ul.notes li { color: #7a4b00; }
pre { background: #f6f6f6; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
.files { white-space: nowrap; }
`;

/** A complete, self-contained page: title, a section index, the sections, and the notes (what was left out and why). */
export function htmlPage(page: { title: string; subtitle?: string; sections: readonly PageSection[]; notes: readonly string[]; footer?: string }): string {
  const notes = page.notes.length > 0 ? html`<section id="notes"><h2>Notes</h2><ul class="notes">${page.notes.map((note) => html`<li>${note}</li>`)}</ul></section>` : '';
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<style>${trustedMarkup(style)}</style>
</head>
<body>
<h1>${page.title}</h1>
${page.subtitle ? html`<p class="subtitle">${page.subtitle}</p>` : ''}
<nav>${page.sections.map((section) => html`<a href="#${section.id}">${section.title}</a>`)}${page.notes.length > 0 ? html`<a href="#notes">Notes</a>` : ''}</nav>
${page.sections.map((section) => html`<section id="${section.id}"><h2>${section.title}</h2>\n${section.body}</section>\n`)}
${notes}
${page.footer ? html`<footer><p class="subtitle">${page.footer}</p></footer>` : ''}
</body>
</html>
`.markup;
}
