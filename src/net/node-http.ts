// node:http as CommonJS code gets it. An ESM import of a built-in module builds its namespace from
// every export, and node:http's include lazy getters (WebSocket, MessageEvent, CloseEvent) that
// load Node's own bundled fetch and WebSocket client, code the proxy never runs (it forwards with
// the undici package): 14 MB of resident memory in a bare Node process, about 1 MB in the proxy,
// which loads much of what that client needs anyway. Taken from
// process.getBuiltinModule, only the exports named here are read. test/loaded-drivers.test.ts
// checks that building the app leaves that client unloaded.
const http = process.getBuiltinModule('node:http')

export const { STATUS_CODES, createServer } = http
