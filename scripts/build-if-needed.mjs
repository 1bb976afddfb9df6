// `npm start` builds first when dist/ is missing or older than any source file, so the
// first-run experience is `npm ci && npm start` with no separate build step.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function newest(dir) {
  let max = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, await newest(p));
    else if (e.name.endsWith('.ts')) max = Math.max(max, (await stat(p)).mtimeMs);
  }
  return max;
}

const srcTime = Math.max(await newest(join(root, 'src')), await newest(join(root, 'bench')));
let distTime = 0;
try {
  distTime = (await stat(join(root, 'dist', 'src', 'main.js'))).mtimeMs;
} catch {}
if (distTime < srcTime) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
