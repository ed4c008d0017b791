// sgfw demo DIR: write the embedded demo (both policies and the trace) to files, to read,
// edit and replay them.
import { writeDemoFiles } from '../demo/index.js';
import { parse } from './args.js';
import { UsageError } from './exit.js';
import { writeOut } from './output.js';

export async function runDemo(argv: string[]): Promise<number> {
  const p = parse('demo', argv, {}, 1);
  const dir = p.positionals[0];
  if (!dir) throw new UsageError('sgfw demo: give the directory to write the demo files to');
  const out = writeDemoFiles(dir);
  writeOut(`sgfw demo: wrote ${out.awsPolicy}, ${out.alibabaPolicy}, ${out.trace}\n` +
    `  try: sgfw replay --policy ${out.awsPolicy} ${out.trace}\n`);
  return 0;
}
