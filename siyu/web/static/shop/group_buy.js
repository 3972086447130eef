// Group buy (拼团): the deal, its joinable groups, and — with ?group= (the share link) —
// one group with its members (masked), a countdown, the share link and the join button.
// Opening or joining places an order at the group price; its page takes the payment,
// and the group opens (or the seat becomes the member's) when it is paid.
import {api, byId, done, errorText, h, image, money, params, report, requireSession, t} from "./core.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/group_buy.css"}));

const base = "/campaigns/group-buy";
let deal = null;
let timer = null;

function pad(value) {
  return String(value).padStart(2, "0");
}

function countdown(element, expiresAt) {
  if (timer) clearInterval(timer);
  const deadline = Date.parse(expiresAt);
  const tick = () => {
    const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    if (left === 0) {
      element.textContent = t("shop.group_buy.time_up");
      clearInterval(timer);
      return;
    }
    const hours = Math.floor(left / 3600);
    const time = `${pad(hours)}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
    element.textContent = t("shop.group_buy.left", {time});
    element.dataset.seconds = String(left);
  };
  tick();
  timer = setInterval(tick, 1000);
}

function avatar(member) {
  const classes = ["gb-avatar", member.is_leader ? "leader" : ""].filter(Boolean).join(" ");
  return h(
    "li",
    {class: "gb-member", dataset: {me: member.is_me ? "true" : "false", paid: member.paid ? "true" : "false"}},
    h("span", {class: classes, text: member.initial, "aria-hidden": "true"}),
    h("span", {class: "gb-name", text: member.is_me ? t("shop.group_buy.me") : member.name}),
  );
}

function openSeat(kind) {
  return h(
    "li",
    {class: "gb-member", dataset: {seat: kind}},
    h("span", {class: `gb-avatar ${kind}`, text: kind === "virtual" ? "模" : "?", "aria-hidden": "true"}),
    h("span", {class: "gb-name", text: t(`shop.group_buy.seat.${kind}`)}),
  );
}

function participate(path) {
  const slot = byId("gb-form-slot");
  const form = byId("gb-address-form").content.firstElementChild.cloneNode(true);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[data-confirm]");
    button.disabled = true;
    const address = Object.fromEntries(new FormData(form).entries());
    try {
      const result = await api("POST", path, {address});
      // The same payment start as checkout: the provider's page, then the order.
      const orderPath = `/orders/${encodeURIComponent(result.order_public_id)}`;
      const payment = await api("POST", `${orderPath}/pay`, {});
      const payUrl = payment.client_parameters && payment.client_parameters.pay_url;
      window.location.assign(payUrl || `/shop${orderPath}`);
    } catch (error) {
      button.disabled = false;
      report(error);
    }
  });
  slot.replaceChildren(form);
  form.querySelector("input").focus();
}

function renderGroup(group) {
  const section = byId("gb-group");
  section.hidden = false;
  section.dataset.group = group.public_id;
  section.dataset.status = group.status;
  byId("gb-status").textContent = t(`shop.group_buy.status.${group.status}`);
  const clock = byId("gb-countdown");
  if (group.status === "open" && group.expires_at) countdown(clock, group.expires_at);
  else clock.textContent = "";
  byId("gb-seats").textContent =
    group.status === "open"
      ? t("shop.group_buy.seats_left", {count: group.seats_left, size: group.size})
      : t("shop.group_buy.size", {size: group.size});
  const seats = group.members.map(avatar);
  for (let index = 0; index < group.virtual_seats; index += 1) seats.push(openSeat("virtual"));
  if (group.status === "open") {
    for (let index = 0; index < group.seats_left; index += 1) seats.push(openSeat("empty"));
  }
  byId("gb-members").replaceChildren(...seats);
  const virtualNote = byId("gb-group-virtual");
  virtualNote.hidden = !group.virtual_completion;
  virtualNote.textContent = group.virtual_seats
    ? t("shop.group_buy.virtual_filled", {count: group.virtual_seats})
    : t("shop.group_buy.virtual_notice");
  const share = byId("gb-share");
  share.hidden = !(group.is_mine && group.status === "open");
  byId("gb-share-link").value = new URL(group.share_path, window.location.origin).toString();
  const pay = byId("gb-pay");
  pay.hidden = !group.my_order_public_id;
  if (group.my_order_public_id) pay.href = `/shop/orders/${group.my_order_public_id}`;
  const join = byId("gb-join");
  join.hidden = group.is_mine || group.status !== "open" || group.seats_left === 0;
  join.onclick = () => {
    join.hidden = true;
    participate(`${base}/groups/${encodeURIComponent(group.public_id)}/join`);
  };
}

function renderDeal() {
  byId("gb-image").replaceChildren(image(deal.image, deal.product_name));
  byId("gb-title").textContent = deal.title;
  byId("gb-price").textContent = t("shop.group_buy.price", {price: money(deal.group_price)});
  byId("gb-sale-price").textContent = money(deal.sale_price);
  byId("gb-leader-price").textContent = deal.leader_price
    ? t("shop.group_buy.leader_price", {price: money(deal.leader_price)})
    : "";
  const rules = [
    t("shop.group_buy.rule_size", {size: deal.group_size}),
    t("shop.group_buy.rule_hours", {hours: Math.round((deal.time_limit_minutes / 60) * 10) / 10}),
  ];
  if (deal.new_customers_only) rules.push(t("shop.group_buy.rule_new"));
  byId("gb-rules").textContent = rules.join(" · ");
  byId("gb-virtual").hidden = !deal.virtual_completion;
  const open = byId("gb-open");
  open.hidden = deal.phase !== "live" || deal.stock_left <= 0;
  open.onclick = () => {
    open.hidden = true;
    participate(`${base}/${encodeURIComponent(deal.public_id)}/groups`);
  };
  const others = deal.open_groups.filter((group) => group.public_id !== params.group);
  byId("gb-open-title").hidden = others.length === 0;
  byId("gb-open-groups").replaceChildren(
    ...others.map((group) =>
      h(
        "li",
        {class: "gb-open-group", dataset: {group: group.public_id}},
        h("span", {text: t("shop.group_buy.open_group", {leader: group.members[0] ? group.members[0].name : "", count: group.seats_left})}),
        h("a", {
          class: "button small",
          href: group.share_path,
          text: t(group.is_mine ? "shop.group_buy.view_mine" : "shop.group_buy.go_join"),
        }),
      ),
    ),
  );
  done(byId("gb-deal"));
}

async function load() {
  if (!requireSession()) return;
  try {
    deal = await api("GET", `${base}/${encodeURIComponent(params.deal)}`);
    renderDeal();
    if (params.group) renderGroup(await api("GET", `${base}/groups/${encodeURIComponent(params.group)}`));
  } catch (error) {
    if (error && error.status === 404 && params.group) {
      byId("gb-group").hidden = false;
      byId("gb-status").textContent = errorText(error);
      return;
    }
    report(error);
  }
}

byId("gb-copy").addEventListener("click", async () => {
  const input = byId("gb-share-link");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (error) {
    document.execCommand("copy");
  }
  byId("gb-copy").textContent = t("shop.group_buy.copied");
});

load();
