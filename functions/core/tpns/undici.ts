import type { Dispatcher as DispatcherType } from 'undici';
import api from 'undici/lib/api/index.js';
// undici's entry point (index.js) also loads fetch, WebSocket, EventSource, the caches and the mocks:
// about 40 ms of every cold start for features this service never uses (README: Performance). These
// are the modules index.js wires for an Agent and its request API. undici is pinned exactly, and the
// client and bundling tests fail loudly should an upgrade move them.
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';

Object.assign(Dispatcher.prototype, api);

export type { DispatcherType as Dispatcher };
export { Agent };
