import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from './clm-process.js';

const execFileAsync = promisify(execFile);

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `clm` (bin/clm.js) as an operator would, with CLM_SERVER/CLM_TOKEN set; never throws on a non-zero exit. */
export async function runCli(env: { server: string; token: string }, ...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['bin/clm.js', ...args], {
      cwd: repoRoot,
      env: { ...process.env, CLM_SERVER: env.server, CLM_TOKEN: env.token },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
