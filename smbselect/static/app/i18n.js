// Every string of the app comes from a dictionary per language (i18n/en.js, i18n/tr.js);
// dates, countries, numbers and sizes are formatted with Intl in the chosen language.

import en from "./i18n/en.js";
import tr from "./i18n/tr.js";

export const dictionaries = { en, tr };
export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "tr", name: "Türkçe" },
];
const LOCALES = { en: "en-GB", tr: "tr-TR" };
const LANG_KEY = "smbselect.lang";

let current = initialLanguage();
const listeners = new Set();

function initialLanguage() {
  let stored = null;
  try {
    stored = localStorage.getItem(LANG_KEY);
  } catch {
    /* no storage */
  }
  if (stored && dictionaries[stored]) return stored;
  const preferred = (navigator.languages || [navigator.language || "en"]).map((l) => l.slice(0, 2).toLowerCase());
  return preferred.find((l) => dictionaries[l]) || "en";
}

export function lang() {
  return current;
}

export function locale() {
  return LOCALES[current];
}

export function setLang(code) {
  if (!dictionaries[code] || code === current) return;
  current = code;
  try {
    localStorage.setItem(LANG_KEY, code);
  } catch {
    /* no storage */
  }
  document.documentElement.lang = code;
  listeners.forEach((fn) => fn(code));
}

export function onLangChange(fn) {
  listeners.add(fn);
}

// A key with a ".one" variant uses it when params.n is 1.
export function t(key, params = {}) {
  if (params.n === 1 && dictionaries[current][`${key}.one`] !== undefined) key = `${key}.one`;
  let text = dictionaries[current][key];
  if (text === undefined) {
    console.warn(`missing translation: ${current}.${key}`);
    text = dictionaries.en[key] ?? key;
  }
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

export function fmtDate(iso) {
  if (!iso) return "";
  // A calendar date: format it as that day, whatever the browser's time zone.
  const date = new Date(`${iso}T00:00:00Z`);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(date);
}

export function fmtDateTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

export function fmtSize(bytes) {
  const units = [["megabyte", 1e6], ["kilobyte", 1e3]];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      return new Intl.NumberFormat(locale(), { style: "unit", unit, maximumFractionDigits: 1 }).format(bytes / size);
    }
  }
  return new Intl.NumberFormat(locale(), { style: "unit", unit: "byte" }).format(bytes);
}

export function fmtList(items) {
  return new Intl.ListFormat(locale(), { style: "long", type: "conjunction" }).format(items);
}

export function country(code) {
  if (!code) return "";
  try {
    return new Intl.DisplayNames([locale()], { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

export function statusLabel(status) {
  return t(`status.${status}`);
}

// A userError or blocker as the user reads it: the server's own words in English, the
// translation of its code otherwise (or of a more precise key the screen names).
export function errorText(error, overrides = {}) {
  if (current === "en" && error.message) return error.message;
  const key = overrides[error.code] || `error.${error.code}`;
  if (dictionaries[current][key] !== undefined) return t(key);
  return error.message || t("error.unknown");
}

document.documentElement.lang = current;
