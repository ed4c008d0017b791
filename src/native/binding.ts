// Loads the compiled addon. This is the only untyped seam between TypeScript and C++:
// everything the addon exports is described by NativeBinding and used through it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FieldDesc {
  off: number;
  len: number;
}

export interface NativeFormat {
  magic: number;
  versionMajor: number;
  header: Record<string, FieldDesc | number>;
  iface: Record<string, FieldDesc | number>;
  address: Record<string, FieldDesc | number>;
  entry: Record<string, FieldDesc | number>;
  rule: Record<string, FieldDesc | number>;
  conntrack: Record<string, FieldDesc | number>;
  flags: Record<string, number>;
  timeoutSlots: string[];
  reasons: string[];
  malformedSubs: string[];
  invalidSubs: string[];
}

export interface NativeBinding {
  describeFormat(): NativeFormat;
}

let cached: NativeBinding | undefined;

/** The project root: two levels above this file, in src/ (vitest) or dist/ (built). */
function projectRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function loadNative(): NativeBinding {
  if (cached) return cached;
  const root = projectRoot();
  const candidates = [
    join(root, 'build', 'Release', 'sgfw_native.node'),
    join(root, 'build', 'Debug', 'sgfw_native.node'),
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      `sgfw native addon not built (looked for ${candidates.join(', ')}): run "npm run build"`,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeBinding;
  return cached;
}
