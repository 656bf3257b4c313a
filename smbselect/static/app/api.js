// The only way the app talks to the server: POST /graphql (the public contract), with
// Authorization: Bearer <token> from login or invitationAccept. Nothing else authenticates.

const TOKEN_KEY = "smbselect.token";
const PROGRESS_DELAY_MS = 300;

export const session = {
  token: safeGet(TOKEN_KEY),
  user: null,
};

function safeGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function setToken(token) {
  session.token = token || null;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the login lasts as long as the page */
  }
}

export class ApiError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

let unauthenticatedHandler = () => {};
export function onUnauthenticated(fn) {
  unauthenticatedHandler = fn;
}

// The progress indicator: shown only when requests take more than a moment.
let pending = 0;
let timer = null;
const busyListeners = new Set();
export function onBusy(fn) {
  busyListeners.add(fn);
}
function busy(delta) {
  pending += delta;
  if (pending > 0 && timer === null) {
    timer = setTimeout(() => busyListeners.forEach((fn) => fn(true)), PROGRESS_DELAY_MS);
  } else if (pending === 0) {
    clearTimeout(timer);
    timer = null;
    busyListeners.forEach((fn) => fn(false));
  }
}

async function post(body, headers) {
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  busy(1);
  try {
    let response;
    try {
      response = await fetch("/graphql", { method: "POST", headers, body, credentials: "omit" });
    } catch (error) {
      throw new ApiError("NETWORK", String(error));
    }
    if (response.status === 413) throw new ApiError("TOO_LARGE");
    let json;
    try {
      json = await response.json();
    } catch {
      throw new ApiError("HTTP", `HTTP ${response.status}`);
    }
    if (json.errors && json.errors.length) {
      const first = json.errors[0];
      const code = (first.extensions && first.extensions.code) || "ERROR";
      if (code === "UNAUTHENTICATED") unauthenticatedHandler();
      throw new ApiError(code, first.message);
    }
    return json.data;
  } finally {
    busy(-1);
  }
}

export function gql(query, variables = {}) {
  return post(JSON.stringify({ query, variables }), { "Content-Type": "application/json" });
}

// The GraphQL multipart request spec: operations, map, then the file.
export function upload(query, variables, fileVariable, file) {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: { ...variables, [fileVariable]: null } }));
  form.append("map", JSON.stringify({ 0: [`variables.${fileVariable}`] }));
  form.append("0", file, file.name);
  // A header a browser cannot send cross-site without a preflight.
  return post(form, { "Apollo-Require-Preflight": "true" });
}

export async function loadMe() {
  if (!session.token) {
    session.user = null;
    return null;
  }
  const data = await gql(`{ me { id username name email role partner { id name } } }`);
  session.user = data.me;
  if (!data.me) setToken(null);
  return data.me;
}

export async function logout() {
  try {
    if (session.token) await gql(`mutation { logout { userErrors { code } } }`);
  } catch {
    /* the token is dropped either way */
  }
  setToken(null);
  session.user = null;
}
