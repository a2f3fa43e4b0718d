/**
 * Resolves in a new task, so the event loop can run queued messages (and, on the main thread, the
 * browser can paint and handle input) in between. An `await` on an already-settled promise would
 * continue in the same task; a MessageChannel avoids setTimeout's 4 ms clamp. Used by the engine's
 * interruptible jobs (the views keep their own copy in src/views/schedule.ts).
 */
export function nextTask(): Promise<void> {
  if (typeof MessageChannel === 'undefined') {
    return new Promise(resolve => setTimeout(resolve, 0));
  }
  return new Promise(resolve => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
