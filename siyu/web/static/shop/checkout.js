// Checkout: delivery with an address or pick-up at a store; the price comes from
// /checkout/preview, the order from POST /orders, then the payment starts.
import {
  api,
  ApiError,
  browserLocation,
  byId,
  done,
  formatDistance,
  h,
  locationQuery,
  manualLocation,
  money,
  report,
  requireSession,
  t,
  track,
} from "./core.js";
import {quoteLine, totals} from "./quote.js";
import {couponChoice, couponCode, couponRefused, resetCoupon} from "./coupon_checkout.js";
import {pointsChoice, pointsToSpend} from "./points_checkout.js";
import {sharedRef} from "./share_ref.js";

const search = new URLSearchParams(window.location.search);
const fromCart = search.get("from") === "cart";
const skuId = parseInt(search.get("sku") || "", 10);
const quantity = parseInt(search.get("quantity") || "1", 10) || 1;
const form = byId("checkout-form");
let pickupStoreId = parseInt(search.get("pickup") || "", 10) || null;
let checkoutStarted = false;
let previewed = false;

function fulfilment() {
  return form.elements.fulfilment.value;
}

function baseBody() {
  const body = {fulfilment: fulfilment()};
  if (fromCart) body.from_cart = true;
  else body.items = [{sku_id: skuId, quantity}];
  if (body.fulfilment === "pickup") body.pickup_store_id = pickupStoreId;
  const code = couponCode();
  if (code) body.coupon_code = code;
  const points = pointsToSpend();
  if (points) body.points = points;
  const ref = sharedRef();
  if (ref) body.ref = ref;
  return body;
}

async function preview() {
  const place = byId("place-order");
  place.disabled = true;
  previewed = false;
  if (fulfilment() === "pickup" && !pickupStoreId) return;
  const lines = byId("quote-lines");
  lines.setAttribute("aria-busy", "true");
  try {
    const quote = await api("POST", "/checkout/preview", baseBody());
    // The best coupon is suggested; until the buyer chooses, it is used (one re-price).
    if (couponChoice(quote, preview)) return;
    // Points come after the coupon (the pipeline's order): re-price if the usable
    // points changed while the box is ticked.
    if (pointsChoice(quote, preview)) return;
    lines.replaceChildren(...quote.lines.map((line) => quoteLine(line)));
    byId("quote-totals").replaceChildren(...totals(quote));
    byId("quote-messages").replaceChildren(
      ...quote.messages.map((message) => h("li", {class: "message", text: message})),
    );
    byId("checkout-total").textContent = money(quote.total_amount);
    previewed = true;
    place.disabled = false;
    if (!checkoutStarted) {
      checkoutStarted = true;
      const items = quote.lines.reduce((sum, line) => sum + line.quantity, 0);
      track("checkout_start", {order_value_fen: quote.total_amount, items});
    }
  } catch (error) {
    // The chosen coupon no longer fits (another store, fewer items): back to the
    // suggestion, and say why.
    if (couponRefused(error)) {
      report(error);
      resetCoupon();
      await preview();
      return;
    }
    lines.replaceChildren();
    byId("quote-totals").replaceChildren();
    byId("checkout-total").textContent = "—";
    report(error);
  } finally {
    done(lines);
  }
}

function storeItem(store) {
  return h(
    "li",
    {class: "store", dataset: {storeId: store.id}},
    h(
      "label",
      {class: "store-choice"},
      h("input", {
        type: "radio",
        name: "pickup_store_id",
        value: store.id,
        checked: store.id === pickupStoreId,
        onchange: () => {
          pickupStoreId = store.id;
          preview();
        },
      }),
      h(
        "span",
        {class: "store-head"},
        h("strong", {class: "store-name", text: store.name}),
        store.distance_km !== null
          ? h("span", {class: "store-distance", text: formatDistance(store.distance_km)})
          : null,
      ),
      h("span", {class: "muted small", text: [store.city, store.address].filter(Boolean).join(" ")}),
      store.opening_hours
        ? h("span", {class: "muted small", text: t("shop.store.hours", {hours: store.opening_hours})})
        : null,
    ),
  );
}

async function loadStores(location) {
  const list = byId("pickup-stores");
  list.setAttribute("aria-busy", "true");
  const answer = await api("GET", `/stores?${locationQuery(location).slice(1)}`);
  if (!answer.items.some((store) => store.id === pickupStoreId)) {
    pickupStoreId = answer.items.length ? answer.items[0].id : null;
  }
  list.replaceChildren(...answer.items.map(storeItem));
  byId("pickup-empty").hidden = answer.items.length > 0;
  done(list);
}

async function switchFulfilment() {
  const pickup = fulfilment() === "pickup";
  byId("address-section").hidden = pickup;
  byId("pickup-section").hidden = !pickup;
  if (pickup) await loadStores(manualLocation()).catch(report);
  await preview();
}

function markInvalidFields(error) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const problems = (error instanceof ApiError && error.data.errors) || [];
  for (const problem of problems) {
    const name = String(problem.field || "").split(".").pop();
    const input = form.elements[name];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
}

async function placeOrder(event) {
  event.preventDefault();
  if (!previewed) return;
  const body = baseBody();
  body.note = form.elements.note.value.trim();
  if (body.fulfilment === "delivery") {
    body.address = {
      recipient: form.elements.recipient.value.trim(),
      phone: form.elements.phone.value.trim(),
      region: form.elements.region.value.trim(),
      detail: form.elements.detail.value.trim(),
    };
  }
  const button = byId("place-order");
  button.disabled = true;
  try {
    const order = await api("POST", "/orders", body);
    const payment = await api("POST", `/orders/${order.public_id}/pay`, {});
    const payUrl = payment.client_parameters && payment.client_parameters.pay_url;
    window.location.assign(payUrl || `/shop/orders/${order.public_id}`);
  } catch (error) {
    markInvalidFields(error);
    report(error);
    button.disabled = false;
  }
}

async function start() {
  if (!fromCart && !Number.isFinite(skuId)) {
    byId("quote-lines").replaceChildren(h("li", {class: "empty", text: t("shop.checkout.nothing")}));
    done(byId("quote-lines"));
    return;
  }
  for (const radio of form.elements.fulfilment) radio.addEventListener("change", switchFulfilment);
  byId("pickup-locate").addEventListener("click", async () => {
    await loadStores((await browserLocation()) || manualLocation()).catch(report);
    await preview();
  });
  byId("pickup-refresh").addEventListener("click", async () => {
    await loadStores(manualLocation()).catch(report);
    await preview();
  });
  form.addEventListener("submit", placeOrder);
  if (pickupStoreId) form.elements.fulfilment.value = "pickup";
  await switchFulfilment();
}

if (requireSession()) start().catch(report);
