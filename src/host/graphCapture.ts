/**
 * Asks a model's open editor for an image of its graph with the overlay (for the HTML report):
 * a captureGraph request to the webview, answered by a graphImage message with the same id.
 * An editor that does not answer in time, or closes, yields an error, never a hang.
 */
import type { CaptureGraphMessage, GraphImageMessage } from '../protocol';
import { PendingRequests, TimeoutError } from '../shared/requests';

export const CAPTURE_TIMEOUT_MS = 10_000;

export type GraphImage = { svg: string } | { error: string };

export class GraphCaptures {
  private readonly pending = new PendingRequests();

  /** Sends captureGraph through `post` and resolves with the webview's answer or an error (timeout, closed editor). */
  request(post: (m: CaptureGraphMessage) => Thenable<boolean> | Promise<boolean>, timeoutMs = CAPTURE_TIMEOUT_MS): Promise<GraphImage> {
    return this.pending.start<GraphImage>((id) => {
      Promise.resolve(post({ type: 'captureGraph', id })).then(
        (sent) => { if (!sent) this.pending.resolve(id, { error: 'the graph editor is closed' }); },
        (e: unknown) => this.pending.resolve(id, { error: `the graph editor could not be reached: ${(e as Error).message}` }),
      );
    }, { timeoutMs }).catch((e: unknown) => ({
      error: e instanceof TimeoutError ? `the graph did not answer within ${Math.round(timeoutMs / 1000)} s` : (e as Error).message,
    }));
  }

  /** The webview's answer; unknown or late ids are ignored. */
  answer(msg: GraphImageMessage): void {
    this.pending.resolve(msg.id, msg.svg !== undefined ? { svg: msg.svg } : { error: msg.error ?? 'no image' });
  }
}
