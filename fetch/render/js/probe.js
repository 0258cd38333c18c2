// Reads the state init.js keeps, and takes the URLs passed to window.open.
(() => {
  const st = window[Symbol.for("trawl")];
  if (!st) return { timers: 0, mutations: 0, opened: [] };
  return { timers: st.timers, mutations: st.mutations, opened: st.opened.splice(0) };
})()
