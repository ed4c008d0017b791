// Every broken policy under test/fixtures/policies/bad/ is refused with the expected error:
// its code, its exact JSON path, and a message that names the offending value.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy, parsePolicyText } from '../../src/policy/load.js';
import { PolicyError } from '../../src/validate/diagnostics.js';

const DIR = join(import.meta.dirname, '../fixtures/policies/bad');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<
  string,
  { code: string; path: string; message: string }
>;
const files = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'expected.json').sort();

describe('bad policy fixtures', () => {
  it('has at least 30 cases and an expectation for every file', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  it.each(files)('%s is refused with its expected error', (name) => {
    const file = join(DIR, name);
    const exp = expected[name]!;
    const { policy, diagnostics } = parsePolicyText(readFileSync(file, 'utf8'), file);
    expect(policy).toBeUndefined();
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const hit = errors.find((d) => d.code === exp.code && d.path === exp.path && d.message.includes(exp.message));
    expect(hit, `errors were:\n${errors.map((d) => `${d.code} ${d.path}: ${d.message}`).join('\n')}`).toBeDefined();
    // loadPolicy throws with the same error, the file named in the text.
    let thrown: unknown;
    try {
      loadPolicy(file);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PolicyError);
    const msg = (thrown as PolicyError).message;
    expect(msg).toContain(`${file}: ${exp.path ? `${exp.path}: ` : ''}`);
    expect(msg).toContain(exp.message);
  });
});
