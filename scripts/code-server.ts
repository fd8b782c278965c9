/**
 * A small library for running the extension in a real VS Code: code-server (see
 * ../shared/docs/real-vscode.md). Used by scripts/launch.sh, the integration suite's wrapper and the
 * end-to-end tests. Everything it starts runs on 127.0.0.1 with throwaway folders and is stopped by
 * its process id (process group), never by name.
 *
 * Also a CLI: `node --import tsx scripts/code-server.ts launch [--port N] [--no-open-file] [--vsix FILE]`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const TOOLS_DIR = path.join(REPO_ROOT, '.cache', 'tools');
/** Where failure screenshots and logs go (git-ignored). */
export const TEST_RESULTS_DIR = path.join(REPO_ROOT, 'test-results');

/** Chromium flags that work on these machines (real-vscode.md step 6). */
export const CHROMIUM_PATH = process.env.QUANTLENS_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface CodeServerTools {
  /** Node 24, which code-server 4.139 requires. */
  node: string;
  /** code-server's entry script. */
  entry: string;
}

/** Locates Node 24 and code-server as installed by scripts/setup-tools.sh; throws saying how to fix it. */
export function findTools(toolsDir = TOOLS_DIR): CodeServerTools {
  const node = path.join(toolsDir, 'node24', 'bin', 'node');
  const entry = path.join(toolsDir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  for (const f of [node, entry]) {
    if (!fs.existsSync(f)) {
      throw new Error(`code-server is not installed (missing ${f}). Run: bash scripts/setup-tools.sh`);
    }
  }
  return { node, entry };
}

/** Temporary directories made by makeTempDir; whatever is left of them goes when the process exits. */
const tempDirs = new Set<string>();

/** A fresh temporary directory under the OS temp dir, removed at process exit at the latest. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

interface ExtensionManifest {
  name: string;
  publisher: string;
  version: string;
  main?: string;
}

function readManifest(dir: string): ExtensionManifest {
  const file = path.join(dir, 'package.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ExtensionManifest>;
  if (!m.name || !m.publisher || !m.version) throw new Error(`${file}: needs name, publisher and version`);
  return m as ExtensionManifest;
}

export interface UnpackedInstallOptions {
  /**
   * Entries of the source folder to copy (files or folders). Default: the folder's package.json plus
   * dist/ and media/ when present.
   */
  copy?: string[];
  /** Entries to symlink instead of copying (e.g. node_modules, which is large). */
  link?: string[];
  /** Extra files to write into the installed folder: relative path -> content. */
  write?: Record<string, string>;
}

/**
 * Installs an extension from an unpacked folder into `extensionsDir`: it is staged as
 * `<publisher>.<name>-<version>/` and registered in extensions.json (real-vscode.md step 5). Must be
 * done before code-server first starts with that extensions dir. Returns the extension id.
 */
export function installUnpackedExtension(
  extensionsDir: string,
  sourceDir: string,
  options: UnpackedInstallOptions = {},
): string {
  const manifest = readManifest(sourceDir);
  const id = `${manifest.publisher}.${manifest.name}`;
  const folderName = `${id}-${manifest.version}`;
  const target = path.join(extensionsDir, folderName);
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });

  const copy = options.copy ?? ['package.json', 'dist', 'media', 'schemas', 'samples', 'LICENSE', 'README.md'].filter((e) => fs.existsSync(path.join(sourceDir, e)));
  if (!copy.includes('package.json')) copy.unshift('package.json');
  for (const entry of copy) {
    fs.cpSync(path.join(sourceDir, entry), path.join(target, entry), { recursive: true });
  }
  for (const entry of options.link ?? []) {
    fs.symlinkSync(path.join(sourceDir, entry), path.join(target, entry));
  }
  for (const [rel, content] of Object.entries(options.write ?? {})) {
    fs.mkdirSync(path.dirname(path.join(target, rel)), { recursive: true });
    fs.writeFileSync(path.join(target, rel), content);
  }
  if (manifest.main) {
    const main = path.join(target, manifest.main);
    if (!fs.existsSync(main) && !fs.existsSync(`${main}.js`)) {
      throw new Error(`${id}: main ${manifest.main} does not exist in ${sourceDir} (did the build run?)`);
    }
  }

  const registry = path.join(extensionsDir, 'extensions.json');
  const entries = fs.existsSync(registry)
    ? (JSON.parse(fs.readFileSync(registry, 'utf8')) as Array<{ identifier: { id: string } }>)
    : [];
  const location = pathToFileURL(target);
  const kept = entries.filter((e) => e.identifier.id.toLowerCase() !== id.toLowerCase());
  kept.push({
    identifier: { id },
    version: manifest.version,
    location: { $mid: 1, fsPath: target, external: location.href, path: location.pathname, scheme: 'file' },
    relativeLocation: folderName,
    metadata: { installedTimestamp: Date.now(), pinned: true, source: 'vsix' },
  } as { identifier: { id: string } });
  fs.writeFileSync(registry, JSON.stringify(kept));
  return id;
}

/** Installs a packaged .vsix with code-server's own installer (about 1 s). */
export function installVsix(extensionsDir: string, vsix: string, tools = findTools()): void {
  const scratch = makeTempDir('ql-vsix-');
  try {
    const r = spawnSync(
      tools.node,
      [tools.entry, '--config', writeEmptyConfig(scratch), '--user-data-dir', path.join(scratch, 'ud'),
        '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status !== 0) throw new Error(`installing ${vsix} failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** code-server writes a default config with a password to ~/.config unless given one; give it an empty one. */
function writeEmptyConfig(dir: string): string {
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, 'cert: false\n');
  return file;
}

/** User settings that keep a fresh workbench quiet and deterministic. */
export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'files.simpleDialog.enable': true,
};

export interface StartOptions {
  /** Folder opened as the workspace. */
  workspace: string;
  /** Extensions dir (install extensions into it first). */
  extensionsDir: string;
  /** Throwaway user-data dir; created when omitted and deleted on stop. */
  userDataDir?: string;
  /** Port on 127.0.0.1; default 0 lets the OS pick a free one (code-server logs the one it got). */
  port?: number;
  /** Extra environment for code-server; the extension host inherits it. */
  env?: NodeJS.ProcessEnv;
  /** User settings merged over DEFAULT_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Also copy code-server's output to this stream (e.g. process.stderr). */
  echo?: NodeJS.WritableStream;
  /** How long to wait for the server to listen. */
  timeoutMs?: number;
  tools?: CodeServerTools;
}

export interface CodeServer {
  /** Base URL, e.g. http://127.0.0.1:40019/ */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly userDataDir: string;
  readonly workspace: string;
  /** Everything code-server printed so far. */
  output(): string;
  /** URL of a workbench with `folder` open (default: the workspace) and, optionally, a file opened at start. */
  workbenchUrl(opts?: { folder?: string; openFile?: string }): string;
  /** Resolves when the process exits. */
  readonly exited: Promise<number | null>;
  /** Stops the server (its process group, by id): SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

/** Starts code-server on 127.0.0.1 and resolves once it listens (typically < 1 s). */
export async function startCodeServer(opts: StartOptions): Promise<CodeServer> {
  const tools = opts.tools ?? findTools();
  const ownUserData = !opts.userDataDir;
  const userDataDir = opts.userDataDir ?? makeTempDir('ql-cs-user-');
  const settingsDir = path.join(userDataDir, 'User');
  fs.mkdirSync(settingsDir, { recursive: true });
  fs.writeFileSync(
    path.join(settingsDir, 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...opts.settings }, null, 2),
  );
  const config = writeEmptyConfig(userDataDir);
  const args = [
    tools.entry,
    '--config', config,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${opts.port ?? 0}`,
    '--user-data-dir', userDataDir,
    '--extensions-dir', opts.extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    opts.workspace,
  ];
  // detached: code-server becomes a process-group leader, so stop() can end it and its children
  // (extension host, file watcher, pty host) by that one id.
  const child: ChildProcess = spawn(tools.node, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  const onData = (chunk: Buffer): void => {
    const s = chunk.toString();
    out += s;
    opts.echo?.write(s);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${tools.node}`);
  liveGroups.add(pid);
  void exited.then(() => liveGroups.delete(pid));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(pid, 'SIGTERM');
        const t = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      // The extension host may outlive the parent for a moment; make sure the group is gone.
      killGroup(pid, 'SIGKILL');
      if (ownUserData) fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopped;
  };

  const timeoutMs = opts.timeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`code-server did not listen within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = (): void => {
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+\/?)/.exec(out);
      if (m) finish(undefined, m[1]!.endsWith('/') ? m[1]! : `${m[1]}/`);
    };
    const onExit = (code: number | null): void => finish(new Error(`code-server exited (${code}) before listening:\n${out}`));
    function finish(err?: Error, value?: string): void {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value!);
    }
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', onExit);
    check();
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  const port = Number(new URL(url).port);
  // Don't keep the caller's event loop alive just for the server.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();

  return {
    url,
    port,
    pid,
    userDataDir,
    workspace: opts.workspace,
    output: () => out,
    exited,
    stop,
    workbenchUrl({ folder = opts.workspace, openFile } = {}) {
      const u = new URL(url);
      u.searchParams.set('folder', folder);
      if (openFile) {
        // The web workbench's `payload` accepts ['openFile', <uri>] (environmentService.filesToOpenOrCreate).
        const fileUri = `vscode-remote://${u.host}${pathToFileURL(path.resolve(openFile)).pathname}`;
        u.searchParams.set('payload', JSON.stringify([['openFile', fileUri]]));
      }
      return u.href;
    },
  };
}

/** Process groups of servers started by this process and not yet stopped. */
const liveGroups = new Set<number>();
// code-server runs in its own process group (so it survives a terminal's Ctrl+C long enough to be
// stopped cleanly); make sure it never outlives the process that started it.
process.on('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
});

/**
 * For test processes: on SIGINT/SIGTERM, kill the servers this process started, then exit.
 * (The launcher has its own handlers, which stop the server gracefully.)
 */
export function stopServersOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Waits until `predicate` returns a truthy value, polling; throws `message` (plus the last error) on timeout. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 250, message = 'condition' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function newestMtime(entry: string): number {
  if (!fs.existsSync(entry)) return 0;
  const st = fs.statSync(entry);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const child of fs.readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child)));
  return newest;
}

/**
 * Runs `npm run build` when dist/extension.js is missing or older than the sources. Serialized with
 * flock, so test files running in parallel don't write dist/ at the same time.
 */
export function ensureBuilt(repoRoot = REPO_ROOT): void {
  const built = path.join(repoRoot, 'dist', 'extension.js');
  const sources = ['src', 'webview', 'media', 'package.json', 'esbuild.mjs'].map((e) => path.join(repoRoot, e));
  const stale = (): boolean => !fs.existsSync(built) || Math.max(...sources.map(newestMtime)) > fs.statSync(built).mtimeMs;
  if (!stale()) return;
  fs.mkdirSync(path.join(repoRoot, '.cache'), { recursive: true });
  const lock = path.join(repoRoot, '.cache', 'build.lock');
  const r = spawnSync('flock', [lock, 'npm', 'run', '--silent', 'build'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** Installs the QuantLens extension from this repository (needs `npm run build` first) as an unpacked folder. */
export function installQuantLens(extensionsDir: string, repoRoot = REPO_ROOT): string {
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
    throw new Error(`${repoRoot}/dist/extension.js is missing: run \`npm run build\` first`);
  }
  // node_modules is linked, not copied: onnxruntime-node's native binaries are large, and the
  // extension loads them from there at run time (they are external to the bundle).
  const link = fs.existsSync(path.join(repoRoot, 'node_modules')) ? ['node_modules'] : [];
  return installUnpackedExtension(extensionsDir, repoRoot, { link });
}

/** Associates model files with the QuantLens editor explicitly (same as its default priority). */
export const QUANTLENS_ASSOCIATIONS = { '*.onnx': 'quantlens.modelEditor', '*.tflite': 'quantlens.modelEditor' };

// ---- CLI --------------------------------------------------------------------------------------

async function launchCli(argv: string[]): Promise<void> {
  const portArg = argv.indexOf('--port');
  const port = portArg >= 0 ? Number(argv[portArg + 1]) : 0;
  const openFile = argv.includes('--no-open-file') ? undefined : path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
  const vsixArg = argv.indexOf('--vsix');
  const vsix = vsixArg >= 0 ? path.resolve(argv[vsixArg + 1] ?? '') : undefined;
  const extensionSource = process.env.QUANTLENS_EXTENSION_DIR ?? REPO_ROOT;
  const workspace = path.join(REPO_ROOT, 'samples');

  const scratch = makeTempDir('quantlens-launch-');
  const extensionsDir = path.join(scratch, 'extensions');
  let id = 'quantlens.quantlens';
  if (vsix) installVsix(extensionsDir, vsix);
  else id = installQuantLens(extensionsDir, extensionSource);
  const server = await startCodeServer({
    workspace,
    extensionsDir,
    userDataDir: path.join(scratch, 'user-data'),
    port,
    // With a user association for the pattern, VS Code's editor resolver waits for extensions to
    // register before resolving, so the file opened at start gets the custom editor and not the
    // "binary file" placeholder (the race in real-vscode.md step 7).
    settings: { 'workbench.editorAssociations': QUANTLENS_ASSOCIATIONS },
  });
  const cleanup = async (): Promise<void> => {
    await server.stop();
    fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  };
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n[launch] stopping code-server (pid ${server.pid})\n`);
      void cleanup().then(() => process.exit(0));
    });
  }
  void server.exited.then((code) => {
    if (stopping) return;
    process.stderr.write(`[launch] code-server exited unexpectedly (${code}):\n${server.output()}\n`);
    void cleanup().then(() => process.exit(1));
  });
  process.stdout.write(
    [
      '',
      `QuantLens (${vsix ? path.basename(vsix) : id}) is running in code-server (pid ${server.pid}).`,
      `Open this URL in a browser${openFile ? ` (${path.relative(REPO_ROOT, openFile)} opens in the QuantLens editor)` : ''}:`,
      '',
      `  ${server.workbenchUrl({ openFile })}`,
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  // Keep the process alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

if (require.main === module) {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'launch') {
    launchCli(rest).catch((e: unknown) => {
      process.stderr.write(`[launch] ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
  } else {
    process.stderr.write('usage: node --import tsx scripts/code-server.ts launch [--port N] [--no-open-file] [--vsix FILE]\n');
    process.exit(2);
  }
}
