import type { Dispatcher as DispatcherType } from 'undici';
import request from 'undici/lib/api/api-request.js';
// undici's entry point (index.js) also loads fetch, WebSocket, EventSource, the caches and the mocks:
// about 40 ms of every cold start for features this service never uses (README: Performance). These
// are the modules index.js wires for an Agent and its request API: `request` only, not the stream,
// pipeline, upgrade and connect APIs (lib/api/index.js), which nothing here calls. undici is pinned
// exactly, and the client and bundling tests fail loudly should an upgrade move them.
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';

Object.assign(Dispatcher.prototype, { request });

export type { DispatcherType as Dispatcher };
export { Agent };
