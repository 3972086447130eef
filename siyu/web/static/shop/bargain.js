// Bargain (砍价): the product with start and floor prices; with ?bargain= (the share
// link) one bargain: a price bar from start to floor, the countdown, the helpers and
// their cuts. The initiator shares the link and buys (at the current price, or the
// floor once reached); a friend helps once and receives a coupon.
import {api, byId, done, errorText, h, image, money, params, report, requireSession, t} from "./core.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/bargain.css"}));

const base = "/campaigns/bargain";
let timer = null;

function pad(value) {
  return String(value).padStart(2, "0");
}

function countdown(element, expiresAt, timeUpKey, leftKey) {
  if (timer) clearInterval(timer);
  const deadline = Date.parse(expiresAt);
  const tick = () => {
    const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    if (left === 0) {
      element.textContent = t(timeUpKey);
      clearInterval(timer);
      return;
    }
    const hours = Math.floor(left / 3600);
    const time = `${pad(hours)}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
    element.textContent = t(leftKey, {time});
    element.dataset.seconds = String(left);
  };
  tick();
  timer = setInterval(tick, 1000);
}

function addressForm(templateId, slotId, onSubmit) {
  const slot = byId(slotId);
  const form = byId(templateId).content.firstElementChild.cloneNode(true);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[data-confirm]");
    button.disabled = true;
    try {
      await onSubmit(Object.fromEntries(new FormData(form).entries()));
    } catch (error) {
      button.disabled = false;
      report(error);
    }
  });
  slot.replaceChildren(form);
  form.querySelector("input").focus();
}

function renderBargain(bargain) {
  const section = byId("bg-bargain");
  section.hidden = false;
  section.dataset.bargain = bargain.public_id;
  section.dataset.status = bargain.status;
  byId("bg-status").textContent = t(`shop.bargain.status.${bargain.status}`);
  const clock = byId("bg-countdown");
  if (bargain.status === "active" || bargain.status === "reached") {
    countdown(clock, bargain.expires_at, "shop.bargain.time_up", "shop.bargain.left");
  } else {
    if (timer) clearInterval(timer);
    clock.textContent = "";
  }
  byId("bg-current").textContent = money(bargain.current_price);
  const gap = bargain.start_price - bargain.floor_price;
  const percent = gap > 0 ? Math.round((100 * (bargain.start_price - bargain.current_price)) / gap) : 100;
  byId("bg-bar-fill").style.width = `${percent}%`;
  byId("bg-bar").setAttribute("aria-valuenow", String(percent));
  byId("bg-bar-start").textContent = money(bargain.start_price);
  byId("bg-bar-floor").textContent = t("shop.bargain.floor", {price: money(bargain.floor_price)});
  byId("bg-progress").textContent =
    bargain.status === "active"
      ? t("shop.bargain.progress", {
          cut: money(bargain.start_price - bargain.current_price),
          left: money(bargain.current_price - bargain.floor_price),
        })
      : t("shop.bargain.helped_by", {count: bargain.helper_count});
  byId("bg-helpers").replaceChildren(
    ...bargain.helpers.map((helper) =>
      h(
        "li",
        {class: "bg-helper", dataset: {sequence: String(helper.sequence)}},
        h("span", {text: helper.name}),
        h("span", {class: "bg-cut", text: t("shop.bargain.cut", {amount: money(helper.cut_amount)})}),
      ),
    ),
  );
  const open = bargain.status === "active" || bargain.status === "reached";
  byId("bg-share").hidden = !(bargain.is_mine && bargain.status === "active");
  byId("bg-share-link").value = new URL(bargain.share_path, window.location.origin).toString();
  const help = byId("bg-help");
  help.hidden = bargain.is_mine || bargain.status !== "active" || bargain.helped;
  help.onclick = async () => {
    help.disabled = true;
    try {
      const result = await api("POST", `${base}/bargains/${encodeURIComponent(bargain.public_id)}/helps`);
      const note = byId("bg-result");
      note.hidden = false;
      note.textContent = t("shop.bargain.helped", {amount: money(result.cut_amount)});
      renderBargain(result.bargain);
    } catch (error) {
      report(error);
    } finally {
      help.disabled = false;
    }
  };
  const buy = byId("bg-buy");
  buy.hidden = !(bargain.is_mine && open);
  buy.textContent = t("shop.bargain.buy", {price: money(bargain.current_price)});
  buy.onclick = () => {
    buy.hidden = true;
    addressForm("bg-address-form", "bg-form-slot", async (address) => {
      const result = await api("POST", `${base}/bargains/${encodeURIComponent(bargain.public_id)}/order`, {address});
      const orderPath = `/orders/${encodeURIComponent(result.order_public_id)}`;
      if (result.total_amount === 0) {
        window.location.assign(`/shop${orderPath}`);
        return;
      }
      // The same payment start as checkout: the provider's page, then the order.
      const payment = await api("POST", `${orderPath}/pay`, {});
      const payUrl = payment.client_parameters && payment.client_parameters.pay_url;
      window.location.assign(payUrl || `/shop${orderPath}`);
    });
  };
  const order = byId("bg-order");
  order.hidden = !bargain.order_public_id;
  if (bargain.order_public_id) order.href = `/shop/orders/${bargain.order_public_id}`;
}

function renderDeal(deal) {
  byId("bg-image").replaceChildren(image(deal.image, deal.product_name));
  byId("bg-title").textContent = deal.product_name;
  byId("bg-floor").textContent = t("shop.bargain.floor", {price: money(deal.floor_price)});
  byId("bg-start").textContent = money(deal.start_price);
  byId("bg-rules").textContent = t("shop.bargain.rules", {helpers: deal.expected_helpers, stock: deal.stock_left});
  const viewing = Boolean(params.bargain);
  const start = byId("bg-start-button");
  start.hidden = viewing || Boolean(deal.my_bargain) || deal.phase !== "live" || deal.stock_left <= 0;
  start.onclick = async () => {
    start.disabled = true;
    try {
      const bargain = await api("POST", `${base}/${encodeURIComponent(deal.campaign_id)}/bargains`);
      window.location.assign(bargain.share_path);
    } catch (error) {
      start.disabled = false;
      report(error);
    }
  };
  const mine = byId("bg-mine");
  mine.hidden = !deal.my_bargain || params.bargain === deal.my_bargain;
  if (deal.my_bargain) {
    mine.href = `/shop/campaigns/bargain/${deal.campaign_id}?bargain=${encodeURIComponent(deal.my_bargain)}`;
  }
  done(byId("bg-deal"));
}

async function load() {
  if (!requireSession()) return;
  try {
    renderDeal(await api("GET", `${base}/${encodeURIComponent(params.campaign)}`));
    if (params.bargain) renderBargain(await api("GET", `${base}/bargains/${encodeURIComponent(params.bargain)}`));
  } catch (error) {
    if (error && error.status === 404 && params.bargain) {
      byId("bg-bargain").hidden = false;
      byId("bg-status").textContent = errorText(error);
      return;
    }
    report(error);
  }
}

byId("bg-copy").addEventListener("click", async () => {
  const input = byId("bg-share-link");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (error) {
    document.execCommand("copy");
  }
  byId("bg-copy").textContent = t("shop.bargain.copied");
});

load();
