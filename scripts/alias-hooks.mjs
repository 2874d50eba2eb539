// Module resolution hook for the compiled service: maps the `@app/<lib>` barrels that
// tsconfig "paths" resolves at compile time onto their compiled files under dist/.
const dist = new URL('../dist/', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const match = /^@app\/([a-z0-9-]+)$/.exec(specifier);
  if (match) return nextResolve(new URL(`libs/${match[1]}/src/index.js`, dist).href, context);
  return nextResolve(specifier, context);
}
