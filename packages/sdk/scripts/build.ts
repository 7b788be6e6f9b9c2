/**
 * Builds the publishable SDK into dist/: one ES module (index.js) with the workspace code it
 * uses bundled in, one declaration file (index.d.ts) with their types inlined, and the
 * repository's LICENSE. A platform's install then needs nothing but the package's declared
 * (peer) dependencies: the workspace packages are private and never published.
 *
 *   npm run build -w @livetally/sdk
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateDtsBundle } from 'dts-bundle-generator';
import { build } from 'esbuild';

const PACKAGE_DIR = resolve(import.meta.dirname, '..');
const DIST = join(PACKAGE_DIR, 'dist');
const ENTRY = join(PACKAGE_DIR, 'src', 'index.ts');

interface Manifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Manifest;
const declaredDependencies = [
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.peerDependencies ?? {}),
];

async function buildJs(): Promise<void> {
  await build({
    entryPoints: [ENTRY],
    outfile: join(DIST, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Node's built-ins and the declared (peer) dependencies stay imports; the workspace code is bundled in.
    external: declaredDependencies,
    logLevel: 'warning',
  });
}

function buildTypes(): void {
  const [dts] = generateDtsBundle([{ filePath: ENTRY, output: { noBanner: true, exportReferencedTypes: false } }], {
    preferredConfigPath: join(PACKAGE_DIR, 'tsconfig.build.json'),
  });
  if (dts === undefined || /from\s+['"]@livetally\//.test(dts))
    throw new Error('dist/index.d.ts must inline the workspace packages it uses, not import them');
  writeFileSync(join(DIST, 'index.d.ts'), dts);
}

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });
await buildJs();
buildTypes();
copyFileSync(join(PACKAGE_DIR, '..', '..', 'LICENSE'), join(DIST, 'LICENSE'));
process.stdout.write(`built ${DIST}: index.js, index.d.ts, LICENSE\n`);
