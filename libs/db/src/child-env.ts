/**
 * The environment handed to child processes (the embedded PostgreSQL server and tools). Only
 * what they need to run, never the parent's secrets: CLM_MASTER_KEY, admin tokens, DATABASE_URL or
 * cloud credentials must not cross into a process that runs as another OS user (as root, the
 * server runs as `postgres`, which can read its own /proc/<pid>/environ).
 */
const PASSED = /^(PATH|HOME|TMPDIR|TZ|LANG|LC_[A-Z]+)$/;

export function childEnv(extra: Readonly<Record<string, string>> = {}, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) {
    if (value !== undefined && PASSED.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}
