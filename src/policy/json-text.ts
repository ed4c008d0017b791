// A strict JSON scanner run beside JSON.parse: it finds the line and column of a syntax error
// (V8's messages differ between Node versions and some carry no position) and the keys that
// appear twice in one object (JSON.parse keeps the last one silently: a typo'd policy must not
// lose a rule that way). Iterative, so deep nesting cannot overflow the stack.
import { at } from './json-path.js';

export interface JsonSyntaxError {
  /** 0-based offset in the text. */
  offset: number;
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

export interface JsonScan {
  value?: unknown;
  error?: JsonSyntaxError;
  /** Keys that appear more than once in one object: the object's path and the key. */
  duplicates: { path: string; key: string }[];
}

interface Frame {
  obj: boolean;
  keys: Set<string> | undefined;
  index: number;
  key: string;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// Runs the scanner skips in one native step instead of one JavaScript step per character.
const WS = /[ \n\r\t]*/y;
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const ESCAPES = '"\\/bfnrtu';

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  return `character ${JSON.stringify(text[i])}`;
}

/**
 * Key tokens in a well-formed JSON text: strings followed by a colon. Jumps from quote to quote
 * with indexOf (native), so a cold process runs one interpreted step per string, not per
 * character: the 14 k strings of a 1,000-rule policy cost 2-6 ms in a fresh process, where
 * the per-token regex loop this replaced cost 12-15 ms.
 *
 * Two loops, for text without and with backslashes: one loop that tested `escapes` on every
 * quote ran ~30x slower once V8 optimised it for text without any (34 ms against 1 ms a call
 * at 1,000 rules, warm; node 20), which a reload pays every time.
 */
function keyTokens(text: string): number {
  return text.includes('\\') ? keyTokensEscaped(text) : keyTokensPlain(text);
}

/** keyTokens for text without a backslash: every quote opens or closes a string. */
function keyTokensPlain(text: string): number {
  let keys = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    const j = text.indexOf('"', i + 1);
    if (j < 0) break;
    let k = j + 1;
    let c = text.charCodeAt(k);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++k);
    if (c === 58) keys++;
    i = text.indexOf('"', k);
  }
  return keys;
}

/** keyTokens for text with backslashes: a quote after an odd run of them is inside the string. */
function keyTokensEscaped(text: string): number {
  let keys = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    let j = text.indexOf('"', i + 1);
    while (j > 0 && escapedAt(text, j)) j = text.indexOf('"', j + 1);
    if (j < 0) break;
    let k = j + 1;
    let c = text.charCodeAt(k);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++k);
    if (c === 58) keys++;
    i = text.indexOf('"', k);
  }
  return keys;
}

function escapedAt(text: string, quote: number): boolean {
  let b = quote - 1;
  while (text.charCodeAt(b) === 92) b--;
  return ((quote - 1 - b) & 1) === 1;
}

/**
 * Own keys of every object in a parsed JSON value (an explicit stack: no depth limit).
 * Indexed loops: this runs once per process, mostly in V8's interpreter, where for-of
 * allocates an iterator result per element (0.5 MB for the bench's 1,000-rule policy).
 */
function objectKeys(root: unknown): number {
  let keys = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        if (e !== null && typeof e === 'object') stack.push(e);
      }
    } else {
      // Object.keys, not for-in: an enumerable property on Object.prototype must not count.
      const own = Object.keys(v);
      keys += own.length;
      for (let i = 0; i < own.length; i++) {
        const e = (v as Record<string, unknown>)[own[i]!];
        if (e !== null && typeof e === 'object') stack.push(e);
      }
    }
  }
  return keys;
}

/**
 * Scan (and, when well-formed, parse) a JSON text. Never throws. Well-formed text without a
 * duplicate key (JSON.parse accepts exactly the JSON this scanner accepts) takes the short
 * way (count key tokens and parsed keys); anything else gets the full scan, which places
 * errors and names duplicates.
 */
export function scanJson(input: string): JsonScan {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return scanJsonStrict(input);
  }
  // JSON.parse makes one property per distinct key of an object: as many key tokens in the
  // text as properties in the value means no object repeats a key (JSON.parse keeps even
  // "__proto__" as an own key). Otherwise the full scan names the duplicates.
  return keyTokens(text) === objectKeys(value) ? { value, duplicates: [] } : scanJsonStrict(input);
}

/** The full scan: syntax errors with line and column, every duplicate key with its path. */
export function scanJsonStrict(input: string): JsonScan {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const n = text.length;
  const duplicates: { path: string; key: string }[] = [];
  const stack: Frame[] = [];
  let i = 0;
  let mode: 'value' | 'key' | 'after' = 'value';

  const fail = (message: string, offset = i): JsonScan => ({
    error: { offset, ...lineCol(text, offset), message },
    duplicates,
  });
  const ws = (): void => {
    WS.lastIndex = i;
    WS.test(text);
    i = WS.lastIndex;
  };
  // The path of the object at stack[depth]: built only for a duplicate key (rare), from the
  // keys and indexes its ancestors are at now.
  const pathOf = (depth: number): string => {
    let path = '';
    for (let d = 0; d < depth; d++) {
      const f = stack[d]!;
      path = f.obj ? at(path, f.key) : at(path, f.index);
    }
    return path;
  };
  // Returns an error message, or undefined when a string was consumed.
  const str = (): string | undefined => {
    i++; // opening quote
    while (i < n) {
      PLAIN.lastIndex = i;
      PLAIN.test(text);
      i = PLAIN.lastIndex;
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'control character inside a string (escape it)';
      if (c === 92) {
        const e = text[i + 1];
        if (e === undefined || !ESCAPES.includes(e)) return `bad escape \\${e ?? ''} in a string`;
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return 'bad \\u escape in a string';
          i += 6;
        } else {
          i += 2;
        }
        continue;
      }
      i++;
    }
    return 'unterminated string';
  };

  for (;;) {
    ws();
    if (mode === 'value') {
      if (i >= n) return fail('unexpected end of input, expected a value');
      const c = text[i];
      if (c === '{' || c === '[') {
        i++;
        ws();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++;
          mode = 'after';
          continue;
        }
        const obj = c === '{';
        stack.push({ obj, keys: obj ? new Set() : undefined, index: 0, key: '' });
        mode = obj ? 'key' : 'value';
        continue;
      }
      if (c === '"') {
        const start = i;
        const err = str();
        if (err) return fail(err, err === 'unterminated string' ? start : i);
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (!m) return fail('bad number');
        i += m[0].length;
      } else if (text.startsWith('true', i)) {
        i += 4;
      } else if (text.startsWith('false', i)) {
        i += 5;
      } else if (text.startsWith('null', i)) {
        i += 4;
      } else {
        return fail(`unexpected ${describeChar(text, i)}, expected a value`);
      }
      mode = 'after';
    } else if (mode === 'key') {
      if (text[i] !== '"') return fail(`unexpected ${describeChar(text, i)}, expected a key in double quotes`);
      const start = i;
      const err = str();
      if (err) return fail(err, start);
      const raw = text.slice(start, i);
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const top = stack[stack.length - 1]!;
      if (top.keys!.has(key)) duplicates.push({ path: pathOf(stack.length - 1), key });
      else top.keys!.add(key);
      top.key = key;
      ws();
      if (text[i] !== ':') return fail(`unexpected ${describeChar(text, i)}, expected ':' after a key`);
      i++;
      mode = 'value';
    } else {
      const top = stack[stack.length - 1];
      if (!top) {
        if (i < n) return fail(`unexpected ${describeChar(text, i)} after the end of the document`);
        break;
      }
      const c = text[i];
      if (c === ',') {
        i++;
        if (top.obj) mode = 'key';
        else {
          top.index++;
          mode = 'value';
        }
        continue;
      }
      if (c === (top.obj ? '}' : ']')) {
        i++;
        stack.pop();
        continue;
      }
      return fail(
        top.obj
          ? `unexpected ${describeChar(text, i)}, expected ',' or '}' after a property value`
          : `unexpected ${describeChar(text, i)}, expected ',' or ']' after an array element`,
      );
    }
  }
  try {
    return { value: JSON.parse(text) as unknown, duplicates };
  } catch (e) {
    // The scanner accepted what V8 refused: report V8's words rather than guess.
    return fail((e as Error).message, 0);
  }
}
