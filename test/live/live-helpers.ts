// Helpers shared by the live-mode tests: running the built sgfw CLI inside a namespace, a
// line-echo server and a persistent client (for reload tests), scraping metrics.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Spawned, type Topology, waitFor } from './netns.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'bin.js');

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sgfw-live-'));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value, null, 2));
  return p;
}

/** Start `sgfw ARGS` in the host's namespace and wait until it prints `ready` (a regex). */
export async function startSgfw(t: Topology, host: string, args: string[], ready: RegExp): Promise<Spawned> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run "npm run build" first`);
  const p = t.spawn(host, [process.execPath, CLI, ...args]);
  try {
    await waitFor(() => ready.test(p.stderr()) || !p.running(), 15_000, `sgfw ${args[0]} ready`);
  } catch (e) {
    await p.kill('SIGKILL');
    throw new Error(`${String(e)}\n${p.output()}`);
  }
  if (!p.running()) throw new Error(`sgfw ${args.join(' ')} exited:\n${p.output()}`);
  return p;
}

/** A TCP server that echoes every line at once (IPv4 and IPv6). */
export async function lineEchoServer(t: Topology, host: string, port: number): Promise<Spawned> {
  const script = `
    require('net').createServer((s) => {
      s.on('data', (d) => s.write('echo:' + d.toString()));
      s.on('error', () => {});
    }).listen({ port: ${port}, host: '::', ipv6Only: false }, () => console.log('ready'));
  `;
  const s = t.spawn(host, [process.execPath, '-e', script]);
  await waitFor(() => s.stdout().includes('ready') || !s.running(), 10_000, 'line echo server');
  return s;
}

/**
 * A client that connects, sends "one", and sends "two" once the file `go` exists; it prints
 * what comes back. Bounded: it exits after 20 s whatever happens.
 */
export async function persistentClient(t: Topology, host: string, addr: string, port: number, go: string): Promise<Spawned> {
  const script = `
    const net = require('net'), fs = require('fs');
    const s = net.connect({ host: ${JSON.stringify(addr)}, port: ${port} });
    s.on('connect', () => { console.log('connected'); s.write('one\\n'); });
    s.on('data', (d) => console.log('got:' + d.toString().trim()));
    s.on('error', (e) => console.log('error:' + e.code));
    const iv = setInterval(() => {
      if (!fs.existsSync(${JSON.stringify(go)})) return;
      clearInterval(iv);
      s.write('two\\n');
      setTimeout(() => { console.log('done'); process.exit(0); }, 2500);
    }, 50);
    setTimeout(() => process.exit(3), 20000);
  `;
  const c = t.spawn(host, [process.execPath, '-e', script]);
  await waitFor(() => c.stdout().includes('got:echo:one') || !c.running(), 10_000, 'persistent client first echo');
  return c;
}

/** GET /metrics inside the namespace; returns a map "name{labels}" -> value. */
export async function scrape(t: Topology, host: string, port: number): Promise<Map<string, number>> {
  const r = await t.curl(host, `http://127.0.0.1:${port}/metrics`);
  if (r.code !== 0) throw new Error(`metrics scrape failed: ${r.stderr}`);
  return parseMetrics(r.stdout);
}

/** Prometheus text as series (name with its labels) to value. */
export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}
