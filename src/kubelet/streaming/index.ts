/**
 * Streaming: the node agent's `pods/exec`, `pods/attach` and `pods/portforward` handlers, over
 * WebSocket (the `v5`/`v4.channel.k8s.io` channel protocols and WebSocket-tunneled SPDY) and over
 * SPDY/3.1 itself. The wire protocols (exec_protocol.ts, spdy*.ts, websocket.ts,
 * portforward_ws.ts), how a request finds its container (exec_target.ts), the terminal (tty.ts)
 * and the dial into a pod's network namespace (netns_dial.ts) live here; this file is the
 * folder's only public entry. Nothing here runs pods: the handlers find a pod's containers from
 * the API and /proc, so the pod worker and this folder know nothing of each other.
 *
 * @module
 */
export { type AttachHandlerOptions, createAttachHandler } from "./attach.ts";
export { createExecHandler, type ExecHandlerOptions } from "./exec.ts";
export { createPortForwardHandler, type PortForwardHandlerOptions } from "./portforward.ts";
