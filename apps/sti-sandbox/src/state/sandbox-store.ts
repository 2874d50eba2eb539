import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';
import { emptyState, type SandboxStateData } from './records.js';

/**
 * The sandbox's persistent state: one JSON document in memory, written to `<dataDir>/state.json`
 * atomically after every change. Writes are serialized, so the file on disk always holds a
 * complete state that is at most one change behind. One process owns a data directory.
 */
export class SandboxStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly data: SandboxStateData,
  ) {}

  static async open(dataDir: string): Promise<SandboxStore> {
    const path = join(dataDir, 'state.json');
    const text = await readFileIfExists(path);
    if (text === undefined) {
      const store = new SandboxStore(path, emptyState());
      await store.persist();
      return store;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new Error(`${path} is not valid JSON; move it away to start with a fresh state`, { cause });
    }
    if ((parsed as { version?: unknown } | null)?.version !== 1) {
      throw new Error(`${path} has an unknown format version`);
    }
    return new SandboxStore(path, { ...emptyState(), ...(parsed as SandboxStateData) });
  }

  /** Read access. Callers must not mutate what they get; use `update`. */
  get state(): Readonly<SandboxStateData> {
    return this.data;
  }

  /**
   * Applies `change` to the state and waits until the result is on disk. `change` runs
   * synchronously, so no other request interleaves with it.
   */
  async update<T>(change: (state: SandboxStateData) => T): Promise<T> {
    const result = change(this.data);
    await this.persist();
    return result;
  }

  private persist(): Promise<void> {
    // Each write snapshots the state when it runs; chaining keeps them in order.
    const next = this.writing.then(() => writeFileAtomic(this.path, `${JSON.stringify(this.data, null, 1)}\n`));
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every write started so far is on disk. */
  async flush(): Promise<void> {
    await this.writing;
  }
}
