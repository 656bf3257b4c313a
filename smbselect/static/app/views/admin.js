// The admin's screens: invitation (SC-1/SC-2), the approval queue, the application detail with
// document review and the decision (SC-11), the outbox, and the registry.

import { ApiError, gql } from "../api.js";
import { h } from "../dom.js";
import { country, fmtDate, fmtDateTime, fmtList, fmtSize, statusLabel, t } from "../i18n.js";
import { flash, navigate } from "../nav.js";
import {
  ErrorSlots, alertBox, badge, choices, dl, field, labelCells, notice, pageHeader, statusBadge, table, whileBusy,
} from "../ui.js";
import { eventsTable } from "./partner.js";

const STATUSES = ["IN_PROGRESS", "NOT_SUBMITTED", "SUBMITTED", "CHANGES_REQUESTED", "APPROVED", "REJECTED", "WITHDRAWN", "EXPIRED"];
const ORDER_FIELDS = ["REVIEW_DUE_ON", "SUBMITTED_AT", "INVITED_AT", "PARTNER_NAME"];
const PAGE = 25;

function todayUtc() {
  return new Date().toISOString().slice(0, 10);
}

export function isOverdue(app) {
  return app.status === "SUBMITTED" && app.reviewDueOn && app.reviewDueOn < todayUtc();
}

function select(options, value) {
  return h("select", {}, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

// --- the approval queue -------------------------------------------------------------------

const QUEUE = `query($filter: ApplicationFilter, $orderBy: ApplicationOrder, $first: Int, $after: String) {
  programs { id name }
  applications(filter: $filter, orderBy: $orderBy, first: $first, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id status round invitedAt submittedAt reviewDueOn program { id name }
      location { id name country partner { id name } } } } } }`;

export async function queueView({ query }) {
  const state = {
    status: query.status ?? "SUBMITTED",
    program: query.program || "",
    q: query.q || "",
    overdue: query.overdue === "1",
    order: ORDER_FIELDS.includes(query.order) ? query.order : "REVIEW_DUE_ON",
    dir: query.dir === "DESC" ? "DESC" : "ASC",
  };
  const filter = {};
  if (state.status) filter.status = [state.status];
  if (state.program) filter.programIds = [state.program];
  if (state.q) filter.search = state.q;
  if (state.overdue) filter.overdue = true;
  const variables = { filter, orderBy: { field: state.order, direction: state.dir }, first: PAGE, after: null };
  const data = await gql(QUEUE, variables);

  const statusField = field({ label: t("queue.status"), name: "status",
    control: select([["", t("queue.allStatuses")], ...STATUSES.map((s) => [s, statusLabel(s)])], state.status) });
  const programField = field({ label: t("queue.program"), name: "program",
    control: select([["", t("queue.allPrograms")], ...data.programs.map((p) => [p.id, p.name])], state.program) });
  const searchField = field({ label: t("queue.search"), name: "q", type: "search", value: state.q, hint: t("queue.searchHint") });
  const overdueField = field({ label: t("queue.overdueOnly"), name: "overdue", type: "checkbox" });
  overdueField.input.checked = state.overdue;
  overdueField.el.classList.add("field-checkbox");
  const orderField = field({ label: t("queue.orderBy"), name: "order",
    control: select(ORDER_FIELDS.map((f) => [f, t(`order.${f}`)]), state.order) });
  const dirField = field({ label: t("queue.direction"), name: "dir",
    control: select([["ASC", t("order.ASC")], ["DESC", t("order.DESC")]], state.dir) });
  const filters = h("form", { class: "card filters", role: "search", "aria-label": t("queue.filters") },
    h("div", { class: "filter-grid" }, statusField.el, programField.el, searchField.el, orderField.el, dirField.el, overdueField.el),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("queue.apply")),
      h("a", { href: "/admin/queue?status=", class: "btn" }, t("queue.reset"))));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    params.set("status", statusField.input.value);
    if (programField.input.value) params.set("program", programField.input.value);
    if (searchField.input.value.trim()) params.set("q", searchField.input.value.trim());
    if (overdueField.input.checked) params.set("overdue", "1");
    params.set("order", orderField.input.value);
    params.set("dir", dirField.input.value);
    navigate(`/admin/queue?${params}`);
  });

  const tbody = h("tbody", {});
  const row = (app) => {
    const late = isOverdue(app);
    return h("tr", { class: late ? "overdue" : null },
      h("th", { scope: "row" }, h("a", { href: `/applications/${app.id}` }, app.location.partner.name)),
      h("td", {}, `${app.location.name} (${country(app.location.country)})`),
      h("td", {}, app.program.name),
      h("td", {}, statusBadge(app.status), app.round > 1 ? [" ", badge(t("queue.round", { n: app.round }), "muted")] : null),
      h("td", {}, app.submittedAt ? fmtDateTime(app.submittedAt) : "—"),
      h("td", {}, app.reviewDueOn ? fmtDate(app.reviewDueOn) : "—", late ? [" ", badge(t("queue.overdue"), "danger")] : null));
  };
  const conn = data.applications;
  const head = [t("queue.partner"), t("queue.location"), t("queue.program"), t("app.currentStatus"), t("app.submittedAt"), t("app.reviewDue")];
  const addRows = (edges) => {
    const trs = edges.map((e) => row(e.node));
    labelCells(head, trs);
    tbody.append(...trs);
  };
  addRows(conn.edges);
  let cursor = conn.pageInfo.endCursor;
  const more = h("button", { type: "button", class: "btn", hidden: !conn.pageInfo.hasNextPage }, t("common.loadMore"));
  more.addEventListener("click", async () => {
    more.disabled = true;
    const next = (await gql(QUEUE, { ...variables, after: cursor })).applications;
    addRows(next.edges);
    cursor = next.pageInfo.endCursor;
    more.disabled = false;
    more.hidden = !next.pageInfo.hasNextPage;
  });
  const results = conn.totalCount
    ? h("div", { class: "table-wrap", role: "region", "aria-label": t("queue.caption"), tabindex: "0" },
      h("table", { class: "stack queue" }, h("caption", {}, t("queue.count", { n: conn.totalCount })),
        h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))), tbody))
    : notice("info", h("p", {}, t("queue.empty")));
  return h("section", {}, pageHeader(t("queue.title"), t("queue.intro")), filters, results, h("div", { class: "actions" }, more));
}

// --- invitation (SC-2) --------------------------------------------------------------------

const PROGRAMS = `{ programs { id code name description active reviewDays jobRoles { name } requiredDocuments { name } } }`;
const PARTNERS = `query($s: String) { partners(search: $s, first: 20) { totalCount edges { node { id name registered
  locations { id name country }
  users(first: 100) { totalCount edges { node { id username name email active role locations { id } } } } } } } }`;
const SEND = `mutation($input: InvitationSendInput!) { invitationSend(input: $input) {
  invitation { id expiresAt users { id name email } applications { id status location { id name country } } }
  userErrors { code field message } } }`;

export async function inviteView() {
  const programs = (await gql(PROGRAMS)).programs.filter((p) => p.active);
  const errors = new ErrorSlots();
  const result = h("div", {});
  const programGroup = errors.add("input.programId", choices({
    legend: t("invite.program"), name: "program", required: true, hint: t("invite.programHint"),
    options: programs.map((p) => ({ value: p.id, label: p.name, checked: programs.length === 1,
      hint: `${p.description} ${t("invite.programFacts", { roles: fmtList(p.jobRoles.map((r) => r.name)), days: p.reviewDays })}${
        p.requiredDocuments.length ? ` ${t("invite.programDocs", { docs: fmtList(p.requiredDocuments.map((d) => d.name)) })}` : ""}` })),
  }));

  let partners = [];
  let partner = null;
  const searchField = field({ label: t("invite.search"), name: "partner-search", type: "search", hint: t("invite.searchHint") });
  const searchButton = h("button", { type: "button", class: "btn" }, t("invite.searchButton"));
  const partnerBox = h("div", { "aria-live": "polite" });
  const peopleBox = h("div", {});
  const partnerSlot = { el: partnerBox, input: searchField.input, errorEl: null,
    setError: (m) => searchField.setError(m), clearError: () => searchField.clearError() };
  errors.add("input.partnerId", partnerSlot);
  let peopleGroup = null;
  let locationGroup = null;

  async function search() {
    searchField.clearError();
    const data = await gql(PARTNERS, { s: searchField.input.value.trim() || null });
    partners = data.partners.edges.map((e) => e.node);
    partner = null;
    peopleBox.replaceChildren();
    if (!partners.length) {
      partnerBox.replaceChildren(notice("info", h("p", {}, t("invite.noPartners"))));
      return;
    }
    const group = choices({
      legend: t("invite.partner"), name: "partner", required: true,
      options: partners.map((p) => ({ value: p.id, label: p.name, disabled: !p.registered,
        hint: p.registered
          ? t("invite.partnerFacts", { locations: fmtList(p.locations.map((l) => `${l.name} (${country(l.country)})`)) || "—", n: p.users.totalCount })
          : t("invite.notRegistered") })),
      onChange: () => choosePartner(group.value()),
    });
    partnerBox.replaceChildren(group.el);
    const enabled = partners.filter((p) => p.registered);
    if (enabled.length === 1) {
      group.inputs[partners.indexOf(enabled[0])].checked = true;
      choosePartner(enabled[0].id);
    }
  }

  function choosePartner(id) {
    partner = partners.find((p) => p.id === id) || null;
    if (!partner) return;
    const people = partner.users.edges.map((e) => e.node).filter((u) => u.role === "PARTNER");
    const locName = (lid) => partner.locations.find((l) => l.id === lid)?.name;
    peopleGroup = errors.add("input.userIds", choices({
      legend: t("invite.people", { partner: partner.name }), name: "users", type: "checkbox", required: true, hint: t("invite.peopleHint"),
      options: people.map((u) => ({ value: u.id, label: `${u.name} (${u.username})`, disabled: !u.active,
        hint: `${u.email} · ${u.locations.length ? t("invite.actsFor", { locations: fmtList(u.locations.map((l) => locName(l.id)).filter(Boolean)) }) : t("invite.actsForNone")}${u.active ? "" : ` · ${t("registry.inactive")}`}` })),
    }));
    locationGroup = errors.add("input.locationIds", choices({
      legend: t("invite.locations"), name: "locations", type: "checkbox", hint: t("invite.locationsHint"),
      options: partner.locations.map((l) => ({ value: l.id, label: `${l.name} (${country(l.country)})` })),
    }));
    peopleBox.replaceChildren(peopleGroup.el, h("details", {}, h("summary", {}, t("invite.limitLocations")), locationGroup.el));
  }

  searchButton.addEventListener("click", search);
  searchField.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      search();
    }
  });

  const form = h("form", { class: "card", novalidate: true }, errors.alert.el, programGroup.el,
    h("fieldset", { class: "search" }, h("legend", {}, t("invite.partnerStep")),
      h("div", { class: "inline" }, searchField.el, searchButton), partnerBox),
    peopleBox,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("invite.send"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const programId = programGroup.value();
    const userIds = peopleGroup ? peopleGroup.values() : [];
    let ok = true;
    if (!programId) { programGroup.setError(t("invite.pickProgram")); ok = false; }
    if (!partner) { searchField.setError(t("invite.pickPartner")); ok = false; } else if (!userIds.length) { peopleGroup.setError(t("invite.pickPeople")); ok = false; }
    if (!ok) {
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const locationIds = locationGroup.values();
    const input = { programId, partnerId: partner.id, userIds, ...(locationIds.length ? { locationIds } : {}) };
    const sent = (await whileBusy(form, () => gql(SEND, { input }))).invitationSend;
    if (errors.show(sent.userErrors)) return;
    const inv = sent.invitation;
    const program = programs.find((p) => p.id === programId);
    result.replaceChildren(notice("success",
      h("p", { tabindex: "-1" }, h("strong", {}, t("invite.sent", { program: program.name, people: fmtList(inv.users.map((u) => `${u.name} <${u.email}>`)) }))),
      h("p", {}, t("invite.expires", { date: fmtDateTime(inv.expiresAt) })),
      h("ul", {}, inv.applications.map((a) => h("li", {}, h("a", { href: `/applications/${a.id}` }, `${a.location.name} (${country(a.location.country)})`),
        " — ", statusBadge(a.status))))));
    form.reset();
    partnerBox.replaceChildren();
    peopleBox.replaceChildren();
    partner = null;
    result.querySelector("p").focus();
  });
  return h("section", {}, pageHeader(t("invite.title"), t("invite.intro")), result, form);
}

// --- application detail, document review and decision (SC-11) -----------------------------

const DETAIL = `query($id: ID!) { application(id: $id) { id status round invitedAt invitationExpiresAt submittedAt reviewDueOn decidedAt
  lastDecision decisionComment
  program { id name code reviewDays maxRolesPerPerson supportEmail terms { version sha256 } }
  location { id name country partner { id name registered } }
  jobRoles { code name headcount acceptedCertifications }
  jobAllocations { role { code name } user { id name username email certifications { code expiresOn } } }
  missingJobRoles { code name }
  termsAcceptance { version sha256 acceptedAt user { id name username } }
  requiredDocuments { code name } missingDocuments { code name }
  documents { id requirementCode filename contentType size status reviewComment uploadedAt uploadedBy { name username } superseded downloadUrl }
  events { occurredAt kind fromStatus toStatus comment actor { name role } }
  emails { id to subject status attempts lastError queuedAt sentAt } } }`;
const REVIEW = `mutation($input: DocumentReviewInput!) { documentReview(input: $input) { document { id status } userErrors { code field message } } }`;
const PREVIEW = `query($id: ID!, $d: Decision!, $c: String) { decisionEmailPreview(applicationId: $id, decision: $d, comment: $c) { to subject body } }`;
const DECIDE = `mutation($input: ApplicationDecideInput!) { applicationDecide(input: $input) {
  application { id status } userErrors { code field message } } }`;

export async function detailView({ params }) {
  const app = (await gql(DETAIL, { id: params.id })).application;
  if (!app) throw new ApiError("NOT_FOUND");
  const late = isOverdue(app);
  const sections = [];

  sections.push(h("div", { class: "card" }, dl([
    [t("app.currentStatus"), [statusBadge(app.status), late ? [" ", badge(t("queue.overdue"), "danger")] : null]],
    [t("queue.partner"), app.location.partner.name],
    [t("app.location"), `${app.location.name} (${country(app.location.country)})`],
    [t("app.program"), app.program.name],
    [t("app.round"), String(app.round)],
    [t("app.invitedAt"), fmtDateTime(app.invitedAt)],
    [t("app.submittedAt"), fmtDateTime(app.submittedAt)],
    [t("app.reviewDue"), app.reviewDueOn ? fmtDate(app.reviewDueOn) : null],
    [t("app.decidedAt"), fmtDateTime(app.decidedAt)],
    [t("detail.lastDecision"), app.lastDecision ? t(`decision.${app.lastDecision}`) : null],
    [t("app.adminComment"), app.decisionComment],
  ])));

  // allocations
  const allocRows = [];
  for (const role of app.jobRoles) {
    const people = app.jobAllocations.filter((a) => a.role.code === role.code);
    if (!people.length) {
      allocRows.push(h("tr", { class: "missing" }, h("th", { scope: "row" }, role.name), h("td", { colspan: "2" }, badge(t("summary.missing"), "warning"))));
    }
    for (const a of people) {
      allocRows.push(h("tr", {}, h("th", { scope: "row" }, role.name),
        h("td", {}, `${a.user.name} (${a.user.username})`),
        h("td", {}, a.user.certifications.map((c) => `${c.code}${c.expiresOn ? ` (${t("detail.until", { date: fmtDate(c.expiresOn) })})` : ""}`).join(", ") || "—")));
    }
  }
  sections.push(h("section", { class: "card" }, h("h2", {}, t("detail.allocations")),
    table({ caption: t("detail.allocations"), hideCaption: true, head: [t("summary.role"), t("summary.person"), t("detail.certifications")], rows: allocRows })));

  // terms acceptance: who, when, which version
  const ta = app.termsAcceptance;
  sections.push(h("section", { class: "card" }, h("h2", {}, t("detail.terms")),
    ta ? dl([
      [t("detail.acceptedBy"), `${ta.user.name} (${ta.user.username})`],
      [t("detail.acceptedAt"), fmtDateTime(ta.acceptedAt)],
      [t("detail.version"), ta.version],
      ["SHA-256", h("code", { class: "hash" }, ta.sha256)],
      [t("detail.current"), ta.version === app.program.terms.version && ta.sha256 === app.program.terms.sha256 ? t("common.yes") : t("detail.outdated")],
    ]) : h("p", { class: "muted" }, t("terms.notAccepted"))));

  // documents
  if (app.requiredDocuments.length || app.documents.length) {
    const docName = (code) => app.requiredDocuments.find((d) => d.code === code)?.name || code;
    const rows = app.documents.map((d) => {
      const errors = new ErrorSlots();
      const comment = errors.add("input.comment", field({ label: t("detail.rejectComment", { file: d.filename }), name: `comment-${d.id}`, type: "textarea" }));
      const actions = h("form", { class: "review", novalidate: true }, errors.alert.el,
        h("div", { class: "actions" },
          h("button", { type: "button", class: "btn btn-primary", onclick: () => review("ACCEPTED") }, t("detail.acceptDoc")),
          h("button", { type: "button", class: "btn", "aria-expanded": "false", onclick: (e) => {
            const open = comment.el.hidden;
            comment.el.hidden = !open;
            rejectButton.hidden = !open;
            e.currentTarget.setAttribute("aria-expanded", String(open));
            if (open) comment.input.focus();
          } }, t("detail.rejectDoc"))),
        comment.el);
      comment.el.hidden = true;
      const rejectButton = h("button", { type: "submit", class: "btn btn-danger", hidden: true }, t("detail.confirmReject"));
      actions.append(rejectButton);
      actions.addEventListener("submit", (e) => { e.preventDefault(); review("REJECTED"); });
      async function review(decision) {
        errors.clear();
        if (decision === "REJECTED" && !comment.input.value.trim()) {
          comment.setError(t("detail.commentNeeded"));
          comment.input.focus();
          return;
        }
        const input = { documentId: d.id, decision, comment: comment.input.value.trim() || null };
        const result = (await whileBusy(actions, () => gql(REVIEW, { input }))).documentReview;
        if (errors.show(result.userErrors)) return;
        flash(t(decision === "ACCEPTED" ? "detail.docAccepted" : "detail.docRejected", { file: d.filename }));
        navigate(`/applications/${app.id}`, { replace: true });
      }
      return h("tr", { class: d.superseded ? "superseded" : null },
        h("th", { scope: "row" }, h("a", { href: d.downloadUrl, target: "_blank", rel: "noopener" }, d.filename),
          h("div", { class: "muted" }, `${docName(d.requirementCode)} · ${d.contentType} · ${fmtSize(d.size)}`)),
        h("td", {}, statusBadge(d.status), d.superseded ? [" ", badge(t("documents.superseded"), "muted")] : null,
          d.reviewComment ? h("div", { class: "muted" }, d.reviewComment) : null),
        h("td", {}, fmtDateTime(d.uploadedAt), h("div", { class: "muted" }, d.uploadedBy.name)),
        h("td", {}, d.superseded || d.status !== "PENDING" ? "—" : actions));
    });
    sections.push(h("section", { class: "card" }, h("h2", {}, t("detail.documents")),
      app.missingDocuments.length ? notice("warning", h("p", {}, t("detail.missingDocs", { docs: fmtList(app.missingDocuments.map((d) => d.name)) }))) : null,
      rows.length ? table({ caption: t("detail.documents"), hideCaption: true, head: [t("documents.filename"), t("documents.status"), t("documents.uploadedAt"), t("detail.review")], rows })
        : h("p", { class: "muted" }, t("documents.noneYet"))));
  }

  if (app.status === "SUBMITTED") sections.push(decisionPanel(app));

  sections.push(h("section", { class: "card" }, h("h2", {}, t("events.title")), eventsTable(app.events, t("events.title"), true)));
  if (app.emails.length) {
    sections.push(h("section", { class: "card" }, h("h2", {}, t("detail.emails")), emailsTable(app.emails, t("detail.emails"), null, true)));
  }
  return h("section", {}, pageHeader(`${app.location.partner.name} · ${app.location.name}`, app.program.name), sections,
    h("p", {}, h("a", { href: "/admin/queue" }, t("detail.backToQueue"))));
}

function decisionPanel(app) {
  const errors = new ErrorSlots();
  const decision = errors.add("input.decision", choices({
    legend: t("decision.legend"), name: "decision", required: true,
    options: ["APPROVED", "REJECTED", "CHANGES_REQUESTED"].map((d) => ({ value: d, label: t(`decision.${d}`), hint: t(`decision.${d}.hint`) })),
    onChange: invalidate,
  }));
  const comment = errors.add("input.comment", field({ label: t("decision.comment"), name: "decision-comment", type: "textarea",
    hint: t("decision.commentHint") }));
  comment.input.addEventListener("input", invalidate);
  const previewBox = h("div", { class: "email-preview", "aria-live": "polite" });
  const previewButton = h("button", { type: "button", class: "btn" }, t("decision.preview"));
  const confirmButton = h("button", { type: "submit", class: "btn btn-primary", hidden: true }, t("decision.confirm"));
  let previewed = null;

  function invalidate() {
    previewed = null;
    confirmButton.hidden = true;
    previewBox.replaceChildren();
  }

  function check() {
    errors.clear();
    const d = decision.value();
    if (!d) {
      decision.setError(t("decision.pick"));
      decision.inputs[0].focus();
      return null;
    }
    if (d !== "APPROVED" && !comment.input.value.trim()) {
      comment.setError(t("decision.commentNeeded"));
      comment.input.focus();
      return null;
    }
    return { decision: d, comment: comment.input.value.trim() || null };
  }

  previewButton.addEventListener("click", async () => {
    const input = check();
    if (!input) return;
    const mails = (await whileBusy(form, () => gql(PREVIEW, { id: app.id, d: input.decision, c: input.comment }))).decisionEmailPreview;
    previewed = input;
    previewBox.replaceChildren(h("h3", { tabindex: "-1" }, t("decision.previewTitle", { n: mails.length })),
      ...mails.map((m) => h("article", { class: "email" },
        dl([[t("email.to"), m.to.join(", ")], [t("email.subject"), m.subject]]),
        h("pre", { class: "email-body" }, m.body))));
    confirmButton.hidden = false;
    previewBox.querySelector("h3").focus();
  });

  const form = h("form", { class: "card decision", novalidate: true }, h("h2", {}, t("decision.title")), errors.alert.el,
    decision.el, comment.el, h("div", { class: "actions" }, previewButton), previewBox,
    h("div", { class: "actions" }, confirmButton));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!previewed) return;
    const result = (await whileBusy(form, () => gql(DECIDE, { input: { applicationId: app.id, ...previewed } }))).applicationDecide;
    if (errors.show(result.userErrors)) return;
    flash(t("decision.done", { status: statusLabel(result.application.status) }));
    navigate(`/applications/${app.id}`, { replace: true });
  });
  return form;
}

// --- outbox -------------------------------------------------------------------------------

const OUTBOX = `query($status: EmailStatus, $after: String) { emails(status: $status, first: 50, after: $after) { totalCount
  pageInfo { hasNextPage endCursor } edges { node { id to subject status attempts lastError queuedAt sentAt } } } }`;
const RETRY = `mutation($id: ID!) { emailRetry(input: {emailId: $id}) { email { id status } userErrors { code field message } } }`;

function emailsTable(emails, caption, retry, hideCaption = false) {
  return table({
    caption, hideCaption,
    head: [t("email.subject"), t("email.to"), t("email.status"), t("email.attempts"), t("email.queuedAt"), t("email.sentAt"), ...(retry ? [t("email.actions")] : [])],
    rows: emails.map((m) => h("tr", { class: m.status === "FAILED" ? "failed" : null },
      h("th", { scope: "row" }, m.subject),
      h("td", {}, m.to.join(", ")),
      h("td", {}, h("span", { class: `badge email-${m.status.toLowerCase()}` }, t(`email.${m.status}`)),
        m.lastError ? h("div", { class: "muted" }, m.lastError) : null),
      h("td", {}, String(m.attempts)),
      h("td", {}, fmtDateTime(m.queuedAt)),
      h("td", {}, m.sentAt ? fmtDateTime(m.sentAt) : "—"),
      retry ? h("td", {}, m.status === "FAILED" ? retry(m) : "—") : null)),
  });
}

export async function outboxView({ query }) {
  const status = ["QUEUED", "SENT", "FAILED"].includes(query.status) ? query.status : "";
  const data = (await gql(OUTBOX, { status: status || null, after: null })).emails;
  const errors = new ErrorSlots();
  const statusField = field({ label: t("email.status"), name: "status",
    control: select([["", t("outbox.all")], ...["QUEUED", "SENT", "FAILED"].map((s) => [s, t(`email.${s}`)])], status) });
  const filters = h("form", { class: "card filters", role: "search", "aria-label": t("queue.filters") },
    h("div", { class: "filter-grid" }, statusField.el),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("queue.apply"))));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(statusField.input.value ? `/admin/outbox?status=${statusField.input.value}` : "/admin/outbox");
  });
  const retry = (m) => {
    const b = h("button", { type: "button", class: "btn" }, t("outbox.retry"));
    b.setAttribute("aria-label", t("outbox.retryLabel", { subject: m.subject }));
    b.addEventListener("click", async () => {
      b.disabled = true;
      const result = (await gql(RETRY, { id: m.id })).emailRetry;
      b.disabled = false;
      if (errors.show(result.userErrors)) return;
      flash(t("outbox.retried", { subject: m.subject }));
      navigate(location.pathname + location.search, { replace: true });
    });
    return b;
  };
  const emails = data.edges.map((e) => e.node);
  const failed = emails.filter((m) => m.status === "FAILED").length;
  const wrap = h("div", {}, data.totalCount
    ? emailsTable(emails, t("outbox.count", { n: data.totalCount }), retry)
    : notice("info", h("p", {}, t("outbox.empty"))));
  let cursor = data.pageInfo.endCursor;
  const more = h("button", { type: "button", class: "btn", hidden: !data.pageInfo.hasNextPage }, t("common.loadMore"));
  more.addEventListener("click", async () => {
    const next = (await gql(OUTBOX, { status: status || null, after: cursor })).emails;
    emails.push(...next.edges.map((e) => e.node));
    wrap.replaceChildren(emailsTable(emails, t("outbox.count", { n: next.totalCount }), retry));
    cursor = next.pageInfo.endCursor;
    more.hidden = !next.pageInfo.hasNextPage;
  });
  return h("section", {}, pageHeader(t("outbox.title"), t("outbox.intro")), errors.alert.el,
    failed ? notice("warning", h("p", {}, t("outbox.failed", { n: failed }))) : null, filters, wrap, h("div", { class: "actions" }, more));
}

// --- registry -----------------------------------------------------------------------------

const REGISTRY_SEARCH = `query($s: String) { partners(search: $s, first: 50) { totalCount edges { node { id name registered
  locations { id } users(first: 1) { totalCount } } } } }`;
const PARTNER = `query($id: ID!) { node(id: $id) { ... on Partner { id name registered locations { id name country }
  users(first: 100) { totalCount edges { node { id username name email role active certifications { code expiresOn }
    locations { id } staffOf { id } } } } } } }`;
const PARTNER_CREATE = `mutation($input: PartnerCreateInput!) { partnerCreate(input: $input) { partner { id name } userErrors { code field message } } }`;
const PARTNER_UPDATE = `mutation($input: PartnerUpdateInput!) { partnerUpdate(input: $input) { partner { id } userErrors { code field message } } }`;
const LOCATION_CREATE = `mutation($input: LocationCreateInput!) { locationCreate(input: $input) { location { id } userErrors { code field message } } }`;
const LOCATION_UPDATE = `mutation($input: LocationUpdateInput!) { locationUpdate(input: $input) { location { id } userErrors { code field message } } }`;
const USER_CREATE = `mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id } userErrors { code field message } } }`;
const USER_UPDATE = `mutation($input: UserUpdateInput!) { userUpdate(input: $input) { user { id } userErrors { code field message } } }`;
const CERT_CREATE = `mutation($input: CertificationCreateInput!) { certificationCreate(input: $input) { user { id } userErrors { code field message } } }`;
const CERT_REMOVE = `mutation($input: CertificationRemoveInput!) { certificationRemove(input: $input) { user { id } userErrors { code field message } } }`;

// One small form: fields, a submit button, userErrors by path, then reload with a message.
// `title` names the form (role form); `heading: false` where a <summary> shows the title already.
function registryForm({ title, fields, submit, run, done, className = "card", heading = true }) {
  const errors = new ErrorSlots();
  for (const [path, s] of Object.entries(fields)) errors.add(path, s);
  const form = h("form", { class: className, novalidate: true, "aria-label": title || null },
    title && heading ? h("h3", {}, title) : null, errors.alert.el,
    Object.values(fields).map((s) => s.el),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, submit)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const payload = await whileBusy(form, run);
    if (errors.show(payload.userErrors)) return;
    flash(done(payload));
    navigate(location.pathname + location.search, { replace: true });
  });
  return form;
}

function checkbox(label, checked, name) {
  const s = field({ label, name, type: "checkbox" });
  s.input.checked = checked;
  s.el.classList.add("field-checkbox");
  return s;
}

export async function registryView({ query }) {
  const q = query.q || "";
  const found = (await gql(REGISTRY_SEARCH, { s: q || null })).partners;
  const searchField = field({ label: t("registry.search"), name: "q", type: "search", value: q });
  const searchForm = h("form", { class: "card filters", role: "search", "aria-label": t("registry.search") },
    h("div", { class: "inline" }, searchField.el, h("button", { type: "submit", class: "btn" }, t("invite.searchButton"))));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = searchField.input.value.trim();
    navigate(v ? `/admin/registry?q=${encodeURIComponent(v)}` : "/admin/registry");
  });
  const keep = q ? `q=${encodeURIComponent(q)}&` : "";
  const list = table({
    caption: t("registry.partners", { n: found.totalCount }),
    head: [t("registry.name"), t("registry.registered"), t("registry.locationsCount"), t("registry.peopleCount")],
    rows: found.edges.map(({ node: p }) => h("tr", { class: p.id === query.partner ? "selected" : null },
      h("th", { scope: "row" }, h("a", { href: `/admin/registry?${keep}partner=${encodeURIComponent(p.id)}`,
        "aria-current": p.id === query.partner ? "true" : null }, p.name)),
      h("td", {}, p.registered ? t("common.yes") : t("common.no")),
      h("td", {}, String(p.locations.length)),
      h("td", {}, String(p.users.totalCount)))),
  });
  const name = field({ label: t("registry.name"), name: "partner-name", required: true });
  const registered = checkbox(t("registry.registered"), true, "partner-registered");
  const createPartner = registryForm({
    title: t("registry.newPartner"), submit: t("registry.create"), className: "", heading: false,
    fields: { "input.name": name, "input.registered": registered },
    run: async () => (await gql(PARTNER_CREATE, { input: { name: name.input.value.trim(), registered: registered.input.checked } })).partnerCreate,
    done: (p) => t("registry.created", { name: p.partner.name }),
  });
  const parts = [searchForm, list];
  if (query.partner) parts.push(await partnerPanel(query.partner, query.user));
  parts.push(h("details", { class: "card" }, h("summary", {}, t("registry.newPartner")), createPartner));
  return h("section", {}, pageHeader(t("registry.title"), t("registry.intro")), parts);
}

async function partnerPanel(partnerId, userId) {
  const p = (await gql(PARTNER, { id: partnerId })).node;
  if (!p) return notice("error", h("p", {}, t("error.notFoundPage")));
  const locName = (id) => p.locations.find((l) => l.id === id)?.name || "?";
  const people = p.users.edges.map((e) => e.node);

  const pName = field({ label: t("registry.name"), name: "edit-partner-name", value: p.name, required: true });
  const pReg = checkbox(t("registry.registered"), p.registered, "edit-partner-registered");
  const editPartner = registryForm({
    title: t("registry.editPartner"), submit: t("common.save"), fields: { "input.name": pName, "input.registered": pReg },
    run: async () => (await gql(PARTNER_UPDATE, { input: { partnerId: p.id, name: pName.input.value.trim(), registered: pReg.input.checked } })).partnerUpdate,
    done: () => t("registry.saved"),
  });

  const locRows = p.locations.map((l) => {
    const n = field({ label: t("registry.locationName"), name: `loc-name-${l.id}`, value: l.name, required: true });
    const c = field({ label: t("registry.country"), name: `loc-country-${l.id}`, value: l.country, required: true, attrs: { maxlength: 2, size: 3 } });
    const f = registryForm({
      submit: t("common.save"), className: "inline-form", fields: { "input.name": n, "input.country": c },
      run: async () => (await gql(LOCATION_UPDATE, { input: { locationId: l.id, name: n.input.value.trim(), country: c.input.value.trim().toUpperCase() } })).locationUpdate,
      done: () => t("registry.saved"),
    });
    return h("tr", {}, h("th", { scope: "row" }, `${l.name} (${country(l.country)})`), h("td", {}, f));
  });
  const ln = field({ label: t("registry.locationName"), name: "new-loc-name", required: true });
  const lc = field({ label: t("registry.country"), name: "new-loc-country", required: true, hint: t("registry.countryHint"), attrs: { maxlength: 2, size: 3 } });
  const newLocation = registryForm({
    title: t("registry.newLocation"), submit: t("registry.create"), heading: false, fields: { "input.name": ln, "input.country": lc },
    run: async () => (await gql(LOCATION_CREATE, { input: { partnerId: p.id, name: ln.input.value.trim(), country: lc.input.value.trim().toUpperCase() } })).locationCreate,
    done: () => t("registry.saved"),
  });

  const base = `/admin/registry?partner=${encodeURIComponent(p.id)}`;
  const peopleRows = people.map((u) => h("tr", { class: u.id === userId ? "selected" : null },
    h("th", { scope: "row" }, h("a", { href: `${base}&user=${encodeURIComponent(u.id)}` }, u.name), h("div", { class: "muted" }, `${u.username} · ${u.email}`)),
    h("td", {}, u.active ? t("registry.active") : t("registry.inactive")),
    h("td", {}, u.locations.map((l) => locName(l.id)).join(", ") || "—"),
    h("td", {}, u.staffOf.map((l) => locName(l.id)).join(", ") || "—"),
    h("td", {}, u.certifications.map((c) => `${c.code}${c.expiresOn ? ` (${fmtDate(c.expiresOn)})` : ""}`).join(", ") || "—")));

  const locOptions = (checkedIds) => p.locations.map((l) => ({ value: l.id, label: `${l.name} (${country(l.country)})`, checked: checkedIds.includes(l.id) }));
  const nu = {
    username: field({ label: t("registry.username"), name: "new-username", required: true, autocomplete: "off" }),
    email: field({ label: t("registry.email"), name: "new-email", type: "email", required: true }),
    name: field({ label: t("registry.personName"), name: "new-name", required: true }),
    password: field({ label: t("registry.password"), name: "new-password", type: "password", autocomplete: "new-password", hint: t("registry.passwordHint") }),
    acts: choices({ legend: t("registry.actsFor"), name: "new-acts", type: "checkbox", options: locOptions([]) }),
    staff: choices({ legend: t("registry.staffOf"), name: "new-staff", type: "checkbox", options: locOptions([]) }),
  };
  const newPerson = registryForm({
    title: t("registry.newPerson"), submit: t("registry.create"), heading: false,
    fields: { "input.username": nu.username, "input.email": nu.email, "input.name": nu.name, "input.password": nu.password,
      "input.locationIds": nu.acts, "input.staffLocationIds": nu.staff },
    run: async () => (await gql(USER_CREATE, { input: {
      username: nu.username.input.value.trim(), email: nu.email.input.value.trim(), name: nu.name.input.value.trim(),
      role: "PARTNER", partnerId: p.id, password: nu.password.input.value || null,
      locationIds: nu.acts.values(), staffLocationIds: nu.staff.values() } })).userCreate,
    done: () => t("registry.saved"),
  });

  const parts = [
    h("h2", { tabindex: "-1" }, p.name),
    editPartner,
    h("section", { class: "card" }, h("h3", {}, t("registry.locations")),
      p.locations.length ? table({ caption: t("registry.locations"), hideCaption: true, head: [t("registry.locationName"), t("registry.edit")], rows: locRows })
        : h("p", { class: "muted" }, t("common.none")),
      h("details", {}, h("summary", {}, t("registry.newLocation")), newLocation)),
    h("section", { class: "card" }, h("h3", {}, t("registry.people")),
      people.length ? table({ caption: t("registry.people"), hideCaption: true, head: [t("registry.personName"), t("registry.state"), t("registry.actsFor"), t("registry.staffOf"), t("registry.certifications")], rows: peopleRows })
        : h("p", { class: "muted" }, t("common.none")),
      h("details", {}, h("summary", {}, t("registry.newPerson")), newPerson)),
  ];
  const u = people.find((x) => x.id === userId);
  if (u) parts.push(personPanel(u, locOptions));
  return h("section", { class: "registry-partner", "aria-label": p.name }, parts);
}

function personPanel(u, locOptions) {
  const f = {
    name: field({ label: t("registry.personName"), name: "edit-name", value: u.name, required: true }),
    email: field({ label: t("registry.email"), name: "edit-email", type: "email", value: u.email, required: true }),
    active: checkbox(t("registry.active"), u.active, "edit-active"),
    acts: choices({ legend: t("registry.actsFor"), name: "edit-acts", type: "checkbox", options: locOptions(u.locations.map((l) => l.id)) }),
    staff: choices({ legend: t("registry.staffOf"), name: "edit-staff", type: "checkbox", options: locOptions(u.staffOf.map((l) => l.id)) }),
  };
  const edit = registryForm({
    title: t("registry.editPerson", { name: u.name }), submit: t("common.save"),
    fields: { "input.name": f.name, "input.email": f.email, "input.active": f.active, "input.locationIds": f.acts, "input.staffLocationIds": f.staff },
    run: async () => (await gql(USER_UPDATE, { input: { userId: u.id, name: f.name.input.value.trim(), email: f.email.input.value.trim(),
      active: f.active.input.checked, locationIds: f.acts.values(), staffLocationIds: f.staff.values() } })).userUpdate,
    done: () => t("registry.saved"),
  });
  const certRows = u.certifications.map((c) => {
    const errs = alertBox("error");
    const b = h("button", { type: "button", class: "btn btn-danger", "aria-label": t("registry.removeCertLabel", { code: c.code, name: u.name }) }, t("registry.remove"));
    b.addEventListener("click", async () => {
      const r = (await gql(CERT_REMOVE, { input: { userId: u.id, code: c.code } })).certificationRemove;
      if (r.userErrors.length) {
        errs.show(r.userErrors.map((e) => e.message));
        return;
      }
      flash(t("registry.saved"));
      navigate(location.pathname + location.search, { replace: true });
    });
    return h("tr", {}, h("th", { scope: "row" }, c.code), h("td", {}, c.expiresOn ? fmtDate(c.expiresOn) : t("registry.noExpiry")), h("td", {}, b, errs.el));
  });
  const code = field({ label: t("registry.certCode"), name: "cert-code", required: true, hint: t("registry.certHint") });
  const expires = field({ label: t("registry.certExpires"), name: "cert-expires", type: "date" });
  const addCert = registryForm({
    title: t("registry.addCert"), submit: t("registry.add"), fields: { "input.code": code, "input.expiresOn": expires },
    run: async () => (await gql(CERT_CREATE, { input: { userId: u.id, code: code.input.value.trim().toUpperCase(), expiresOn: expires.input.value || null } })).certificationCreate,
    done: () => t("registry.saved"),
  });
  return h("section", { class: "card person" }, edit,
    h("h3", {}, t("registry.certifications")),
    u.certifications.length ? table({ caption: t("registry.certifications"), hideCaption: true, head: [t("registry.certCode"), t("registry.certExpires"), t("registry.edit")], rows: certRows })
      : h("p", { class: "muted" }, t("common.none")),
    addCert);
}

