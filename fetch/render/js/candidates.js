// Lists the elements worth clicking, in document order: those the renderer
// marked as having a click listener (the property Symbol.for("trawl.click"),
// set through the DevTools protocol, and removed here), buttons, [onclick]
// and the like. Only visible, enabled elements count, and neither the body
// nor the root element (their listeners serve delegation). Each is named by
// a CSS path that finds it again after a reload.
(() => {
  const mark = Symbol.for("trawl.click");
  const sel = 'button, [onclick], input[type=button], input[type=submit], input[type=image], ' +
    '[role=button], [role=link]:not([href]), [role=menuitem], [role=tab], a[href^="javascript:" i]';
  const path = (el) => {
    const parts = [];
    for (; el && el.nodeType === 1; el = el.parentElement) {
      const tag = el.localName;
      let i = 1;
      for (let s = el.previousElementSibling; s; s = s.previousElementSibling) {
        if (s.localName === tag) i++;
      }
      const only = !el.parentElement || tag === "body" || tag === "head";
      parts.unshift(only ? tag : tag + ":nth-of-type(" + i + ")");
    }
    return parts.join(">");
  };
  const visible = (el) => {
    if (el.checkVisibility && !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const out = [];
  for (const el of document.querySelectorAll("*")) {
    const marked = el[mark] === true;
    if (marked) delete el[mark];
    if (!marked && !el.matches(sel)) continue;
    if (el === document.body || el === document.documentElement) continue;
    if (el.disabled || el.closest("[inert]")) continue;
    if (!visible(el)) continue;
    out.push(path(el));
  }
  return out;
})()
