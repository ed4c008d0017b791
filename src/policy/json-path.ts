// JSON paths as messages print them: `securityGroups[2].Permissions.Permission[5].Priority`,
// `groupMembers["sg-db"][0]` for keys that are not identifiers.

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
// The readers extend paths by the same few dozen keys once per rule: test each key once.
const identKeys = new Map<string, boolean>();
const IDENT_KEYS_MAX = 1024;

function isIdent(key: string): boolean {
  let yes = identKeys.get(key);
  if (yes === undefined) {
    yes = IDENT.test(key);
    if (identKeys.size < IDENT_KEYS_MAX) identKeys.set(key, yes);
  }
  return yes;
}

/** Extend a path by an object key or an array index. */
export function at(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (isIdent(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/**
 * `path`, or `path` extended by `key` when one is given. Readers take the object's path and
 * the key and build the field's path only for a message: on the success path a reload would
 * otherwise build several path strings per rule, which doubled its scavenges.
 */
export function atKey(path: string, key: string | number | undefined): string {
  return key === undefined ? path : at(path, key);
}
