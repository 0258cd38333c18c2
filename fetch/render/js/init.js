// Installed by trawl's renderer in every document of its tabs, before the
// page's own scripts. It keeps its state in window[Symbol.for("trawl")]:
//   timers    one-shot setTimeout timers pending with a delay of at most
//             1 s, scheduled outside deep timer chains: the page is not idle
//             while they are pending (a link added by a setTimeout counts);
//   mutations DOM mutations seen so far: a click that changes nothing
//             leaves the page in its fresh state;
//   opened    URLs passed to window.open, which opens nothing.
// alert, confirm and prompt return at once (confirm says no).
(() => {
  const key = Symbol.for("trawl");
  if (window[key]) return;
  const st = { timers: 0, mutations: 0, opened: [] };
  Object.defineProperty(window, key, { value: st });

  const maxDelay = 1000, maxDepth = 3;
  const setTimeout0 = window.setTimeout, clearTimeout0 = window.clearTimeout;
  const pending = new Set();
  let depth = 0;
  window.setTimeout = function (fn, delay, ...args) {
    if (typeof fn !== "function") return setTimeout0.call(this, fn, delay, ...args);
    const d = depth;
    const tracked = (Number(delay) || 0) <= maxDelay && d < maxDepth;
    let id;
    const run = function () {
      if (pending.delete(id)) st.timers--;
      const prev = depth;
      depth = d + 1;
      try {
        return fn.apply(this, args);
      } finally {
        depth = prev;
      }
    };
    id = setTimeout0.call(this, run, delay);
    if (tracked) {
      pending.add(id);
      st.timers++;
    }
    return id;
  };
  window.clearTimeout = function (id) {
    if (pending.delete(id)) st.timers--;
    return clearTimeout0.call(this, id);
  };

  const observe = () => {
    new MutationObserver((ms) => { st.mutations += ms.length; }).observe(document, {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
  };
  observe();

  window.open = function (u) {
    try {
      st.opened.push(String(new URL(u === undefined ? "" : u, document.baseURI)));
    } catch (e) {}
    return null;
  };
  window.alert = function () {};
  window.confirm = function () { return false; };
  window.prompt = function () { return null; };
})();
