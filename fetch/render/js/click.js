// Clicks the element at a CSS path as a user would: pointer and mouse
// events, then click(). Reports whether the element was found.
(path) => {
  const el = document.querySelector(path);
  if (!el) return false;
  if (el.scrollIntoView) el.scrollIntoView({ block: "center" });
  const r = el.getBoundingClientRect();
  const at = { bubbles: true, cancelable: true, composed: true, view: window, button: 0,
    clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 };
  for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup"]) {
    const E = type.startsWith("pointer") && window.PointerEvent ? PointerEvent : MouseEvent;
    el.dispatchEvent(new E(type, Object.assign({ pointerId: 1, isPrimary: true }, at)));
  }
  if (el.focus) el.focus({ preventScroll: true });
  el.click();
  return true;
}
