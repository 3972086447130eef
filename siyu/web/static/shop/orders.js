// My orders, newest first, filtered by status, page by page.
import {
  api,
  byId,
  done,
  formatTime,
  h,
  image,
  money,
  report,
  requireSession,
  setSessionToken,
  statusText,
  t,
} from "./core.js";

let status = "";
let cursor = null;

function card(order) {
  return h(
    "li",
    {class: "order-card", dataset: {orderId: order.public_id, status: order.status}},
    h(
      "a",
      {href: `/shop/orders/${order.public_id}`},
      h(
        "div",
        {class: "order-card-head"},
        h("span", {class: "muted small", text: formatTime(order.created_at)}),
        h("span", {class: `order-status-label status-${order.status}`, text: statusText(order.status)}),
      ),
      h(
        "div",
        {class: "order-card-body"},
        image(order.first_item_image, order.first_item_name),
        h(
          "div",
          {},
          h("span", {class: "line-name", text: order.first_item_name || ""}),
          h("span", {class: "muted small", text: t("shop.orders.count", {count: order.item_count})}),
          h("span", {class: "muted small", text: t(`shop.fulfilment.${order.fulfilment}`)}),
        ),
        h("strong", {class: "order-card-total", text: money(order.total_amount)}),
      ),
    ),
  );
}

async function load(reset) {
  const list = byId("order-list");
  if (reset) {
    cursor = null;
    list.replaceChildren();
    list.setAttribute("aria-busy", "true");
  }
  const search = new URLSearchParams();
  if (status) search.set("status", status);
  if (cursor) search.set("cursor", cursor);
  const page = await api("GET", `/orders?${search}`);
  list.append(...page.items.map(card));
  cursor = page.next_cursor;
  byId("orders-more").hidden = !cursor;
  byId("orders-empty").hidden = list.children.length > 0;
  done(list);
}

async function signOut() {
  try {
    await api("DELETE", "/sessions/current");
  } catch (error) {
    // Signed out on this device whatever the server says.
  }
  setSessionToken(null);
  window.location.assign("/shop");
}

if (requireSession()) {
  for (const button of byId("order-filters").querySelectorAll("button")) {
    button.addEventListener("click", () => {
      status = button.dataset.status;
      for (const other of byId("order-filters").querySelectorAll("button")) {
        other.classList.toggle("current", other === button);
      }
      load(true).catch(report);
    });
  }
  byId("orders-more").addEventListener("click", () => load(false).catch(report));
  const signOutButton = byId("sign-out");
  signOutButton.hidden = false;
  signOutButton.addEventListener("click", signOut);
  load(true).catch(report);
}
