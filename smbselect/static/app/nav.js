// Client-side navigation (History API); main.js registers the renderer.

let renderer = () => {};

export function onNavigate(fn) {
  renderer = fn;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  renderer();
}

export function rerender() {
  renderer({ keepFocus: true });
}

// A message to show at the top of the next screen (after a redirect).
let pendingFlash = null;
export function flash(message, kind = "success") {
  pendingFlash = { message, kind };
}
export function takeFlash() {
  const f = pendingFlash;
  pendingFlash = null;
  return f;
}
