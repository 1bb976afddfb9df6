// POST /api/v1/password: a user changes their own password by proving the old one. Shaped
// for Roundcube's `password` plugin with its `httpapi` driver, which POSTs the fields named
// by password_httpapi_var_user/_curpass/_newpass (here `user`, `curpass`, `newpass`) as a
// form — multipart from older PHP curl versions, urlencoded from Guzzle — and treats any
// 2xx as success, optionally matching the body against password_httpapi_expect (`/^ok$/i`).
// JSON with the same fields works too. No admin token: the old password is the credential,
// checked through the shared login throttle.
import { readForm, sendText, validate } from '../body.js';
import { checkPassword } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import type { Router } from '../router.js';
import { changeOwnPassword } from './schemas.js';

export function registerPasswordRoute(router: Router, deps: HttpDeps): void {
  router.post('/api/v1/password', async (ctx) => {
    const fields = await readForm(ctx.req, deps.config.http.maxJsonBytes);
    const body = validate(changeOwnPassword, fields);
    const user = await checkPassword(deps, ctx, body.user, body.curpass);
    // 403 (not 401): Roundcube maps 4xx other than 404 to "could not save the password".
    if (!user) throw new HttpError(403, 'forbidden', 'the current password is wrong');
    await deps.directory.setPassword(user.address, body.newpass);
    ctx.log.info({ user: user.address }, 'password changed by its user');
    sendText(ctx.res, 200, 'ok');
  });
}
