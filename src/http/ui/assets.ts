// The UI's only static assets, served from memory with a strict CSP (no inline script or
// style anywhere, so a value that slipped past escaping still could not run).
export const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const APP_CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;align-items:center;gap:2em;background:#24324a;color:#fff;padding:.6em 1.5em}
header h1{font-size:1.2em;margin:0;font-weight:600}
header nav{display:flex;gap:1em;align-items:center;flex:1}
header nav a{color:#cfe0ff}
header .who{margin-left:auto;opacity:.85}
main{padding:1.2em 1.5em;max-width:70em}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:1em 1.2em;margin:0 0 1.2em}
h2{font-size:1.05em;margin:.1em 0 .7em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #eceef2;vertical-align:top}
form.inline{display:inline}
form.row{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin-top:.8em}
label{display:flex;flex-direction:column;font-size:.85em;gap:.2em}
input,select{font:inherit;padding:.3em .45em;border:1px solid #b9c0cc;border-radius:4px}
button{font:inherit;padding:.3em .8em;border-radius:4px;border:1px solid #3a5a8c;background:#3a6fc4;color:#fff;cursor:pointer}
button.danger{background:#b8382f;border-color:#8e241d}
button.plain{background:#fff;color:#24324a;border-color:#b9c0cc}
.flash{padding:.6em .9em;border-radius:5px}
.flash.ok{background:#e3f5e6;border:1px solid #9cd3a6}
.flash.error{background:#fbe5e3;border:1px solid #e4a39b}
code.rec{display:block;white-space:pre-wrap;word-break:break-all;background:#f1f3f6;padding:.35em .5em;border-radius:4px;font-size:.85em}
.muted{color:#687286;font-size:.9em}
.bar{display:inline-block;width:8em;height:.6em;background:#e4e7ec;border-radius:3px;vertical-align:middle}
.bar span{display:block;height:100%;background:#3a6fc4;border-radius:3px}
`;

// Copy buttons: <button data-copy="id-of-code-element">. Falls back to selecting the text
// when the Clipboard API is unavailable (plain HTTP on a non-loopback address).
export const APP_JS = `
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-copy]');
  if (!b) return;
  const el = document.getElementById(b.dataset.copy);
  if (!el) return;
  try {
    await navigator.clipboard.writeText(el.textContent);
    b.textContent = 'Copied';
  } catch {
    const r = document.createRange(); r.selectNodeContents(el);
    const s = getSelection(); s.removeAllRanges(); s.addRange(r);
    b.textContent = 'Selected: press Ctrl+C';
  }
});
document.addEventListener('submit', (e) => {
  const msg = e.target.dataset && e.target.dataset.confirm;
  if (msg && !confirm(msg)) e.preventDefault();
});
`;

// Quota bars without inline styles (the CSP forbids them): one class per 10 %.
export const BAR_CSS = Array.from({ length: 11 }, (_, i) => `.bar .w${i * 10}{width:${i * 10}%}`).join('\n');
