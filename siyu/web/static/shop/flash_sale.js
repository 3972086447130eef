// The flash-sale page: sessions with a countdown against the server's clock (warm-up →
// live → ended), each item with its campaign price and a 抢购 button. Pressing it
// reserves a unit with the address below; the reservation becomes an order within
// moments (the page polls it) and the buyer pays on the ordinary order page.
import {
  ApiError,
  api,
  byId,
  done,
  errorText,
  formatTime,
  h,
  image,
  money,
  params,
  requireSession,
  t,
} from "./core.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/flash_sale.css"}));

const campaign = params.campaign;
const ADDRESS_KEY = "siyu.flash_sale.address";
let sale = null;
// Server time minus this browser's time: countdowns follow the server's clock.
let offset = 0;
let busy = false;

function now() {
  return Date.now() + offset;
}

function phaseOf(session) {
  const moment = now();
  if (moment < Date.parse(session.starts_at)) return "upcoming";
  if (moment < Date.parse(session.ends_at)) return "live";
  return "ended";
}

function clock(milliseconds) {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  return [hours, minutes, rest].map((value) => String(value).padStart(2, "0")).join(":");
}

function countdownText(session, phase) {
  if (phase === "upcoming") {
    return t("shop.flash_sale.starts_in", {time: clock(Date.parse(session.starts_at) - now())});
  }
  if (phase === "live") {
    return t("shop.flash_sale.ends_in", {time: clock(Date.parse(session.ends_at) - now())});
  }
  return t("shop.flash_sale.ended");
}

function status(message, kind = "info") {
  const box = byId("flash-status");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
}

function itemRow(session, item, phase) {
  const taken = item.starting_stock - item.stock_left;
  const share = item.starting_stock ? Math.round((100 * taken) / item.starting_stock) : 100;
  const soldOut = item.stock_left <= 0;
  const button = h(
    "button",
    {
      type: "button",
      class: "button primary flash-buy",
      "data-item": item.public_id,
      disabled: phase !== "live" || soldOut ? "" : null,
    },
    soldOut && phase !== "upcoming"
      ? t("shop.flash_sale.sold_out")
      : phase === "upcoming"
        ? t("shop.flash_sale.soon")
        : phase === "ended"
          ? t("shop.flash_sale.ended_short")
          : t("shop.flash_sale.buy"),
  );
  button.addEventListener("click", () => reserve(item, button));
  return h(
    "div",
    {class: "flash-item", "data-item": item.public_id},
    image(item.image, item.product_name),
    h(
      "div",
      {class: "flash-item-body"},
      h("p", {class: "flash-item-name"}, item.product_name, item.specs ? ` ${item.specs}` : ""),
      h(
        "p",
        {},
        h("span", {class: "flash-price"}, money(item.campaign_price)),
        h("span", {class: "flash-list-price"}, money(item.list_price)),
      ),
      h("div", {class: "flash-bar", "aria-hidden": "true"}, h("span", {style: `width:${share}%`})),
      h(
        "p",
        {class: "muted small"},
        t("shop.flash_sale.progress", {share, limit: item.per_customer_limit}),
      ),
    ),
    button,
  );
}

function render() {
  byId("flash-name").textContent = sale.name;
  byId("flash-description").textContent = sale.description || "";
  const box = byId("flash-sessions");
  box.replaceChildren(
    ...sale.sessions.map((session) => {
      const phase = phaseOf(session);
      return h(
        "section",
        {class: "flash-session", "data-session": session.public_id, "data-phase": phase},
        h(
          "div",
          {class: "flash-session-head"},
          h("h3", {}, session.name),
          h("span", {class: "flash-countdown", "data-countdown": ""}, countdownText(session, phase)),
        ),
        h(
          "p",
          {class: "muted small"},
          `${formatTime(session.starts_at)} – ${formatTime(session.ends_at)}`,
        ),
        ...session.items.map((item) => itemRow(session, item, phase)),
      );
    }),
  );
  byId("flash-empty").hidden = sale.sessions.length > 0;
}

function tick() {
  if (!sale) return;
  let changed = false;
  for (const session of sale.sessions) {
    const card = document.querySelector(`[data-session="${session.public_id}"]`);
    if (!card) continue;
    const phase = phaseOf(session);
    if (card.dataset.phase !== phase) changed = true;
    card.querySelector("[data-countdown]").textContent = countdownText(session, phase);
  }
  // A session just went live or ended: redraw its buttons (and refresh the stock).
  if (changed) load().catch(() => {});
}

async function load() {
  const started = Date.now();
  sale = await api("GET", `/campaigns/flash-sale/${encodeURIComponent(campaign)}`);
  offset = Date.parse(sale.server_time) - Math.round((started + Date.now()) / 2);
  render();
  done(byId("flash-head"));
}

function address() {
  const form = byId("flash-address");
  const values = Object.fromEntries(new FormData(form).entries());
  if (!form.reportValidity()) return null;
  try {
    window.localStorage.setItem(ADDRESS_KEY, JSON.stringify(values));
  } catch (error) {
    // Private mode: the address is simply not remembered.
  }
  return values;
}

function restoreAddress() {
  let saved = null;
  try {
    saved = JSON.parse(window.localStorage.getItem(ADDRESS_KEY) || "null");
  } catch (error) {
    saved = null;
  }
  if (!saved) return;
  for (const [name, value] of Object.entries(saved)) {
    const input = byId("flash-address").elements.namedItem(name);
    if (input) input.value = value;
  }
}

async function follow(reservation) {
  // The order is written moments after the reservation: poll until it is there.
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    try {
      const found = await api(
        "GET",
        `/campaigns/flash-sale/reservations/${encodeURIComponent(reservation.public_id)}`,
      );
      if (found.status === "ordered" || found.status === "paid") {
        status(t("shop.flash_sale.ordered"), "success");
        window.location.assign(`/shop/orders/${found.order_public_id}`);
        return;
      }
      if (found.status === "failed" || found.status === "released") {
        const key = `shop.error.${found.failure_code}`;
        status(t("shop.flash_sale.failed", {reason: t(key)}), "error");
        return;
      }
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
    await new Promise((resolve) => window.setTimeout(resolve, 700));
  }
  status(t("shop.flash_sale.still_waiting"), "info");
}

async function reserve(item, button) {
  if (busy || !requireSession()) return;
  const shipping = address();
  if (!shipping) {
    byId("flash-address-box").open = true;
    status(t("shop.flash_sale.need_address"), "error");
    return;
  }
  busy = true;
  button.disabled = true;
  status(t("shop.flash_sale.queueing"));
  try {
    const reservation = await api("POST", "/campaigns/flash-sale/reservations", {
      item_id: item.public_id,
      quantity: 1,
      fulfilment: "delivery",
      address: shipping,
    });
    status(t("shop.flash_sale.reserved"), "success");
    await follow(reservation);
  } catch (error) {
    status(errorText(error), "error");
    if (error instanceof ApiError && error.status === 409) load().catch(() => {});
  } finally {
    busy = false;
    button.disabled = false;
  }
}

restoreAddress();
load()
  .then(() => window.setInterval(tick, 1000))
  .catch((error) => {
    byId("flash-empty").hidden = false;
    byId("flash-empty").textContent = errorText(error);
    done(byId("flash-head"));
  });
