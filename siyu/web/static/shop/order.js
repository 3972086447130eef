// Order detail: status, lines with their price breakdown, refunds, and what the
// customer may do next (pay, cancel, confirm receipt, request a refund).
import {
  api,
  byId,
  done,
  flash,
  formatTime,
  h,
  money,
  params,
  report,
  requireSession,
  statusText,
  t,
} from "./core.js";
import {quoteLine, totals} from "./quote.js";

const orderPath = `/orders/${encodeURIComponent(params.public_id)}`;
// Display only: the API decides; these pick which buttons are worth showing.
const REFUNDABLE = ["paid", "shipped", "delivered", "completed", "partially_refunded"];
const OPEN_REFUND = ["requested", "processing"];
let order = null;

function fulfilmentSection(stores) {
  const section = byId("order-fulfilment");
  const title = h("h3", {text: t(`shop.fulfilment.${order.fulfilment}`)});
  if (order.fulfilment === "pickup") {
    const store = stores.find((item) => item.id === order.pickup_location_id);
    section.replaceChildren(
      ...[
        title,
        h("p", {class: "store-name", text: store ? store.name : t("shop.order.store_unknown")}),
        store ? h("p", {class: "muted small", text: [store.city, store.address].filter(Boolean).join(" ")}) : null,
      ].filter(Boolean),
    );
    return;
  }
  const address = order.address || {};
  section.replaceChildren(
    ...[
      title,
      h("p", {class: "recipient"}, h("strong", {text: address.recipient || ""}), " ", address.phone || ""),
      h("p", {class: "muted small", text: [address.region, address.detail].filter(Boolean).join(" ")}),
      order.tracking_number
        ? h("p", {class: "small", text: t("shop.order.tracking", {carrier: order.carrier, number: order.tracking_number})})
        : null,
    ].filter(Boolean),
  );
}

function refundsSection() {
  const section = byId("order-refunds");
  section.hidden = order.refunds.length === 0;
  byId("refund-list").replaceChildren(
    ...order.refunds.map((refund) =>
      h(
        "li",
        {class: "refund", dataset: {refundId: refund.public_id, status: refund.status}},
        h(
          "div",
          {class: "refund-head"},
          h("span", {class: "refund-status", text: t(`shop.refund_status.${refund.status}`)}),
          h("strong", {text: money(refund.amount)}),
        ),
        h(
          "span",
          {class: "muted small"},
          refund.lines
            .map((line) => t("shop.refund.line", {line: line.line_no, quantity: line.quantity}))
            .join("，"),
        ),
        h("span", {class: "muted small", text: `${t("shop.refund.reason")}：${refund.reason}`}),
        refund.review_note ? h("span", {class: "muted small", text: refund.review_note}) : null,
      ),
    ),
  );
}

function refundForm() {
  const rows = order.lines
    .filter((line) => line.quantity > line.refunded_quantity)
    .map((line) => {
      const remaining = line.quantity - line.refunded_quantity;
      return h(
        "li",
        {class: "refund-line", dataset: {lineNo: line.line_no}},
        h("span", {class: "line-name", text: line.product_name}),
        h(
          "label",
          {class: "small"},
          t("shop.refund.quantity", {max: remaining}),
          h("input", {
            type: "number",
            name: `line-${line.line_no}`,
            min: 0,
            max: remaining,
            value: remaining,
            inputmode: "numeric",
            dataset: {lineNo: line.line_no},
          }),
        ),
      );
    });
  byId("refund-lines").replaceChildren(...rows);
}

function actions() {
  const openRefund = order.refunds.some((refund) => OPEN_REFUND.includes(refund.status));
  const canRefund = REFUNDABLE.includes(order.status) && !order.final_at && !openRefund;
  const show = {
    "order-pay": order.status === "pending_payment",
    "order-cancel": order.status === "pending_payment",
    "order-confirm": order.status === "shipped" || order.status === "delivered",
    "order-refund": canRefund,
  };
  for (const [id, visible] of Object.entries(show)) byId(id).hidden = !visible;
  byId("order-actions").hidden = !Object.values(show).some(Boolean);
  if (!canRefund) byId("refund-form-section").hidden = true;
}

function render(stores) {
  byId("order-status").textContent = statusText(order.status);
  byId("order-status").dataset.status = order.status;
  const hintKey = `shop.order.hint.${order.status}`;
  const hint = t(hintKey, {deadline: formatTime(order.payment_deadline)});
  byId("order-status-hint").textContent = hint === hintKey ? "" : hint;
  byId("order-number").textContent = t("shop.order.number", {
    number: order.public_id,
    time: formatTime(order.created_at),
  });
  fulfilmentSection(stores);
  byId("order-lines").replaceChildren(
    ...order.lines.map((line) =>
      quoteLine(
        line,
        line.refunded_quantity
          ? h("span", {class: "warning small", text: t("shop.line.refunded", {quantity: line.refunded_quantity, amount: money(line.refunded_amount)})})
          : null,
      ),
    ),
  );
  byId("order-totals").replaceChildren(
    ...totals({
      items_amount: order.items_amount,
      discount_amount: order.discount_amount,
      shipping_amount: order.shipping_amount,
      total_amount: order.total_amount,
    }),
  );
  refundsSection();
  refundForm();
  actions();
  done(byId("order"));
}

async function load() {
  const [loaded, stores] = await Promise.all([
    api("GET", orderPath),
    api("GET", "/stores").then((answer) => answer.items, () => []),
  ]);
  order = loaded;
  render(stores);
}

async function act(path, body, message) {
  await api("POST", `${orderPath}${path}`, body);
  flash(message, "success");
  await load();
}

async function pay() {
  const payment = await api("POST", `${orderPath}/pay`, {});
  const payUrl = payment.client_parameters && payment.client_parameters.pay_url;
  if (payUrl) window.location.assign(payUrl);
  else flash(t("shop.pay.in_mini_program"), "info");
}

async function requestRefund(event) {
  event.preventDefault();
  const form = event.target;
  const reason = form.elements.reason.value.trim();
  if (!reason) {
    flash(t("shop.refund.reason_needed"), "error");
    form.elements.reason.focus();
    return;
  }
  const items = [];
  for (const input of form.querySelectorAll("input[data-line-no]")) {
    const quantity = parseInt(input.value, 10) || 0;
    if (quantity > 0) items.push({line_no: Number(input.dataset.lineNo), quantity});
  }
  if (items.length === 0) {
    flash(t("shop.refund.nothing"), "error");
    return;
  }
  byId("refund-submit").disabled = true;
  try {
    await act("/refunds", {items, reason}, t("shop.refund.requested"));
    byId("refund-form-section").hidden = true;
  } finally {
    byId("refund-submit").disabled = false;
  }
}

if (requireSession()) {
  byId("order-pay").addEventListener("click", () => pay().catch(report));
  byId("order-cancel").addEventListener("click", () =>
    act("/cancel", {reason: "customer_cancelled"}, t("shop.order.cancelled")).catch(report),
  );
  byId("order-confirm").addEventListener("click", () =>
    act("/confirm-receipt", undefined, t("shop.order.received")).catch(report),
  );
  byId("order-refund").addEventListener("click", () => {
    const section = byId("refund-form-section");
    section.hidden = !section.hidden;
    if (!section.hidden) section.scrollIntoView({behavior: "smooth", block: "start"});
  });
  byId("refund-form").addEventListener("submit", (event) => requestRefund(event).catch(report));
  load()
    .then(() => {
      if (new URLSearchParams(window.location.search).get("paid") === "1") {
        flash(t("shop.pay.success"), "success");
      }
    })
    .catch(report);
}
