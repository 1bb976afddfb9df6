// Server-rendered HTML with escaping by default: every interpolated value is escaped unless
// it is a Raw fragment produced by this module. Why server-rendered: no build step or client
// bundle to ship and audit, pages work without JavaScript (only the copy button uses it),
// and each form carries its CSRF token naturally.
export class Raw {
  constructor(readonly value: string) {}
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

type Value = string | number | boolean | null | undefined | Raw | Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Raw) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Raw {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Raw(out);
}

export interface PageOptions {
  title: string;
  /** Signed-in administrator (shown with the sign-out button), if any. */
  user?: string | undefined;
  csrf?: string | undefined;
  flash?: { kind: 'ok' | 'error'; text: string } | undefined;
}

export function page(opts: PageOptions, body: Raw): string {
  const nav = opts.user
    ? html`<nav><a href="/admin/domains">Domains</a> <a href="/admin/queue">Queue</a>
        <span class="who">${opts.user}</span>
        <form method="post" action="/admin/logout" class="inline">${csrfField(opts.csrf)}<button type="submit" id="sign-out">Sign out</button></form></nav>`
    : '';
  const flash = opts.flash ? html`<p class="flash ${opts.flash.kind}" role="${opts.flash.kind === 'error' ? 'alert' : 'status'}">${opts.flash.text}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)} · mail admin</title><link rel="stylesheet" href="/admin/assets/app.css"><script src="/admin/assets/app.js" defer></script></head>
<body><header><h1>${escapeHtml(opts.title)}</h1>${render(nav)}</header><main>${render(flash)}${body.value}</main></body></html>`;
}

export function csrfField(token: string | undefined): Raw {
  return html`<input type="hidden" name="_csrf" value="${token ?? ''}">`;
}
