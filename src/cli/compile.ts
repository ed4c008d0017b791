// sgfw compile: validate a policy and save the table the data plane loads, so that replays
// over many traces skip reading, validating and compiling the JSON (`replay --policy T.sgft`).
import { parse, flag, required } from './args.js';
import { UsageError } from './exit.js';
import { loadPolicyTable } from '../dataplane/policy-table.js';
import { isTableFile, writeTableFile } from '../table/table-file.js';
import { writeOut } from './output.js';

const OPTIONS = { policy: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } } as const;

export async function runCompile(argv: string[]): Promise<number> {
  const p = parse('compile', argv, OPTIONS, 0);
  const file = required('compile', p, 'policy');
  const out = required('compile', p, 'out');
  if (isTableFile(file)) throw new UsageError(`sgfw compile: ${file} is already a compiled table`);
  // A bad policy throws here (exit 2, every diagnostic) before anything is written.
  const loaded = loadPolicyTable(file);
  writeTableFile(out, loaded.blob);
  const t = loaded.table;
  const summary = {
    policy: file,
    table: out,
    cloud: t.cloud,
    interfaces: t.interfaces.length,
    entries: t.interfaces.reduce((n, i) => n + i.ingress.length + i.egress.length, 0),
    rules: t.rules.length,
    bytes: loaded.blob.length,
  };
  writeOut(
    flag(p, 'json')
      ? `${JSON.stringify(summary)}\n`
      : `sgfw compile: ${file} -> ${out}: ${summary.cloud}, ${summary.interfaces} interfaces, ` +
          `${summary.entries} entries from ${summary.rules} rules, ${summary.bytes} bytes\n`,
  );
  return 0;
}
