// The document's URL and its serialized DOM, doctype first.
(() => {
  const dt = document.doctype;
  const head = dt ? new XMLSerializer().serializeToString(dt) + "\n" : "";
  const root = document.documentElement;
  return { url: location.href, html: head + (root ? root.outerHTML : "") };
})()
