// The points mall: items I can exchange (with my balance and remaining limits), the
// exchange itself, and my exchanges. A coupon is exchanged at once; goods need an
// address and become a mall order, whose page takes over (payment when cash is due).
import {api, byId, done, formatTime, h, image, money, report, requireSession, t} from "./core.js";

let balance = 0;

// This page's own styles; shop.css stays the shell's.
document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/points_mall.css"}));

function priceText(item) {
  if (item.cash_price) return t("shop.points_mall.price_cash", {points: item.points_price, cash: money(item.cash_price)});
  return t("shop.points_mall.price", {points: item.points_price});
}

function blocked(item) {
  if (item.stock_left <= 0) return t("shop.points_mall.sold_out");
  if (item.remaining_limit === 0) return t("shop.points_mall.limit_reached");
  if (balance < item.points_price) return t("shop.points_mall.short");
  return null;
}

function exchangeError(error) {
  const known = {
    "points.insufficient": "shop.points_mall.short",
    "points_mall.sold_out": "shop.points_mall.sold_out",
    "points_mall.limit_reached": "shop.points_mall.limit_reached",
    "points_mall.tier_required": "shop.points_mall.tier_required",
    "points_mall.not_started": "shop.points_mall.unavailable",
    "points_mall.ended": "shop.points_mall.unavailable",
    "points_mall.not_available": "shop.points_mall.unavailable",
  };
  if (error && known[error.code]) return t(known[error.code]);
  return null;
}

async function exchange(item, card, address) {
  const body = {item_id: item.public_id, quantity: 1};
  if (address) body.address = address;
  try {
    const result = await api("POST", "/points-mall/exchanges", body);
    if (result.order_public_id) {
      window.location.assign(`/shop/orders/${result.order_public_id}`);
      return;
    }
    await load();
    // The list was rebuilt: say "exchanged" on the item's fresh card.
    const fresh = byId("points-items").querySelector(`[data-item="${item.public_id}"]`);
    if (fresh) {
      fresh.querySelector("[data-state]").textContent = t("shop.points_mall.exchanged");
      fresh.dataset.exchanged = "true";
    }
  } catch (error) {
    const message = exchangeError(error);
    if (message) card.querySelector("[data-state]").textContent = message;
    else report(error);
  }
}

function addressForm(item, card) {
  const form = byId("address-form").content.firstElementChild.cloneNode(true);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    exchange(item, card, data);
  });
  return form;
}

function itemCard(item) {
  const reason = blocked(item);
  const card = h(
    "li",
    {class: "points-item", dataset: {item: item.public_id, kind: item.kind}},
    image(item.image, item.name),
    h(
      "div",
      {class: "points-item-body"},
      h("span", {class: "line-name", text: item.name}),
      h("span", {class: "points-price", text: priceText(item)}),
      h("span", {class: "muted small", text: t("shop.points_mall.stock", {count: item.stock_left})}),
      item.remaining_limit === null
        ? null
        : h("span", {class: "muted small", text: t("shop.points_mall.limit", {count: item.remaining_limit})}),
      h("span", {class: "points-state small", "data-state": true, text: reason || ""}),
    ),
  );
  const button = h("button", {
    type: "button",
    class: "button primary small",
    text: t("shop.points_mall.exchange"),
    disabled: Boolean(reason),
  });
  button.addEventListener("click", () => {
    if (item.kind === "goods") {
      button.hidden = true;
      card.append(addressForm(item, card));
    } else {
      button.disabled = true;
      exchange(item, card, null);
    }
  });
  card.append(button);
  return card;
}

function exchangeRow(row) {
  const target = row.order_public_id
    ? h("a", {href: `/shop/orders/${row.order_public_id}`, text: t("shop.points_mall.view_order")})
    : h("code", {text: row.coupon_code || ""});
  return h(
    "li",
    {class: "points-exchange", dataset: {exchange: row.public_id, status: row.status}},
    h("span", {class: "line-name", text: row.item_name}),
    h("span", {class: "muted small", text: formatTime(row.created_at)}),
    h("span", {class: "small", text: t(`shop.points_mall.status.${row.status}`)}),
    target,
  );
}

async function load() {
  const [listing, mine] = await Promise.all([
    api("GET", "/points-mall/items"),
    api("GET", "/points-mall/exchanges"),
  ]);
  balance = listing.points_balance;
  byId("points-balance").textContent = String(balance);
  done(byId("points-summary"));
  const list = byId("points-items");
  list.replaceChildren(...listing.items.map(itemCard));
  byId("points-empty").hidden = listing.items.length > 0;
  done(list);
  const exchanges = byId("points-exchanges");
  exchanges.replaceChildren(...mine.items.map(exchangeRow));
  byId("points-exchanges-empty").hidden = mine.items.length > 0;
}

if (requireSession()) {
  load().catch(report);
}
