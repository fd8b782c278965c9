/**
 * Asks a model's open editor for an image of its graph with the overlay (for the HTML report):
 * a captureGraph request to the webview, answered by a graphImage message with the same id.
 * An editor that does not answer in time, or closes, yields an error, never a hang.
 */
import type { CaptureGraphMessage, GraphImageMessage } from '../protocol';

export const CAPTURE_TIMEOUT_MS = 10_000;

export type GraphImage = { svg: string } | { error: string };

export class GraphCaptures {
  private nextId = 1;
  private readonly pending = new Map<number, (r: GraphImage) => void>();

  /** Sends captureGraph through `post` and resolves with the webview's answer or a timeout error. */
  request(post: (m: CaptureGraphMessage) => Thenable<boolean> | Promise<boolean>, timeoutMs = CAPTURE_TIMEOUT_MS): Promise<GraphImage> {
    const id = this.nextId++;
    return new Promise<GraphImage>((resolve) => {
      const timer = setTimeout(() => settle({ error: `the graph did not answer within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
      const settle = (r: GraphImage): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      };
      this.pending.set(id, settle);
      Promise.resolve(post({ type: 'captureGraph', id })).then(
        (sent) => { if (!sent) settle({ error: 'the graph editor is closed' }); },
        (e: unknown) => settle({ error: `the graph editor could not be reached: ${(e as Error).message}` }),
      );
    });
  }

  /** The webview's answer; unknown or late ids are ignored. */
  answer(msg: GraphImageMessage): void {
    this.pending.get(msg.id)?.(msg.svg !== undefined ? { svg: msg.svg } : { error: msg.error ?? 'no image' });
  }
}
