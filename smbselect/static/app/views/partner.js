// The partner's screens: location (SC-4), programs (SC-5), job roles (SC-6), summary (SC-7),
// terms (SC-8), submit (SC-9), documents (SC-10), and the application's status page.

import { ApiError, gql, upload } from "../api.js";
import { h } from "../dom.js";
import { country, errorText, fmtDate, fmtDateTime, fmtList, fmtSize, lang, statusLabel, t } from "../i18n.js";
import { flash, navigate } from "../nav.js";
import {
  ErrorSlots, alertBox, badge, choices, dl, field, linkButton, notice, pageHeader, statusBadge, table, whileBusy,
} from "../ui.js";

const EDITABLE = ["NOT_SUBMITTED", "CHANGES_REQUESTED"];
const WITHDRAWABLE = ["IN_PROGRESS", "NOT_SUBMITTED", "SUBMITTED", "CHANGES_REQUESTED"];
const CLOSED = ["APPROVED", "REJECTED", "WITHDRAWN", "EXPIRED"];

const HEAD = `fragment Head on Application { id status round
  program { id code name description maxRolesPerPerson supportEmail reviewDays }
  location { id name country partner { id name } }
  requiredDocuments { code name description acceptedContentTypes maxSizeBytes } }`;

const LOCATIONS = `{ me { id locations { id name country partner { id name }
  applications { id status round invitationExpiresAt submittedAt reviewDueOn program { id name description } } } } }`;
const START = `mutation($id: ID!) { applicationStart(input: {applicationId: $id}) { application { id status } userErrors { code field message } } }`;
const ROLES = `query($id: ID!) { application(id: $id) { ...Head
  jobRoles { code name headcount acceptedCertifications } jobAllocations { role { code } user { id name } } } } ${HEAD}`;
const SAVE = `mutation($id: ID!, $a: [JobAllocationInput!]!) { jobAllocationsSave(input: {applicationId: $id, allocations: $a}) {
  application { id missingJobRoles { code } jobAllocations { role { code } user { id name } } } userErrors { code field message } } }`;
const SUMMARY = `query($id: ID!) { application(id: $id) { ...Head jobRoles { code name headcount }
  jobAllocations { role { code } user { id name } } missingJobRoles { code name } } } ${HEAD}`;
const TERMS = `query($id: ID!) { application(id: $id) { ...Head
  program { terms { version text format locale sha256 } }
  termsAcceptance { version acceptedAt user { name username } } } } ${HEAD}`;
const ACCEPT = `mutation($id: ID!, $v: String!) { termsAccept(input: {applicationId: $id, version: $v}) {
  application { id termsAcceptance { version acceptedAt } } userErrors { code field message } } }`;
const DECLINE = `mutation($id: ID!) { termsDecline(input: {applicationId: $id}) { message userErrors { code field message } } }`;
const SUBMIT_PAGE = `query($id: ID!) { application(id: $id) { ...Head canSubmit
  submitBlockers { code message jobRoleCode documentCode }
  jobRoles { code name } jobAllocations { role { code name } user { id name } }
  termsAcceptance { version acceptedAt user { name } } missingDocuments { code name } } } ${HEAD}`;
const SUBMIT = `mutation($id: ID!) { applicationSubmit(input: {applicationId: $id}) {
  application { id status reviewDueOn } userErrors { code field message } } }`;
const DOCUMENTS = `query($id: ID!) { application(id: $id) { ...Head missingDocuments { code }
  documents { id requirementCode filename contentType size status reviewComment uploadedAt uploadedBy { name } superseded downloadUrl } } } ${HEAD}`;
const UPLOAD = `mutation($id: ID!, $code: String!, $file: Upload!) { documentUpload(input: {applicationId: $id, requirementCode: $code, file: $file}) {
  document { id status filename } userErrors { code field message } } }`;
const OVERVIEW = `query($id: ID!) { application(id: $id) { ...Head invitedAt invitationExpiresAt submittedAt reviewDueOn decidedAt
  lastDecision decisionComment canSubmit missingDocuments { code name }
  termsAcceptance { version acceptedAt user { name } }
  events { occurredAt kind fromStatus toStatus comment actor { name role } } } } ${HEAD}`;
const WITHDRAW = `mutation($id: ID!, $r: String) { applicationWithdraw(input: {applicationId: $id, reason: $r}) {
  application { id status } userErrors { code field message } } }`;

// The allocations chosen on SC-6 and reviewed on SC-7 before SAVE, per application.
const drafts = new Map();

function locationLabel(loc) {
  return `${loc.name} (${country(loc.country)})`;
}

async function loadApplication(query, id) {
  const data = await gql(query, { id });
  if (!data.application) {
    throw new ApiError("NOT_FOUND");
  }
  return data.application;
}

function steps(app, current) {
  const list = [
    ["roles", t("step.roles")],
    ["summary", t("step.summary")],
    ["terms", t("step.terms")],
    ...(app.requiredDocuments.length ? [["documents", t("step.documents")]] : []),
    ["submit", t("step.submit")],
  ];
  return h("nav", { class: "steps", "aria-label": t("step.label") },
    h("ol", {}, list.map(([key, label], i) => h("li", { class: key === current ? "current" : null },
      h("a", { href: `/applications/${app.id}/${key}`, "aria-current": key === current ? "step" : null },
        h("span", { class: "step-no", "aria-hidden": "true" }, String(i + 1)), label)))));
}

function appHeader(app, title, current) {
  return h("div", {},
    pageHeader(title, null),
    h("p", { class: "subtitle" }, h("strong", {}, app.program.name), " · ", locationLabel(app.location), " · ",
      t("app.currentStatus"), ": ", statusBadge(app.status)),
    current ? steps(app, current) : null,
    h("p", {}, h("a", { href: `/applications/${app.id}` }, t("app.overviewLink"))));
}

function readOnlyNotice(app) {
  if (EDITABLE.includes(app.status)) return null;
  return notice("info", h("p", {}, app.status === "IN_PROGRESS" ? t("app.notStarted") : t("app.readOnly", { status: statusLabel(app.status) })));
}

// --- SC-4: location -------------------------------------------------------------------

export async function locationsView() {
  const me = (await gql(LOCATIONS)).me;
  const title = pageHeader(t("locations.title"), t("locations.intro"));
  if (!me.locations.length) {
    return h("section", {}, title, notice("info", h("p", {}, t("locations.none"))));
  }
  const errors = new ErrorSlots();
  const group = errors.add("location", choices({
    legend: t("locations.legend"), name: "location", required: true,
    options: me.locations.map((loc) => ({
      value: loc.id, label: `${loc.name} — ${country(loc.country)}`, checked: me.locations.length === 1,
      hint: `${loc.partner.name} · ${t("locations.programs", { n: loc.applications.length })}`,
    })),
  }));
  const form = h("form", { class: "card", novalidate: true }, errors.alert.el, group.el,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("common.select"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = group.value();
    if (!id) {
      group.setError(t("locations.pick"));
      group.inputs[0].focus();
      return;
    }
    navigate(`/locations/${encodeURIComponent(id)}`);
  });
  return h("section", {}, title, form);
}

// --- SC-5: the In-Progress table --------------------------------------------------------

export async function programsView({ params }) {
  const me = (await gql(LOCATIONS)).me;
  const loc = me.locations.find((l) => l.id === params.id);
  if (!loc) {
    throw new ApiError("NOT_FOUND");
  }
  const title = pageHeader(t("programs.title"), `${loc.partner.name} · ${locationLabel(loc)}`);
  const back = h("p", {}, h("a", { href: "/locations" }, t("programs.otherLocation")));
  if (!loc.applications.length) {
    return h("section", {}, title, notice("info", h("p", {}, t("programs.none"))), back);
  }
  const errors = new ErrorSlots();
  const groupError = h("p", { class: "field-error", id: "program-error", hidden: true });
  const radios = [];
  const rows = loc.applications.map((app, i) => {
    const id = `program-${i}`;
    const radio = h("input", { type: "radio", name: "application", id, value: app.id,
      checked: loc.applications.length === 1, "aria-describedby": "program-error" });
    radios.push(radio);
    return h("tr", {},
      h("td", { class: "select-cell" }, radio),
      h("th", { scope: "row" }, h("label", { for: id }, app.program.name)),
      h("td", {}, statusBadge(app.status)),
      h("td", {}, fmtDateTime(app.invitationExpiresAt)),
      h("td", {}, app.reviewDueOn ? fmtDate(app.reviewDueOn) : "—"));
  });
  const form = h("form", { class: "card", novalidate: true }, errors.alert.el,
    table({ caption: t("programs.caption"), className: "selectable",
      head: [t("common.choose"), t("programs.program"), t("app.currentStatus"), t("programs.expires"), t("app.reviewDue")], rows }),
    groupError,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("common.select"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    groupError.hidden = true;
    const chosen = radios.find((r) => r.checked);
    if (!chosen) {
      groupError.textContent = t("programs.pick");
      groupError.hidden = false;
      radios[0].focus();
      return;
    }
    const app = loc.applications.find((a) => a.id === chosen.value);
    if (app.status === "IN_PROGRESS") {
      const result = (await whileBusy(form, () => gql(START, { id: app.id }))).applicationStart;
      if (errors.show(result.userErrors)) return;
      flash(t("programs.started", { program: app.program.name }));
      navigate(`/applications/${app.id}/roles`);
    } else if (EDITABLE.includes(app.status)) {
      navigate(`/applications/${app.id}/roles`);
    } else {
      navigate(`/applications/${app.id}`);
    }
  });
  const descriptions = h("div", { class: "descriptions" }, loc.applications.map((app) =>
    h("details", {}, h("summary", {}, t("programs.about", { program: app.program.name })), h("p", {}, app.program.description))));
  return h("section", {}, title, form, descriptions, back);
}

// --- SC-6: job roles --------------------------------------------------------------------

function staffQuery(roles) {
  const vars = roles.map((r, i) => `$r${i}: String!`).join(", ");
  const fields = roles.map((r, i) => `r${i}: qualifiedStaff(jobRoleCode: $r${i}) { id name username certifications { code expiresOn } }`).join(" ");
  return `query($id: ID!${vars ? `, ${vars}` : ""}) { application(id: $id) { id ${fields} } }`;
}

function savedAllocations(app) {
  return app.jobAllocations.map((a) => ({ jobRoleCode: a.role.code, userId: a.user.id, name: a.user.name }));
}

function sameAllocations(a, b) {
  const key = (list) => list.map((x) => `${x.jobRoleCode}:${x.userId}`).sort().join("|");
  return key(a) === key(b);
}

export async function rolesView({ params }) {
  const app = await loadApplication(ROLES, params.id);
  const variables = { id: app.id };
  app.jobRoles.forEach((r, i) => { variables[`r${i}`] = r.code; });
  const staffData = (await gql(staffQuery(app.jobRoles), variables)).application;
  const editable = EDITABLE.includes(app.status);
  const max = app.program.maxRolesPerPerson;
  const initial = drafts.get(app.id) || savedAllocations(app);
  const errors = new ErrorSlots();
  const status = alertBox("success");
  const slots = [];
  const names = new Map();

  const roleBlocks = app.jobRoles.map((role, ri) => {
    const staff = staffData[`r${ri}`];
    staff.forEach((p) => names.set(p.id, p.name));
    const chosen = initial.filter((a) => a.jobRoleCode === role.code).map((a) => a.userId);
    const certs = fmtList(role.acceptedCertifications);
    // One drop-down per person the role needs: a group of them when it needs more than one.
    const block = role.headcount > 1
      ? h("fieldset", { class: "role" }, h("legend", {}, role.name))
      : h("div", { class: "role" });
    for (let seat = 0; seat < role.headcount; seat += 1) {
      const select = h("select", { disabled: !editable || staff.length === 0 },
        h("option", { value: "" }, staff.length ? t("roles.notAllocated") : t("roles.noneAvailable")),
        staff.map((p) => h("option", { value: p.id, selected: chosen[seat] === p.id },
          `${p.name} (${p.certifications.map((c) => c.code).join(", ") || "—"})`)));
      const label = role.headcount > 1 ? t("roles.seat", { role: role.name, n: seat + 1, of: role.headcount }) : t("roles.person", { role: role.name });
      const s = field({ label, name: `role-${role.code}-${seat}`, control: select,
        hint: staff.length ? t("roles.accepted", { certs }) : null });
      s.role = role;
      slots.push(s);
      block.append(s.el);
      select.addEventListener("change", () => { validate(); status.hide(); });
    }
    if (!staff.length) {
      block.append(notice("warning", h("p", {}, t("roles.empty", { certs, location: app.location.name })),
        h("p", {}, t("roles.emptyFix"))));
    }
    return block;
  });

  function current() {
    return slots.filter((s) => s.input.value).map((s) => ({ jobRoleCode: s.role.code, userId: s.input.value,
      name: names.get(s.input.value), slot: s }));
  }

  // The at-most-N-roles rule and one person per seat, checked before the server says no.
  function validate() {
    slots.forEach((s) => s.clearError());
    const perPerson = new Map();
    const perRole = new Set();
    let ok = true;
    for (const a of current()) {
      const key = `${a.jobRoleCode}:${a.userId}`;
      if (perRole.has(key)) {
        a.slot.setError(t("roles.duplicate", { name: a.name, role: a.slot.role.name }));
        ok = false;
        continue;
      }
      perRole.add(key);
      const count = (perPerson.get(a.userId) || 0) + 1;
      perPerson.set(a.userId, count);
      if (count > max) {
        a.slot.setError(t("roles.tooMany", { name: a.name, n: max }));
        ok = false;
      }
    }
    return ok;
  }

  const form = h("form", { class: "card", novalidate: true }, errors.alert.el, status.el,
    notice("info", h("p", {}, t("roles.rule", { n: max }))),
    roleBlocks,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn", disabled: !editable, onclick: save }, t("common.save")),
      h("button", { type: "submit", class: "btn btn-primary" }, t("common.next"))));

  async function save() {
    errors.clear();
    status.hide();
    if (!validate()) {
      slots.find((s) => s.input.getAttribute("aria-invalid"))?.input.focus();
      return false;
    }
    const chosen = current();
    const result = (await whileBusy(form, () => gql(SAVE, {
      id: app.id, a: chosen.map(({ jobRoleCode, userId }) => ({ jobRoleCode, userId })),
    }))).jobAllocationsSave;
    // a userError names input.allocations.<index>: put it next to that drop-down
    chosen.forEach((a, i) => errors.add(`input.allocations.${i}`, a.slot));
    if (errors.show(result.userErrors)) return false;
    drafts.delete(app.id);
    const missing = result.application.missingJobRoles.length;
    status.show(missing ? t("roles.savedPartial", { n: missing }) : t("roles.saved"));
    status.el.focus();
    return true;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!editable) {
      navigate(`/applications/${app.id}/summary`);
      return;
    }
    if (!validate()) {
      slots.find((s) => s.input.getAttribute("aria-invalid"))?.input.focus();
      return;
    }
    drafts.set(app.id, current().map(({ jobRoleCode, userId, name }) => ({ jobRoleCode, userId, name })));
    navigate(`/applications/${app.id}/summary`);
  });

  return h("section", {}, appHeader(app, t("roles.title"), "roles"), readOnlyNotice(app),
    h("p", { class: "lead" }, t("roles.intro")), form);
}

// --- SC-7: summary ----------------------------------------------------------------------

export async function summaryView({ params }) {
  const app = await loadApplication(SUMMARY, params.id);
  const editable = EDITABLE.includes(app.status);
  const saved = savedAllocations(app);
  let chosen = drafts.get(app.id) || saved;
  const unsaved = editable && !sameAllocations(chosen, saved);
  const errors = new ErrorSlots();
  const status = alertBox("success");
  const rowErrors = [];
  const rows = [];
  for (const role of app.jobRoles) {
    const people = chosen.filter((a) => a.jobRoleCode === role.code);
    for (let seat = 0; seat < Math.max(role.headcount, people.length); seat += 1) {
      const person = people[seat];
      const err = h("p", { class: "field-error", hidden: true });
      if (person) rowErrors.push({ person, err });
      rows.push(h("tr", { class: person ? null : "missing" },
        h("th", { scope: "row" }, role.name),
        h("td", {}, person ? person.name : badge(t("summary.missing"), "warning"), err)));
    }
  }
  const unsavedNote = unsaved ? notice("warning", h("p", {}, t("summary.unsaved"))) : null;

  async function save() {
    errors.clear();
    rowErrors.forEach((r) => { r.err.hidden = true; });
    const list = chosen.map(({ jobRoleCode, userId }) => ({ jobRoleCode, userId }));
    const result = (await whileBusy(form, () => gql(SAVE, { id: app.id, a: list }))).jobAllocationsSave;
    if (result.userErrors.length) {
      const general = [];
      for (const e of result.userErrors) {
        const index = e.field && e.field[1] === "allocations" ? Number(e.field[2]) : -1;
        const row = rowErrors.find((r) => r.person === chosen[index]);
        if (row) {
          row.err.textContent = errorText(e);
          row.err.hidden = false;
        } else general.push(errorText(e));
      }
      errors.alert.show(general.length ? general : [t("summary.fixErrors")],
        h("p", {}, h("a", { href: `/applications/${app.id}/roles` }, t("summary.backToRoles"))));
      errors.alert.el.focus();
      return false;
    }
    drafts.delete(app.id);
    chosen = savedAllocations(result.application);
    if (unsavedNote) unsavedNote.remove();
    status.show(t("roles.saved"));
    status.el.focus();
    return true;
  }

  const form = h("form", { class: "card", novalidate: true }, errors.alert.el, status.el, unsavedNote,
    table({ caption: t("summary.caption"), head: [t("summary.role"), t("summary.person")], rows }),
    h("div", { class: "actions" },
      h("a", { href: `/applications/${app.id}/roles`, class: "btn" }, t("common.back")),
      h("button", { type: "button", class: "btn", disabled: !editable, onclick: save }, t("common.save")),
      h("button", { type: "submit", class: "btn btn-primary" }, t("common.next"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (editable && !sameAllocations(chosen, saved) && drafts.has(app.id) && !(await save())) return;
    navigate(`/applications/${app.id}/terms`);
  });
  return h("section", {}, appHeader(app, t("summary.title"), "summary"), readOnlyNotice(app),
    h("p", { class: "lead" }, t("summary.intro")), form);
}

// --- SC-8: terms and conditions -----------------------------------------------------------

function termsText(terms) {
  // Shown as written: paragraphs split on blank lines, line breaks kept (no HTML is interpreted).
  return h("article", { class: "terms-text", lang: terms.locale, "aria-label": t("terms.textLabel") },
    terms.text.split(/\n{2,}/).map((p) => h("p", {}, p)));
}

export async function termsView({ params }) {
  const app = await loadApplication(TERMS, params.id);
  const terms = app.program.terms;
  const editable = EDITABLE.includes(app.status);
  const errors = new ErrorSlots();
  const result = h("div", { "aria-live": "polite" });
  const acceptance = app.termsAcceptance;
  const accepted = acceptance
    ? notice("success", h("p", {}, t("terms.acceptedBy", { version: acceptance.version, name: acceptance.user.name,
      when: fmtDateTime(acceptance.acceptedAt) })))
    : null;
  const acceptButton = h("button", { type: "button", class: "btn btn-primary", disabled: !editable }, t("terms.accept"));
  const declineButton = h("button", { type: "button", class: "btn btn-danger", disabled: !editable }, t("terms.decline"));
  const box = h("div", { class: "card terms-actions" }, errors.alert.el, result,
    h("p", {}, t("terms.question", { version: terms.version })),
    h("div", { class: "actions" }, acceptButton, declineButton));
  acceptButton.addEventListener("click", async () => {
    errors.clear();
    result.replaceChildren();
    const data = (await whileBusy(box, () => gql(ACCEPT, { id: app.id, v: terms.version }))).termsAccept;
    if (errors.show(data.userErrors)) return;
    flash(t("terms.acceptedFlash"));
    navigate(`/applications/${app.id}/submit`);
  });
  declineButton.addEventListener("click", async () => {
    errors.clear();
    const data = (await whileBusy(box, () => gql(DECLINE, { id: app.id }))).termsDecline;
    if (errors.show(data.userErrors)) return;
    if (accepted) accepted.remove();
    const message = lang() === "en" && data.message ? data.message : t("terms.declined");
    result.replaceChildren(notice("error", h("p", { tabindex: "-1" }, message),
      h("p", {}, t("terms.declinedHelp"))));
    result.querySelector("p").focus();
  });
  return h("section", {}, appHeader(app, t("terms.title"), "terms"), readOnlyNotice(app), accepted,
    h("p", { class: "lead" }, t("terms.intro")),
    h("p", { class: "muted" }, t("terms.version", { version: terms.version }), " · SHA-256 ", h("code", {}, terms.sha256.slice(0, 12), "…")),
    termsText(terms), box);
}

// --- SC-9: submit -------------------------------------------------------------------------

function blockerLink(app, blocker) {
  const role = blocker.jobRoleCode && app.jobRoles.find((r) => r.code === blocker.jobRoleCode);
  const doc = blocker.documentCode && app.requiredDocuments.find((d) => d.code === blocker.documentCode);
  const where = {
    ROLES_MISSING: ["roles", role ? t("blocker.ROLES_MISSING_ROLE", { role: role.name }) : t("blocker.ROLES_MISSING")],
    NOT_QUALIFIED: ["roles", t("blocker.NOT_QUALIFIED")],
    TOO_MANY_ROLES: ["roles", t("blocker.TOO_MANY_ROLES")],
    TERMS_NOT_ACCEPTED: ["terms", t("blocker.TERMS_NOT_ACCEPTED")],
    TERMS_DECLINED: ["terms", t("blocker.TERMS_DECLINED")],
    DOCUMENT_MISSING: ["documents", doc ? t("blocker.DOCUMENT_MISSING_DOC", { doc: doc.name }) : t("blocker.DOCUMENT_MISSING")],
    INVALID_STATUS: [null, t("blocker.INVALID_STATUS", { status: statusLabel(app.status) })],
  }[blocker.code] || [null, errorText(blocker)];
  const [step, text] = where;
  const message = lang() === "en" && blocker.message ? blocker.message : text;
  const fix = {
    roles: t("blocker.fixRoles"), terms: t("blocker.fixTerms"), documents: t("blocker.fixDocuments"),
  }[step] || t("blocker.fixOverview");
  return h("li", {}, h("span", {}, message), " ",
    h("a", { href: step ? `/applications/${app.id}/${step}` : `/applications/${app.id}` }, fix));
}

export async function submitView({ params }) {
  const app = await loadApplication(SUBMIT_PAGE, params.id);
  const errors = new ErrorSlots();
  const facts = dl([
    [t("step.roles"), app.jobAllocations.length ? fmtList(app.jobAllocations.map((a) => `${a.role.name}: ${a.user.name}`)) : "—"],
    [t("step.terms"), app.termsAcceptance ? t("terms.acceptedShort", { version: app.termsAcceptance.version,
      when: fmtDateTime(app.termsAcceptance.acceptedAt) }) : t("terms.notAccepted")],
  ]);
  let body;
  if (!app.canSubmit) {
    body = h("div", { class: "card" },
      notice("warning", h("p", {}, h("strong", {}, t("submit.blocked"))),
        h("ul", { class: "blockers" }, app.submitBlockers.map((b) => blockerLink(app, b)))),
      facts);
  } else {
    const form = h("form", { class: "card", novalidate: true }, errors.alert.el,
      notice("success", h("p", {}, t("submit.ready"))), facts,
      app.missingDocuments.length ? notice("info", h("p", {}, t("submit.documentsAfter",
        { docs: fmtList(app.missingDocuments.map((d) => d.name)) }))) : null,
      h("p", {}, t("submit.review", { days: app.program.reviewDays })),
      h("div", { class: "actions" },
        h("a", { href: `/applications/${app.id}/terms`, class: "btn" }, t("common.back")),
        h("button", { type: "submit", class: "btn btn-primary" }, t("submit.submit"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = (await whileBusy(form, () => gql(SUBMIT, { id: app.id }))).applicationSubmit;
      if (errors.show(result.userErrors)) return;
      flash(t("submit.done", { date: fmtDate(result.application.reviewDueOn) }));
      navigate(app.missingDocuments.length ? `/applications/${app.id}/documents` : `/applications/${app.id}`);
    });
    body = form;
  }
  return h("section", {}, appHeader(app, t("submit.title"), "submit"), body);
}

// --- SC-10: documents ---------------------------------------------------------------------

function typeLabel(type) {
  return { "application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG" }[type] || type;
}

export async function documentsView({ params }) {
  const app = await loadApplication(DOCUMENTS, params.id);
  const canUpload = !CLOSED.includes(app.status) && app.status !== "IN_PROGRESS";
  const sections = app.requiredDocuments.map((req) => {
    const docs = app.documents.filter((d) => d.requirementCode === req.code);
    const latest = docs.find((d) => !d.superseded);
    const missing = app.missingDocuments.some((m) => m.code === req.code);
    const errors = new ErrorSlots();
    const file = errors.add("input.file", field({ label: t("documents.file", { doc: req.name }), name: `file-${req.code}`, type: "file",
      required: true, attrs: { accept: req.acceptedContentTypes.join(",") },
      hint: t("documents.accepted", { types: fmtList(req.acceptedContentTypes.map(typeLabel)), size: fmtSize(req.maxSizeBytes) }) }));
    errors.add("input.requirementCode", file);
    const form = h("form", { class: "upload", novalidate: true }, errors.alert.el, file.el,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("documents.upload"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errors.clear();
      const chosen = file.input.files[0];
      if (!chosen) {
        file.setError(t("documents.pick"));
        file.input.focus();
        return;
      }
      if (chosen.size > req.maxSizeBytes) {
        file.setError(t("documents.tooBig", { size: fmtSize(req.maxSizeBytes) }));
        file.input.focus();
        return;
      }
      if (chosen.type && !req.acceptedContentTypes.includes(chosen.type)) {
        file.setError(t("documents.wrongType", { types: fmtList(req.acceptedContentTypes.map(typeLabel)) }));
        file.input.focus();
        return;
      }
      let result;
      try {
        result = (await whileBusy(form, () => upload(UPLOAD, { id: app.id, code: req.code }, "file", chosen))).documentUpload;
      } catch (error) {
        if (error.code === "TOO_LARGE") {
          file.setError(t("documents.tooBig", { size: fmtSize(req.maxSizeBytes) }));
          return;
        }
        throw error;
      }
      if (errors.show(result.userErrors)) return;
      flash(t("documents.uploaded", { file: result.document.filename }));
      navigate(`/applications/${app.id}/documents`, { replace: true });
    });
    const rows = docs.map((d) => h("tr", { class: d.superseded ? "superseded" : null },
      h("th", { scope: "row" }, h("a", { href: d.downloadUrl, target: "_blank", rel: "noopener" }, d.filename)),
      h("td", {}, statusBadge(d.status), d.superseded ? [" ", badge(t("documents.superseded"), "muted")] : null),
      h("td", {}, fmtDateTime(d.uploadedAt), " · ", d.uploadedBy.name),
      h("td", {}, d.reviewComment || "—")));
    return h("section", { class: "card document" },
      h("h2", {}, req.name, " ", missing ? badge(t("documents.required"), "warning") : badge(t("documents.done"), "success")),
      h("p", {}, req.description),
      latest && latest.status === "REJECTED" ? notice("error", h("p", {}, t("documents.rejected", { comment: latest.reviewComment || "—" }))) : null,
      docs.length ? table({ caption: t("documents.uploads"), head: [t("documents.filename"), t("documents.status"),
        t("documents.uploadedAt"), t("documents.comment")], rows }) : h("p", { class: "muted" }, t("documents.noneYet")),
      canUpload ? form : null);
  });
  return h("section", {}, appHeader(app, t("documents.title"), "documents"),
    h("p", { class: "lead" }, app.requiredDocuments.length ? t("documents.intro") : t("documents.noneRequired")), sections);
}

// --- the application's status page --------------------------------------------------------

export function eventsTable(events, caption, hideCaption = false) {
  return table({
    caption, hideCaption, head: [t("events.when"), t("events.what"), t("events.who"), t("events.status"), t("events.comment")],
    rows: events.map((e) => h("tr", {},
      h("td", {}, fmtDateTime(e.occurredAt)),
      h("th", { scope: "row" }, t(`event.${e.kind}`)),
      h("td", {}, e.actor ? `${e.actor.name} (${t(`role.${e.actor.role}`)})` : t("events.system")),
      h("td", {}, e.toStatus ? [e.fromStatus ? [statusLabel(e.fromStatus), " → "] : null, statusLabel(e.toStatus)] : "—"),
      h("td", {}, e.comment || ""))),
  });
}

export async function overviewView({ params }) {
  const app = await loadApplication(OVERVIEW, params.id);
  const parts = [];
  const facts = dl([
    [t("app.currentStatus"), statusBadge(app.status)],
    [t("app.program"), app.program.name],
    [t("app.location"), `${app.location.partner.name} · ${locationLabel(app.location)}`],
    [t("app.round"), app.round > 1 ? String(app.round) : null],
    [t("app.invitedAt"), fmtDateTime(app.invitedAt)],
    [t("app.invitationExpires"), app.status === "IN_PROGRESS" ? fmtDateTime(app.invitationExpiresAt) : null],
    [t("app.submittedAt"), fmtDateTime(app.submittedAt)],
    [t("app.reviewDue"), app.reviewDueOn ? fmtDate(app.reviewDueOn) : null],
    [t("app.decidedAt"), fmtDateTime(app.decidedAt)],
    [t("app.terms"), app.termsAcceptance ? t("terms.acceptedShort", { version: app.termsAcceptance.version,
      when: fmtDateTime(app.termsAcceptance.acceptedAt) }) : null],
  ]);
  parts.push(h("div", { class: "card" }, facts));
  if (app.decisionComment) {
    parts.push(notice(app.lastDecision === "APPROVED" ? "success" : "warning",
      h("p", {}, h("strong", {}, t("app.adminComment"))), h("p", { class: "comment" }, app.decisionComment)));
  }
  const next = [];
  if (app.status === "IN_PROGRESS") {
    const errors = new ErrorSlots();
    const form = h("form", { class: "card", novalidate: true }, errors.alert.el, h("p", {}, t("app.startHelp")),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("common.select"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = (await whileBusy(form, () => gql(START, { id: app.id }))).applicationStart;
      if (errors.show(result.userErrors)) return;
      navigate(`/applications/${app.id}/roles`);
    });
    next.push(form);
  } else if (EDITABLE.includes(app.status)) {
    next.push(h("div", { class: "card" }, h("p", {}, app.status === "CHANGES_REQUESTED" ? t("app.changesHelp") : t("app.continueHelp")),
      steps(app, null)));
  } else if (app.status === "SUBMITTED") {
    next.push(notice("info", h("p", {}, t("app.submittedHelp", { date: fmtDate(app.reviewDueOn) }))));
  }
  if (app.missingDocuments.length && !CLOSED.includes(app.status) && app.status !== "IN_PROGRESS") {
    next.push(notice("warning", h("p", {}, t("app.documentsMissing", { docs: fmtList(app.missingDocuments.map((d) => d.name)) })),
      h("p", {}, linkButton(t("app.uploadNow"), `/applications/${app.id}/documents`, { class: "btn btn-primary" }))));
  } else if (app.requiredDocuments.length) {
    next.push(h("p", {}, h("a", { href: `/applications/${app.id}/documents` }, t("app.documentsLink"))));
  }
  parts.push(...next);
  if (WITHDRAWABLE.includes(app.status)) parts.push(withdrawForm(app));
  parts.push(h("h2", {}, t("events.title")), eventsTable(app.events, t("events.title"), true));
  parts.push(h("p", { class: "muted" }, t("common.questions"), " ",
    h("a", { href: `mailto:${app.program.supportEmail}` }, app.program.supportEmail)));
  return h("section", {}, pageHeader(app.program.name, `${app.location.partner.name} · ${locationLabel(app.location)}`),
    parts, h("p", {}, h("a", { href: `/locations/${app.location.id}` }, t("app.backToPrograms"))));
}

function withdrawForm(app) {
  const errors = new ErrorSlots();
  const reason = errors.add("input.reason", field({ label: t("withdraw.reason"), name: "reason", type: "textarea" }));
  const confirm = field({ label: t("withdraw.confirm"), name: "confirm", type: "checkbox", required: true });
  confirm.el.classList.add("field-checkbox");
  const form = h("form", { novalidate: true }, errors.alert.el, h("p", {}, t("withdraw.help")), reason.el, confirm.el,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-danger" }, t("withdraw.submit"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    confirm.clearError();
    if (!confirm.input.checked) {
      confirm.setError(t("withdraw.confirmNeeded"));
      confirm.input.focus();
      return;
    }
    const result = (await whileBusy(form, () => gql(WITHDRAW, { id: app.id, r: reason.input.value.trim() || null }))).applicationWithdraw;
    if (errors.show(result.userErrors)) return;
    flash(t("withdraw.done"));
    navigate(`/applications/${app.id}`, { replace: true });
  });
  return h("details", { class: "card withdraw" }, h("summary", {}, t("withdraw.title")), form);
}
