// `npm start` / `npm test` prelude: rebuild dist/ only when a source, the schema or a build setting
// changed since the last build, so starting right after `npm ci` does not pay for a second build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.tsbuildinfo');

function newestMtime(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'generated') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

const inputs = ['apps', 'libs', 'bench', 'prisma', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const stale = inputs.some((input) => newestMtime(join(root, input)) > built);
if (stale) {
  const generate = spawnSync(process.execPath, [join(root, 'scripts', 'prisma-generate.js')], { stdio: 'inherit', cwd: root });
  if (generate.status !== 0) process.exit(generate.status ?? 1);
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: root });
  // A failed build must not leave a fresh stamp behind, or the next start would skip it.
  if (build.status !== 0) rmSync(stamp, { force: true });
  process.exit(build.status ?? 1);
}
