import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libs = ['shaken', 'acme', 'sti-pa', 'keystore', 'storage', 'db', 'http', 'local-infra'];
const alias = Object.fromEntries(
  libs.map((lib) => [`@app/${lib}`, fileURLToPath(new URL(`./libs/${lib}/src/index.ts`, import.meta.url))]),
);

// SWC instead of esbuild: Nest needs decorator metadata, which esbuild does not emit.
const shared = {
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { alias },
};

export default defineConfig({
  test: {
    // Pinned so that date and time assertions mean the same on every machine.
    env: { TZ: 'UTC' },
    projects: [
      {
        ...shared,
        test: { name: 'unit', include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts'], testTimeout: 20_000 },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
