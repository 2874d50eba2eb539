// Types for offline-prisma.mjs, so TypeScript tests can drive the Prisma 6 CLI too.
export declare const rootDir: string;
export declare const schemaPath: string;
export declare const migrationsDir: string;
export declare const DEFAULT_SERVER_URL: string;
export declare function ensureInstalled(): void;
export declare function withThrowawayDatabase<T>(fn: (databaseUrl: string) => T | Promise<T>): Promise<T>;
export interface SchemaOptions {
  /** A schema file to use instead of prisma/schema.prisma. */
  readonly schemaFile?: string;
}
export declare function runPrisma(args: readonly string[], databaseUrl: string, options?: SchemaOptions): { status: number | null; stdout: string; stderr: string };
export declare function diffMigrationsToSchema(databaseUrl: string, options?: SchemaOptions): { sql: string; differs: boolean };
