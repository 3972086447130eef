// The sandbox payment page: the tester sees the amount and presses 确认支付.
import {api, byId, done, flash, money, params, report, requireSession, statusText, t} from "./core.js";

const paymentPath = `/payments/${encodeURIComponent(params.payment_id)}`;

function render(payment) {
  byId("pay-amount").textContent = money(payment.amount);
  const paid = payment.status === "succeeded";
  const open = payment.status === "pending" && payment.order_status === "pending_payment";
  byId("pay-status").textContent = paid
    ? t("shop.pay.paid", {status: statusText(payment.order_status)})
    : open
      ? t("shop.pay.waiting")
      : t("shop.pay.closed", {status: statusText(payment.order_status)});
  byId("pay").dataset.status = payment.status;
  byId("pay-confirm").disabled = !open;
  byId("pay-confirm").hidden = !open;
  const link = byId("pay-order-link");
  link.href = `/shop/orders/${payment.order_public_id}`;
  link.hidden = false;
  done(byId("pay"));
}

async function confirm() {
  byId("pay-confirm").disabled = true;
  try {
    const payment = await api(
      "POST",
      `/payments/sandbox/${encodeURIComponent(params.payment_id)}/confirm`,
    );
    render(payment);
    flash(t("shop.pay.success"), "success");
    window.location.assign(`/shop/orders/${payment.order_public_id}?paid=1`);
  } catch (error) {
    byId("pay-confirm").disabled = false;
    report(error);
  }
}

if (requireSession()) {
  byId("pay-confirm").addEventListener("click", confirm);
  api("GET", paymentPath).then(render).catch(report);
}
