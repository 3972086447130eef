// The storefront's shared helpers: messages, money, the API client, sign-in and tracking.
// The page shell hands over its messages and parameters as JSON (#shop-data); every
// fact about goods, carts and orders comes from /api/shop/v1, called like a mini program.

const shell = JSON.parse(document.getElementById("shop-data").textContent);

export const params = shell.params || {};
export const demoLogin = Boolean(shell.demo_login);
export const defaultShopper = shell.default_shopper;
const API_BASE = "/api/shop/v1";
export const TOKEN_HEADER = "X-Siyu-Customer-Token";
const TOKEN_KEY = shell.token_key;

export function t(key, fields = {}) {
  const message = Object.prototype.hasOwnProperty.call(shell.messages, key)
    ? shell.messages[key]
    : key;
  return message.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(fields, name) ? String(fields[name]) : whole,
  );
}

// Money is integer fen: 12900 → "¥129.00", computed without floating point.
export function money(fen) {
  const value = Number(fen) || 0;
  const sign = value < 0 ? "-" : "";
  const absolute = Math.abs(value);
  const cents = String(absolute % 100).padStart(2, "0");
  return `${sign}¥${Math.floor(absolute / 100)}.${cents}`;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const formatter = new Intl.DateTimeFormat(shell.lang, {
    timeZone: shell.timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
  return formatter.format(new Date(iso));
}

export function formatDistance(kilometres) {
  if (kilometres === null || kilometres === undefined) return "";
  if (kilometres < 1) return t("shop.distance.m", {m: Math.round(kilometres * 1000)});
  return t("shop.distance.km", {km: kilometres.toFixed(1)});
}

// --- the session token --------------------------------------------------------

function storageGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (error) {
    return null;
  }
}

function storageSet(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch (error) {
    // Private mode: the session lasts as long as the page.
  }
}

export function sessionToken() {
  return storageGet(TOKEN_KEY);
}

export function setSessionToken(token) {
  storageSet(TOKEN_KEY, token);
  if (window.siyu && window.siyu.setSessionToken) {
    try {
      window.siyu.setSessionToken(token);
    } catch (error) {
      // The tracker is not started yet; it reads the token when it starts.
    }
  }
}

export function loginUrl() {
  const next = window.location.pathname + window.location.search;
  return `/shop/login?next=${encodeURIComponent(next)}`;
}

export function goToLogin() {
  window.location.assign(loginUrl());
}

// A page that shows the customer's own data starts here: no token, no page.
export function requireSession() {
  if (sessionToken()) return true;
  window.location.replace(loginUrl());
  return false;
}

// --- the API --------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, detail, data) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.data = data || {};
  }
}

export async function api(method, path, body) {
  const headers = {Accept: "application/json"};
  const token = sessionToken();
  if (token) headers[TOKEN_HEADER] = token;
  const options = {method, headers, credentials: "same-origin"};
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API_BASE + path, options);
  } catch (error) {
    throw new ApiError(0, "network", t("shop.error.network"));
  }
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401) setSessionToken(null);
    throw new ApiError(response.status, payload.code || "request.error", payload.detail, payload.data);
  }
  return payload;
}

export function errorText(error) {
  if (error instanceof ApiError) {
    const key = `shop.error.${error.code}`;
    if (Object.prototype.hasOwnProperty.call(shell.messages, key)) return t(key, error.data);
    return t("shop.error.generic", {detail: error.message});
  }
  return t("shop.error.generic", {detail: String(error && error.message ? error.message : error)});
}

// What every page does with a failed call: a lost session goes to sign-in, the rest
// is said in the flash bar.
export function report(error) {
  if (error instanceof ApiError && error.status === 401) {
    goToLogin();
    return;
  }
  flash(errorText(error), "error");
}

let flashTimer = null;

export function flash(message, kind = "info") {
  const bar = document.getElementById("shop-flash");
  if (!bar) return;
  bar.textContent = message;
  bar.dataset.kind = kind;
  bar.hidden = false;
  if (flashTimer) clearTimeout(flashTimer);
  flashTimer = setTimeout(() => {
    bar.hidden = true;
  }, 6000);
}

// --- DOM ------------------------------------------------------------------------

// Builds elements from data with textContent only: API text never becomes markup.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function byId(id) {
  return document.getElementById(id);
}

export function done(element) {
  if (element) element.removeAttribute("aria-busy");
}

export function image(url, alt, className = "thumb") {
  if (!url) return h("div", {class: `${className} no-image`, "aria-hidden": "true"});
  const element = h("img", {class: className, src: url, alt: alt || "", loading: "lazy"});
  // An image host that does not answer leaves a quiet tile, not a broken icon.
  element.addEventListener("error", () =>
    element.replaceWith(h("div", {class: `${className} no-image`, "aria-hidden": "true"})),
  );
  return element;
}

export function specText(specs) {
  return Object.entries(specs || {})
    .map(([name, value]) => `${name}：${value}`)
    .join("  ");
}

export function productCard(product) {
  return h(
    "a",
    {class: "product-card", href: `/shop/products/${product.id}`, dataset: {productId: product.id}},
    image(product.image, product.name),
    h("span", {class: "product-card-name", text: product.name}),
    product.subtitle ? h("span", {class: "product-card-subtitle", text: product.subtitle}) : null,
    h(
      "span",
      {class: "product-card-price"},
      h("strong", {text: t("shop.price.from", {price: money(product.price_from)})}),
      product.list_price_from > product.price_from
        ? h("del", {text: money(product.list_price_from)})
        : null,
    ),
  );
}

// --- location ---------------------------------------------------------------------

// The browser's position when it gives one; otherwise the manual fields (#location-lat /
// #location-lng) a customer (or a test) fills in.
export function manualLocation() {
  const lat = byId("location-lat");
  const lng = byId("location-lng");
  if (!lat || !lng || lat.value === "" || lng.value === "") return null;
  const latitude = Number(lat.value);
  const longitude = Number(lng.value);
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return null;
  return {lat: latitude, lng: longitude};
}

export function browserLocation() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) {
      resolve(null);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const found = {lat: position.coords.latitude, lng: position.coords.longitude};
        const lat = byId("location-lat");
        const lng = byId("location-lng");
        if (lat && lng) {
          lat.value = found.lat.toFixed(5);
          lng.value = found.lng.toFixed(5);
        }
        resolve(found);
      },
      () => resolve(null),
      {timeout: 5000, maximumAge: 600000},
    );
  });
}

export function locationQuery(location) {
  if (!location) return "";
  return `&lat=${encodeURIComponent(location.lat)}&lng=${encodeURIComponent(location.lng)}`;
}

// --- tracking -------------------------------------------------------------------

let trackerStarted = false;

function startTracker() {
  if (trackerStarted || !window.siyu) return trackerStarted;
  window.siyu.init({endpoint: "", touchpoint: "h5", sessionToken: sessionToken()});
  trackerStarted = true;
  return true;
}

// Tracked events (docs/events.md): product_view, add_to_cart, checkout_start.
export function track(type, properties) {
  try {
    if (startTracker()) window.siyu.track(type, properties);
  } catch (error) {
    // Tracking never breaks shopping.
  }
}

export function flushTracking() {
  try {
    if (trackerStarted) return window.siyu.flush();
  } catch (error) {
    // As above.
  }
  return Promise.resolve();
}

// --- page chrome ----------------------------------------------------------------

function wireBackButton() {
  const back = document.querySelector("[data-back]");
  if (!back) return;
  back.addEventListener("click", (event) => {
    if (window.history.length > 1 && document.referrer.startsWith(window.location.origin)) {
      event.preventDefault();
      window.history.back();
    }
  });
}

export function statusText(status) {
  return t(`shop.status.${status}`);
}

export function setTitle(text) {
  const title = byId("page-title");
  if (title) title.textContent = text;
}

wireBackButton();
// siyu-track.js is a deferred classic script and runs before modules.
window.addEventListener("DOMContentLoaded", startTracker);
