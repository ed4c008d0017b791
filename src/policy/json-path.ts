// JSON paths as messages print them: `securityGroups[2].Permissions.Permission[5].Priority`,
// `groupMembers["sg-db"][0]` for keys that are not identifiers.

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Extend a path by an object key or an array index. */
export function at(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (IDENT.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}
