// The admin UI's pages, as pure functions from data to HTML.
import type { AliasRecord, DomainRecord, UserRecord } from '../../directory/types.js';
import type { QuotaUsage } from '../../maildir/types.js';
import { zoneLine, type DnsRecord } from '../dns-records.js';
import { csrfField, html, type Raw } from './html.js';
import type { QueueMessageJson } from '../outbound.js';

const MB = 1024 * 1024;

export function loginPage(csrf: string): Raw {
  return html`<section><h2>Sign in</h2>
<form method="post" action="/admin/login" class="row" id="login">${csrfField(csrf)}
<label>Administrator address<input name="user" type="email" autocomplete="username" placeholder="admin@example.com"></label>
<label>Password or admin token<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<p class="muted">An admin user (listed in <code>http.admins</code>) signs in with their mailbox password. Leave the address empty to sign in with an admin token (<code>http.adminTokens</code>).</p></section>`;
}

export function domainsPage(csrf: string, domains: Array<DomainRecord & { users: number; aliases: number }>): Raw {
  const rows = domains.map(
    (d) => html`<tr><td><a href="/admin/domains/${encodeURIComponent(d.name)}">${d.name}</a></td><td>${d.active ? 'active' : 'disabled'}</td><td>${d.users}</td><td>${d.aliases}</td></tr>`,
  );
  return html`<section><h2>Domains</h2>
<table id="domains"><thead><tr><th>Domain</th><th>State</th><th>Users</th><th>Aliases</th></tr></thead><tbody>${rows}</tbody></table>
${domains.length === 0 ? html`<p class="muted">No domains yet. Add the first one below.</p>` : ''}
<form method="post" action="/admin/domains" class="row" id="add-domain">${csrfField(csrf)}
<label>New domain<input name="name" required placeholder="example.com"></label><button type="submit">Add domain</button></form></section>`;
}

function usageBar(u: UserRecord, usage: QuotaUsage | null): Raw {
  if (!usage) return html`<span class="muted">no mailbox yet</span>`;
  const used = `${(usage.bytes / MB).toFixed(1)} MB`;
  if (!u.quotaMb) return html`${used} of unlimited`;
  const pct = Math.min(100, Math.round((usage.bytes / (u.quotaMb * MB)) * 100));
  return html`<span class="bar"><span class="w${Math.round(pct / 10) * 10}"></span></span> ${used} of ${u.quotaMb} MB (${pct}%)`;
}

export interface DomainView {
  domain: DomainRecord;
  users: Array<{ user: UserRecord; usage: QuotaUsage | null }>;
  aliases: AliasRecord[];
  dns: DnsRecord[];
  dkim: Array<{ selector: string; type: string; active: boolean }>;
}

export function domainPage(csrf: string, v: DomainView): Raw {
  const d = v.domain.name;
  const enc = encodeURIComponent(d);
  const users = v.users.map(
    ({ user, usage }) => html`<tr><td><a href="/admin/users/${encodeURIComponent(user.address)}">${user.address}</a></td>
<td>${user.active ? 'active' : 'disabled'}</td><td>${usageBar(user, usage)}</td></tr>`,
  );
  const aliases = v.aliases.map(
    (a) => html`<tr><td>${a.source}</td><td>${a.destinations.map(
      (dest) => html`<div>${dest} <form method="post" action="/admin/aliases/delete" class="inline" data-confirm="Remove ${a.source} → ${dest}?">${csrfField(csrf)}
<input type="hidden" name="source" value="${a.source}"><input type="hidden" name="destination" value="${dest}"><input type="hidden" name="back" value="${d}">
<button type="submit" class="plain" aria-label="Remove ${a.source} to ${dest}">Remove</button></form></div>`,
    )}</td></tr>`,
  );
  const dns = v.dns.map((r, i) => html`<tr><td>${r.type}</td><td><code class="rec" id="rec-${i}">${zoneLine(r)}</code><span class="muted">${r.note}</span></td>
<td><button type="button" class="plain" data-copy="rec-${i}">Copy</button></td></tr>`);
  return html`<section><h2>Users</h2>
<table id="users"><thead><tr><th>Address</th><th>State</th><th>Quota use</th></tr></thead><tbody>${users}</tbody></table>
<form method="post" action="/admin/domains/${enc}/users" class="row" id="add-user">${csrfField(csrf)}
<label>Name (before @${d})<input name="localPart" required></label>
<label>Password<input name="password" type="password" autocomplete="new-password" required></label>
<label>Quota MB (0 = unlimited)<input name="quotaMb" type="number" min="0" placeholder="default"></label>
<button type="submit">Add user</button></form></section>
<section><h2>Aliases</h2>
<table id="aliases"><thead><tr><th>Alias</th><th>Delivers to</th></tr></thead><tbody>${aliases}</tbody></table>
<form method="post" action="/admin/domains/${enc}/aliases" class="row" id="add-alias">${csrfField(csrf)}
<label>Alias name (empty = catch-all @${d})<input name="localPart"></label>
<label>Destinations (comma-separated addresses)<input name="destinations" required size="40"></label>
<button type="submit">Add alias</button></form></section>
<section><h2>DNS records to publish for ${d}</h2>
<table id="dns"><tbody>${dns}</tbody></table>
</section>
<section><h2>DKIM keys</h2>
${v.dkim.length === 0 ? html`<p class="muted">No DKIM key yet: outgoing mail from ${d} is not signed. Generate one, then publish its record above.</p>` : ''}
<table id="dkim"><tbody>${v.dkim.map((k) => html`<tr><td>${k.selector}</td><td>${k.type}</td><td>${k.active ? 'signing' : 'not signing (a newer or configured selector of this type is used)'}</td></tr>`)}</tbody></table>
<form method="post" action="/admin/domains/${enc}/dkim" class="row" id="add-dkim">${csrfField(csrf)}
<label>Key type<select name="type"><option value="rsa">RSA 2048</option><option value="ed25519">Ed25519</option></select></label>
<label>Selector (optional)<input name="selector" placeholder="rsaYYYYMM"></label><button type="submit">Generate DKIM key</button></form></section>
<section><h2>Domain</h2>
<form method="post" action="/admin/domains/${enc}/active" class="inline">${csrfField(csrf)}<input type="hidden" name="active" value="${v.domain.active ? '0' : '1'}">
<button type="submit" class="plain">${v.domain.active ? 'Disable mail for this domain' : 'Enable mail for this domain'}</button></form>
<form method="post" action="/admin/domains/${enc}/delete" class="inline" data-confirm="Delete ${d}?">${csrfField(csrf)}<button type="submit" class="danger">Delete domain</button></form>
<p class="muted">A domain can be deleted once it has no users or aliases left.</p></section>`;
}

export function userPage(csrf: string, u: UserRecord, usage: QuotaUsage | null): Raw {
  const enc = encodeURIComponent(u.address);
  return html`<p><a href="/admin/domains/${encodeURIComponent(u.domain)}">← ${u.domain}</a></p>
<section><h2>Mailbox</h2><p id="usage">${usageBar(u, usage)}${usage ? html`, ${usage.messages} messages` : ''}</p>
<form method="post" action="/admin/users/${enc}/quota" class="row" id="set-quota">${csrfField(csrf)}
<label>Quota MB (0 = unlimited)<input name="quotaMb" type="number" min="0" required value="${u.quotaMb}"></label><button type="submit">Save quota</button></form></section>
<section><h2>Password</h2><form method="post" action="/admin/users/${enc}/password" class="row" id="set-password">${csrfField(csrf)}
<label>New password<input name="password" type="password" autocomplete="new-password" required></label><button type="submit">Set password</button></form></section>
<section><h2>Account</h2>
<form method="post" action="/admin/users/${enc}/active" class="inline">${csrfField(csrf)}<input type="hidden" name="active" value="${u.active ? '0' : '1'}">
<button type="submit" class="plain">${u.active ? 'Disable this user' : 'Enable this user'}</button></form>
<form method="post" action="/admin/users/${enc}/delete" class="inline" data-confirm="Delete ${u.address}? The mail stays on disk.">${csrfField(csrf)}<button type="submit" class="danger">Delete user</button></form>
<p class="muted">Deleting a user keeps their Maildir on disk.</p></section>`;
}

export function queuePage(csrf: string, messages: QueueMessageJson[]): Raw {
  const rows = messages.map(
    (m) => html`<tr><td><code>${m.id}</code></td><td>${m.createdAt.replace('T', ' ').slice(0, 19)}</td><td>&lt;${m.mailFrom}&gt;</td>
<td>${m.recipients.map((r) => html`<div>${r.address}: ${r.status} (${r.attempts} attempts)${r.lastReply ? html` <span class="muted">${r.lastReply}</span>` : ''}</div>`)}</td>
<td><form method="post" action="/admin/queue/retry" class="inline">${csrfField(csrf)}<input type="hidden" name="id" value="${m.id}"><button type="submit" class="plain">Retry</button></form>
<form method="post" action="/admin/queue/delete" class="inline" data-confirm="Delete ${m.id} without delivering it?">${csrfField(csrf)}<input type="hidden" name="id" value="${m.id}"><button type="submit" class="danger">Delete</button></form></td></tr>`,
  );
  return html`<section><h2>Outbound queue</h2>
${messages.length === 0 ? html`<p class="muted" id="queue-empty">The queue is empty: every message has been delivered or bounced.</p>` : html`<table id="queue"><thead><tr><th>ID</th><th>Arrived (UTC)</th><th>From</th><th>Recipients</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<form method="post" action="/admin/queue/retry" class="row">${csrfField(csrf)}<button type="submit">Retry all now</button></form>`}</section>`;
}
