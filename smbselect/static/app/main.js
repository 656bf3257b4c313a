// The app shell: header (navigation, user, language), the router of the client-side
// routes (the server answers each of them with index.html), and the progress indicator.

import { ApiError, loadMe, logout, onBusy, onUnauthenticated, session } from "./api.js";
import { clear, h } from "./dom.js";
import { LANGUAGES, lang, onLangChange, setLang, t } from "./i18n.js";
import { navigate, onNavigate, takeFlash } from "./nav.js";
import { errorPage, notice, pageHeader } from "./ui.js";
import * as auth from "./views/auth.js";
import * as partner from "./views/partner.js";
import * as admin from "./views/admin.js";

const PUBLIC = { public: true };
const PARTNER = { role: "PARTNER" };
const ADMIN = { role: "ADMIN" };

const ROUTES = [
  ["/", home, {}],
  ["/login", auth.loginView, PUBLIC],
  ["/password-reset", auth.resetRequestView, PUBLIC],
  ["/password-reset/:token", auth.resetView, PUBLIC],
  ["/invitations/:token", auth.invitationView, PUBLIC],
  ["/locations", partner.locationsView, PARTNER],
  ["/locations/:id", partner.programsView, PARTNER],
  ["/applications/:id", applicationView, {}],
  ["/applications/:id/roles", partner.rolesView, PARTNER],
  ["/applications/:id/summary", partner.summaryView, PARTNER],
  ["/applications/:id/terms", partner.termsView, PARTNER],
  ["/applications/:id/documents", partner.documentsView, PARTNER],
  ["/applications/:id/submit", partner.submitView, PARTNER],
  ["/admin", admin.queueView, ADMIN],
  ["/admin/queue", admin.queueView, ADMIN],
  ["/admin/invite", admin.inviteView, ADMIN],
  ["/admin/outbox", admin.outboxView, ADMIN],
  ["/admin/registry", admin.registryView, ADMIN],
].map(([pattern, view, opts]) => ({ ...compile(pattern), view, ...opts }));

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (m, name) => {
    names.push(name);
    return "([^/]+)";
  });
  return { regex: new RegExp(`^${source}/?$`), names };
}

function match(pathname) {
  for (const route of ROUTES) {
    const m = route.regex.exec(pathname);
    if (m) {
      const params = {};
      route.names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
      return { route, params };
    }
  }
  return null;
}

function home() {
  if (!session.user) return navigate("/login", { replace: true });
  return navigate(session.user.role === "ADMIN" ? "/admin/queue" : "/locations", { replace: true });
}

function applicationView(ctx) {
  return session.user.role === "ADMIN" ? admin.detailView(ctx) : partner.overviewView(ctx);
}

// --- header ---------------------------------------------------------------------------

const header = document.getElementById("header");
const main = document.getElementById("main");

function navLink(href, label) {
  const current = location.pathname === href || (href !== "/" && location.pathname.startsWith(`${href}/`))
    || (href === "/admin/queue" && location.pathname === "/admin");
  return h("li", {}, h("a", { href, "aria-current": current ? "page" : null }, label));
}

function renderHeader() {
  const user = session.user;
  const links = [];
  if (user && user.role === "ADMIN") {
    links.push(navLink("/admin/queue", t("nav.queue")), navLink("/admin/invite", t("nav.invite")),
      navLink("/admin/outbox", t("nav.outbox")), navLink("/admin/registry", t("nav.registry")));
  } else if (user) {
    links.push(navLink("/locations", t("nav.locations")));
  }
  const languages = h("div", { class: "lang-switch", role: "group", "aria-label": t("nav.language") },
    LANGUAGES.map((l) => h("button", {
      type: "button", class: "lang", lang: l.code, "aria-pressed": String(l.code === lang()),
      onclick: () => setLang(l.code),
    }, l.name)));
  const account = user
    ? h("div", { class: "account" },
      h("span", { class: "who" }, user.name, ` · ${user.partner ? user.partner.name : t(`role.${user.role}`)}`),
      h("button", { type: "button", class: "btn btn-link", onclick: onLogout }, t("nav.logout")))
    : null;
  clear(header).append(
    h("div", { class: "brand" }, h("a", { href: "/" }, h("span", { class: "logo", "aria-hidden": "true" }), t("app.name"))),
    links.length ? h("nav", { "aria-label": t("nav.main") }, h("ul", {}, links)) : null,
    h("div", { class: "header-tools" }, account, languages));
  document.getElementById("skip-link").textContent = t("nav.skip");
  document.getElementById("progress").setAttribute("aria-label", t("common.loading"));
}

async function onLogout() {
  await logout();
  navigate("/login");
}

// --- routing --------------------------------------------------------------------------

let renderCount = 0;

async function render({ keepFocus = false } = {}) {
  const token = ++renderCount;
  const found = match(location.pathname);
  if (session.token && !session.user) {
    try {
      await loadMe();
    } catch {
      /* shown by the screen's own request */
    }
  }
  if (token !== renderCount) return;
  renderHeader();
  let content;
  if (!found) {
    content = h("section", {}, pageHeader(t("error.notFoundTitle")), notice("error", h("p", {}, t("error.notFoundPage"))),
      h("p", {}, h("a", { href: "/" }, t("nav.home"))));
  } else if (!found.route.public && !session.user) {
    sessionStorage.setItem("smbselect.next", location.pathname + location.search);
    navigate("/login", { replace: true });
    return;
  } else if (found.route.role && session.user.role !== found.route.role) {
    content = h("section", {}, pageHeader(t("error.title")), notice("error", h("p", {}, t("error.wrongRole"))),
      h("p", {}, h("a", { href: "/" }, t("nav.home"))));
  } else {
    try {
      const query = Object.fromEntries(new URLSearchParams(location.search));
      content = await found.route.view({ params: found.params, query });
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.code === "UNAUTHENTICATED") return;
      content = errorPage(error);
    }
  }
  if (token !== renderCount || !content) return;
  const message = takeFlash();
  clear(main);
  if (message) main.append(notice(message.kind, h("p", {}, message.message)));
  main.append(content);
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} – ${t("app.name")}` : t("app.name");
  if (!keepFocus) (heading || main).focus();
}

onNavigate(render);
onLangChange(() => render({ keepFocus: true }));
onUnauthenticated(() => {
  session.user = null;
  sessionStorage.setItem("smbselect.next", location.pathname + location.search);
  navigate("/login", { replace: true });
});

const progress = document.getElementById("progress");
onBusy((on) => {
  progress.hidden = !on;
  main.setAttribute("aria-busy", String(on));
  document.getElementById("live").textContent = on ? t("common.loading") : "";
});

window.addEventListener("popstate", () => render());
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || /^\/(static|graphql|documents|healthz|readyz)(\/|$)/.test(url.pathname)) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

render();
