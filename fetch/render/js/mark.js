// Called on an element with a click listener: marks it for candidates.js.
function () { this[Symbol.for("trawl.click")] = true; }
