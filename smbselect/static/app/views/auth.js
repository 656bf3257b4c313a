// Login, password reset (request and set) and the invitation link page.

import { gql, loadMe, session, setToken } from "../api.js";
import { h } from "../dom.js";
import { fmtDateTime, t } from "../i18n.js";
import { flash, navigate } from "../nav.js";
import { ErrorSlots, dl, field, notice, pageHeader, whileBusy } from "../ui.js";

const LOGIN = `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  token user { id username name email role partner { id name } } userErrors { code field message } } }`;
const RESET_REQUEST = `mutation($l: String!) { passwordResetRequest(input: {login: $l}) { userErrors { code field message } } }`;
const RESET = `mutation($t: String!, $p: String!) { passwordReset(input: {token: $t, newPassword: $p}) { userErrors { code field message } } }`;
const PREVIEW = `query($t: String!) { invitationPreview(token: $t) { programName partnerName expiresAt expired needsPassword supportEmail } }`;
const ACCEPT = `mutation($t: String!, $p: String!) { invitationAccept(input: {token: $t, password: $p}) {
  token user { id username name email role partner { id name } } applications { id status location { id } }
  userErrors { code field message } } }`;

function afterLogin(user) {
  session.user = user;
  const next = sessionStorage.getItem("smbselect.next");
  sessionStorage.removeItem("smbselect.next");
  const fallback = user.role === "ADMIN" ? "/admin/queue" : "/locations";
  navigate(next && next !== "/login" ? next : fallback, { replace: true });
}

export function loginView() {
  if (session.user) {
    navigate(session.user.role === "ADMIN" ? "/admin/queue" : "/locations", { replace: true });
    return null;
  }
  const errors = new ErrorSlots();
  const username = errors.add("input.username", field({ label: t("login.username"), name: "username",
    autocomplete: "username", required: true, hint: t("login.usernameHint") }));
  const password = errors.add("input.password", field({ label: t("login.password"), name: "password",
    type: "password", autocomplete: "current-password", required: true }));
  const form = h("form", { class: "card narrow", novalidate: true }, errors.alert.el, username.el, password.el,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("login.submit"))),
    h("p", {}, h("a", { href: "/password-reset" }, t("login.forgot"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    if (!username.input.value.trim() || !password.input.value) {
      if (!username.input.value.trim()) username.setError(t("error.REQUIRED"));
      if (!password.input.value) password.setError(t("error.REQUIRED"));
      (username.input.value.trim() ? password : username).input.focus();
      return;
    }
    const data = await whileBusy(form, () => gql(LOGIN, { u: username.input.value.trim(), p: password.input.value }));
    const result = data.login;
    if (errors.show(result.userErrors, { INVALID: "error.loginFailed" })) return;
    setToken(result.token);
    // me, asked with the new token: the login payload's user does not always show its partner
    afterLogin((await loadMe()) || result.user);
  });
  return h("section", {}, pageHeader(t("login.title"), t("login.intro")), form);
}

export function resetRequestView() {
  const errors = new ErrorSlots();
  const login = errors.add("input.login", field({ label: t("reset.login"), name: "login", autocomplete: "username",
    required: true }));
  const done = h("div", {});
  const form = h("form", { class: "card narrow", novalidate: true }, errors.alert.el, login.el,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("reset.send"))),
    h("p", {}, h("a", { href: "/login" }, t("reset.backToLogin"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    if (!login.input.value.trim()) {
      login.setError(t("error.REQUIRED"));
      login.input.focus();
      return;
    }
    const data = await whileBusy(form, () => gql(RESET_REQUEST, { l: login.input.value.trim() }));
    if (errors.show(data.passwordResetRequest.userErrors)) return;
    form.hidden = true;
    done.replaceChildren(notice("success", h("p", {}, t("reset.sent"))), h("p", {}, h("a", { href: "/login" }, t("reset.backToLogin"))));
    done.querySelector("p").setAttribute("tabindex", "-1");
    done.querySelector("p").focus();
  });
  return h("section", {}, pageHeader(t("reset.requestTitle"), t("reset.requestIntro")), form, done);
}

function newPasswordFields(errors, path) {
  const password = errors.add(path, field({ label: t("password.new"), name: "new-password", type: "password",
    autocomplete: "new-password", required: true, hint: t("password.rule") }));
  const confirm = field({ label: t("password.confirm"), name: "confirm-password", type: "password",
    autocomplete: "new-password", required: true });
  const check = () => {
    password.clearError();
    confirm.clearError();
    // The length rule is the server's: its userError lands next to this field.
    if (!password.input.value) {
      password.setError(t("error.REQUIRED"));
      password.input.focus();
      return false;
    }
    if (password.input.value !== confirm.input.value) {
      confirm.setError(t("password.mismatch"));
      confirm.input.focus();
      return false;
    }
    return true;
  };
  return { password, confirm, check };
}

export function resetView({ params }) {
  const errors = new ErrorSlots();
  const { password, confirm, check } = newPasswordFields(errors, "input.newPassword");
  const form = h("form", { class: "card narrow", novalidate: true }, errors.alert.el, password.el, confirm.el,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("reset.set"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    if (!check()) return;
    const data = await whileBusy(form, () => gql(RESET, { t: params.token, p: password.input.value }));
    const userErrors = data.passwordReset.userErrors;
    if (userErrors.length) {
      errors.show(userErrors, { INVALID: userErrors[0].field?.includes("token") ? "error.resetInvalid" : "error.passwordRule" });
      if (userErrors.some((e) => (e.field || []).includes("token"))) {
        errors.alert.el.append(h("p", {}, h("a", { href: "/password-reset" }, t("reset.again"))));
      }
      return;
    }
    flash(t("reset.done"));
    navigate("/login", { replace: true });
  });
  return h("section", {}, pageHeader(t("reset.setTitle")), form);
}

export async function invitationView({ params }) {
  const data = await gql(PREVIEW, { t: params.token });
  const preview = data.invitationPreview;
  const title = pageHeader(t("invitation.title"));
  if (!preview) {
    return h("section", {}, title, notice("error", h("p", {}, t("invitation.unknown"))),
      h("p", {}, h("a", { href: "/login" }, t("invitation.goLogin"))));
  }
  const facts = dl([
    [t("invitation.program"), preview.programName],
    [t("invitation.partner"), preview.partnerName],
    [preview.expired ? t("invitation.expiredOn") : t("invitation.expires"), fmtDateTime(preview.expiresAt)],
  ]);
  const support = h("a", { href: `mailto:${preview.supportEmail}` }, preview.supportEmail);
  if (preview.expired) {
    return h("section", {}, title, facts,
      notice("error", h("p", {}, t("invitation.expired")), h("p", {}, t("invitation.askNew"), " ", support)));
  }
  const errors = new ErrorSlots();
  let fields;
  let input;
  let check;
  if (preview.needsPassword) {
    const f = newPasswordFields(errors, "input.password");
    fields = [h("p", {}, t("invitation.choosePassword")), f.password.el, f.confirm.el];
    ({ check } = f);
    input = f.password.input;
  } else {
    const password = errors.add("input.password", field({ label: t("login.password"), name: "password",
      type: "password", autocomplete: "current-password", required: true }));
    fields = [h("p", {}, t("invitation.enterPassword")), password.el];
    input = password.input;
    check = () => {
      password.clearError();
      if (!password.input.value) {
        password.setError(t("error.REQUIRED"));
        password.input.focus();
        return false;
      }
      return true;
    };
  }
  const form = h("form", { class: "card narrow", novalidate: true }, errors.alert.el, fields,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" },
      preview.needsPassword ? t("invitation.setAndContinue") : t("invitation.continue"))),
    preview.needsPassword ? null : h("p", {}, h("a", { href: "/password-reset" }, t("login.forgot"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    if (!check()) return;
    const result = (await whileBusy(form, () => gql(ACCEPT, { t: params.token, p: input.value }))).invitationAccept;
    if (result.userErrors.length) {
      errors.show(result.userErrors, {
        INVALID: preview.needsPassword ? "error.passwordRule" : "error.loginFailed",
      });
      return;
    }
    setToken(result.token);
    session.user = result.user;
    await loadMe();
    flash(t("invitation.welcome", { program: preview.programName }));
    navigate("/locations", { replace: true });
  });
  return h("section", {}, title, h("p", { class: "lead" }, t("invitation.intro", { partner: preview.partnerName, program: preview.programName })),
    facts, form, h("p", { class: "muted" }, t("common.questions"), " ", support));
}
