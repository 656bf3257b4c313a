// Shared pieces of the screens: labelled fields with an error slot each, the mapping of
// userErrors (by their `field` path) onto those slots, alerts, badges and tables.

import { h, uid } from "./dom.js";
import { errorText, statusLabel, t } from "./i18n.js";

export function field({ label, type = "text", name, value = "", required = false, autocomplete, hint,
  control, attrs = {} }) {
  const id = uid(name || "field");
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const input = control || (type === "textarea"
    ? h("textarea", { name, rows: 4, ...attrs })
    : h("input", { type, name, autocomplete, ...attrs }));
  input.id = id;
  if (name) input.name = name;
  if (type === "textarea" || !control) input.value = value ?? "";
  if (required) input.required = true;
  input.setAttribute("aria-describedby", [hint ? hintId : null, errorId].filter(Boolean).join(" "));
  const errorEl = h("p", { class: "field-error", id: errorId, hidden: true });
  const el = h("div", { class: "field" },
    h("label", { for: id }, label, required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    input,
    errorEl);
  return slot(el, input, errorEl);
}

// A fieldset of radio buttons or checkboxes with one error slot.
export function choices({ legend, type = "radio", name, options, hint, onChange, required = false }) {
  const errorId = uid(`${name}-error`);
  const hintId = hint ? uid(`${name}-hint`) : null;
  const errorEl = h("p", { class: "field-error", id: errorId, hidden: true });
  const inputs = [];
  const fieldset = h("fieldset", { class: "choices", "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") },
    h("legend", {}, legend, required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    options.length === 0 ? h("p", { class: "muted" }, t("common.none")) : null,
    options.map((option) => {
      const id = uid(name);
      const input = h("input", { type, name, id, value: option.value, checked: !!option.checked,
        disabled: !!option.disabled, onchange: onChange });
      inputs.push(input);
      return h("div", { class: "choice" }, input,
        h("label", { for: id }, h("span", { class: "choice-label" }, option.label),
          option.hint ? h("span", { class: "choice-hint" }, option.hint) : null));
    }),
    errorEl);
  const s = slot(fieldset, inputs[0] || fieldset, errorEl);
  s.inputs = inputs;
  s.values = () => inputs.filter((i) => i.checked).map((i) => i.value);
  s.value = () => s.values()[0] || null;
  return s;
}

function slot(el, input, errorEl) {
  return {
    el,
    input,
    errorEl,
    setError(message) {
      errorEl.textContent = message;
      errorEl.hidden = false;
      input.setAttribute("aria-invalid", "true");
    },
    clearError() {
      errorEl.textContent = "";
      errorEl.hidden = true;
      input.removeAttribute("aria-invalid");
    },
  };
}

// Puts each userError next to the field its `field` path names (the longest registered
// prefix of the path), and anything else into the form's alert.
export class ErrorSlots {
  constructor() {
    this.slots = new Map();
    this.alert = alertBox("error");
  }

  add(path, s) {
    this.slots.set(path, s);
    return s;
  }

  clear() {
    for (const s of this.slots.values()) s.clearError();
    this.alert.hide();
  }

  show(userErrors, overrides = {}) {
    this.clear();
    const general = [];
    let first = null;
    for (const error of userErrors) {
      let target = null;
      for (let parts = (error.field || []).length; parts > 0 && !target; parts -= 1) {
        target = this.slots.get((error.field || []).slice(0, parts).join("."));
      }
      const message = errorText(error, overrides);
      if (target) {
        target.setError(message);
        first = first || target;
      } else {
        general.push(message);
      }
    }
    if (general.length) this.alert.show(general);
    if (first) first.input.focus();
    else if (general.length) this.alert.el.focus();
    return userErrors.length > 0;
  }

  showMessage(message) {
    this.clear();
    this.alert.show([message]);
    this.alert.el.focus();
  }
}

export function alertBox(kind = "error") {
  const el = h("div", { class: `alert alert-${kind}`, role: kind === "error" ? "alert" : "status", tabindex: "-1", hidden: true });
  return {
    el,
    show(messages, extra) {
      el.replaceChildren();
      const list = Array.isArray(messages) ? messages : [messages];
      if (list.length === 1) el.append(h("p", {}, list[0]));
      else el.append(h("ul", {}, list.map((m) => h("li", {}, m))));
      if (extra) el.append(extra);
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
      el.replaceChildren();
    },
  };
}

export function notice(kind, ...children) {
  return h("div", { class: `alert alert-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${status.toLowerCase().replace(/_/g, "-")}` }, statusLabel(status));
}

export function badge(text, kind = "info") {
  return h("span", { class: `badge badge-${kind}` }, text);
}

// hideCaption: the caption names the table for screen readers only (a heading shows it already).
export function table({ caption, head, rows, className = "", hideCaption = false }) {
  labelCells(head, rows);
  return h("div", { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
    h("table", { class: ["stack", className] },
      h("caption", { class: hideCaption ? "visually-hidden" : null }, caption),
      h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows)));
}

export function dl(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) =>
      h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

export function pageHeader(title, subtitle) {
  return h("div", { class: "page-header" },
    h("h1", { tabindex: "-1" }, title),
    subtitle ? h("p", { class: "subtitle" }, subtitle) : null);
}

export function button(label, props = {}) {
  return h("button", { type: "button", class: "btn", ...props }, label);
}

export function linkButton(label, href, props = {}) {
  return h("a", { href, class: "btn", ...props }, label);
}

// Disables a form's buttons while its request runs.
export async function whileBusy(form, fn) {
  const controls = [...form.querySelectorAll("button, input[type=submit]")];
  const before = controls.map((c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    controls.forEach((c, i) => { c.disabled = before[i]; });
    form.removeAttribute("aria-busy");
  }
}

export function errorPage(error) {
  const code = error && error.code;
  const key = {
    NETWORK: "error.network", FORBIDDEN: "error.forbidden", NOT_FOUND: "error.notFoundPage",
    TOO_LARGE: "error.tooLarge",
  }[code] || "error.unexpected";
  return h("section", {}, pageHeader(t("error.title")), notice("error", h("p", {}, t(key))),
    h("p", {}, h("a", { href: "/" }, t("nav.home"))));
}

// Each cell carries its column's name, shown before it where a phone stacks the table's rows.
export function labelCells(head, rows) {
  for (const row of rows) {
    [...row.children].forEach((cell, i) => {
      if (head[i] !== undefined && head[i] !== "") cell.dataset.label = head[i];
    });
  }
}
