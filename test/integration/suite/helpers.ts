/** Helpers for the integration suite. Written only against the `vscode` API, so they run in any VS Code. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { QuantLensApi } from '../../../src/host/extension';

export const EXTENSION_ID = 'quantlens.quantlens';
export const VIEW_TYPE = 'quantlens.modelEditor';
/** Fixtures the harness copies into the workspace (see test/integration/harness.ts and .vscode-test.mjs). */
export const MNIST = 'mnist-12.onnx';
export const TFLITE = 'hello_world_float.tflite';
/** MNIST test images (IDX), calibration data for the quantize command. */
export const MNIST_IMAGES = 't10k-images-idx3-ubyte.gz';
/** Their labels (IDX). */
export const MNIST_LABELS = 't10k-labels-idx1-ubyte.gz';
/** onnxruntime's static int8 MNIST (QLinearConv, QLinearMatMul): an already quantized model. */
export const MNIST_INT8 = 'mnist-12-int8.onnx';

export type OpenDocument = ReturnType<QuantLensApi['openDocuments']>[number];

export function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test instance must be opened on a workspace folder');
  return folder.uri;
}

export function workspaceFile(name: string): vscode.Uri {
  return vscode.Uri.joinPath(workspaceRoot(), name);
}

export function getExtension(): vscode.Extension<QuantLensApi> {
  const ext = vscode.extensions.getExtension<QuantLensApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this VS Code`);
  return ext;
}

export async function getApi(): Promise<QuantLensApi> {
  const ext = getExtension();
  return ext.isActive ? ext.exports : ext.activate();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `fn` returns a truthy value; fails with `what` and the last seen value on timeout. */
export async function waitFor<T>(what: string, fn: () => T | PromiseLike<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${JSON.stringify(last)})`);
    }
    await sleep(100);
  }
}

/** The tab of a custom editor showing `uri`, if any. */
export function findCustomTab(uri: vscode.Uri): vscode.Tab | undefined {
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      if (tab.input instanceof vscode.TabInputCustom && tab.input.uri.toString() === uri.toString()) return tab;
    }
  }
  return undefined;
}

/** Opens `uri` with the QuantLens editor and waits until its tab is the active one. */
export async function openInQuantLens(uri: vscode.Uri): Promise<vscode.Tab> {
  await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);
  return waitFor(`an active custom-editor tab for ${uri.path}`, () => {
    const tab = findCustomTab(uri);
    return tab?.isActive ? tab : undefined;
  });
}

/** Waits until the extension reports a document for `uri` that finished loading (summary or error). */
export async function waitForDocument(api: QuantLensApi, uri: vscode.Uri, timeoutMs = 30_000): Promise<OpenDocument> {
  return waitFor(
    `QuantLens to report ${uri.path} as loaded`,
    () => api.openDocuments().find((d) => d.uri === uri.toString() && (d.summary !== undefined || d.error !== undefined)),
    timeoutMs,
  );
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Every sign that onnxruntime-node is loaded in this process: module cache entries and mapped native libraries. */
export function onnxRuntimeTraces(): string[] {
  const traces = Object.keys(require.cache).filter((k) => /[\\/]onnxruntime-(node|common)[\\/]/.test(k));
  if (process.platform === 'linux') {
    // The native binding and libonnxruntime are dlopen()ed: they show up in the process's memory map
    // however they were loaded (require, import(), a worker thread).
    const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
    traces.push(...new Set(maps.filter((l) => /onnxruntime/i.test(l)).map((l) => l.slice(l.indexOf('/')))));
  }
  return traces;
}
