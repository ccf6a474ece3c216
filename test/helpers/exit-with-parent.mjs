// Preloaded (NODE_OPTIONS --import) into every Node process a test starts, through
// test/helpers/spawn-child.ts: when the process that started it dies, even by SIGKILL on a test
// timeout, the orphan is handed to another parent, and this process exits instead of running on.
// npm loads it too, so an npm script's own children follow npm out. Plain JavaScript: npm loads
// it without tsx. (Reading a stdin pipe until it closes would say the same sooner, but holding
// stdin open stalls tsx's loader.)
const parent = process.ppid
// Already handed to init: the parent died while this process was starting.
if (parent <= 1) process.exit(70)
setInterval(() => {
  if (process.ppid !== parent) process.exit(70)
}, 100).unref()
