/** A process's environment, or a test's stand-in for it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Typed reads of environment variables for a boot-time config loader (ARCHITECTURE.md habit 3):
 * a bad value is reported into `problems` under the variable's name and the fallback is used, so
 * the loader can report every bad variable at once instead of stopping at the first.
 */
export interface EnvReader {
  /** The trimmed value; unset and blank both read as undefined. */
  readonly str: (name: string) => string | undefined;
  /** A whole number in [min, max]; `fallback` when unset. */
  readonly int: (name: string, fallback: number, min: number, max: number) => number;
  /** 1/true/yes/on or 0/false/no/off, any case; `fallback` when unset. */
  readonly bool: (name: string, fallback: boolean) => boolean;
}

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];

export function envReader(env: Env, problems: string[]): EnvReader {
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (TRUE_WORDS.includes(raw)) return true;
    if (FALSE_WORDS.includes(raw)) return false;
    problems.push(`${name}: must be true or false (got "${raw}")`);
    return fallback;
  };
  return { str, int, bool };
}
