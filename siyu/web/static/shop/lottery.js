// The lottery wheel: the slots and my chances come from the API; pressing the button
// asks the server to draw, and the wheel then spins to the slot the server chose (the
// browser never decides a result). My prizes below: goods are claimed with an address
// (a 0-yuan order), coupons show their code. The share poster carries my share code.
import {
  api,
  byId,
  done,
  errorText,
  formatTime,
  h,
  params,
  report,
  requireSession,
  t,
} from "./core.js";
import {showPoster} from "./poster.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/lottery.css"}));

const SVG = "http://www.w3.org/2000/svg";
const RADIUS = 100;
const COLOURS = ["#fde2e4", "#fff1d6", "#e2f0ea", "#e3e8fa", "#f6e1f0", "#e9f4d9"];
const campaign = params.campaign;
let slots = [];
let rotation = 0;
let spinning = false;

function svg(tag, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

function point(angle, radius) {
  // Angles in degrees, clockwise from the top (where the pointer is).
  const radians = ((angle - 90) * Math.PI) / 180;
  return [radius * Math.cos(radians), radius * Math.sin(radians)];
}

function drawWheel() {
  const group = byId("lottery-slots");
  const width = 360 / slots.length;
  const children = [];
  slots.forEach((slot, index) => {
    const [x1, y1] = point(index * width, RADIUS);
    const [x2, y2] = point((index + 1) * width, RADIUS);
    const large = width > 180 ? 1 : 0;
    children.push(
      svg("path", {
        d: `M0 0 L${x1} ${y1} A${RADIUS} ${RADIUS} 0 ${large} 1 ${x2} ${y2} Z`,
        fill: COLOURS[index % COLOURS.length],
        stroke: "#fff",
        "stroke-width": 1.5,
        "data-slot": index,
        "data-kind": slot.kind,
      }),
    );
    const middle = (index + 0.5) * width;
    const [tx, ty] = point(middle, RADIUS * 0.66);
    const label = slot.name.length > 7 ? `${slot.name.slice(0, 6)}…` : slot.name;
    children.push(
      svg(
        "text",
        {x: tx, y: ty, "text-anchor": "middle", "dominant-baseline": "middle", transform: `rotate(${middle} ${tx} ${ty})`},
        label,
      ),
    );
  });
  group.replaceChildren(...children);
}

function showChances(view) {
  const parts = [t("shop.lottery.chances", {left: view.chances_left, total: view.chances_today})];
  if (view.points_cost) parts.push(t("shop.lottery.cost", {points: view.points_cost, balance: view.points_balance}));
  byId("lottery-chances").textContent = parts.join(" · ");
  const go = byId("lottery-go");
  go.disabled = spinning || view.phase !== "live" || view.chances_left <= 0;
  go.dataset.left = String(view.chances_left);
}

function resultText(draw) {
  if (draw.outcome === "won") {
    if (draw.kind === "coupon") return t("shop.lottery.won_coupon", {name: draw.prize_name});
    if (draw.kind === "points") return t("shop.lottery.won_points", {points: draw.points});
    return t("shop.lottery.won_goods", {name: draw.prize_name});
  }
  if (draw.outcome === "fell_back") return t("shop.lottery.fell_back");
  return t("shop.lottery.thanks");
}

function spinTo(slot) {
  // Bring the slot's middle under the pointer, after a few full turns.
  const width = 360 / slots.length;
  const target = 360 - (slot + 0.5) * width;
  const current = ((rotation % 360) + 360) % 360;
  rotation += 5 * 360 + ((target - current + 360) % 360);
  const wheel = byId("lottery-wheel");
  wheel.style.transform = `rotate(${rotation}deg)`;
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      wheel.dataset.slot = String(slot);
      resolve();
    };
    wheel.addEventListener("transitionend", finish, {once: true});
    // Reduced motion or a hidden tab: never wait forever.
    setTimeout(finish, 2700);
  });
}

async function drawOnce() {
  if (spinning) return;
  spinning = true;
  const go = byId("lottery-go");
  go.disabled = true;
  const result = byId("lottery-result");
  result.hidden = true;
  try {
    const draw = await api("POST", `/campaigns/lottery/${campaign}/draws`);
    await spinTo(draw.slot);
    result.textContent = resultText(draw);
    result.dataset.outcome = draw.outcome;
    result.hidden = false;
  } catch (error) {
    result.textContent = errorText(error);
    result.dataset.outcome = "error";
    result.hidden = false;
  } finally {
    spinning = false;
  }
  await load().catch(report);
}

function claimForm(row, item) {
  const form = byId("claim-form").content.firstElementChild.cloneNode(true);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const address = Object.fromEntries(new FormData(form).entries());
    try {
      await api("POST", `/campaigns/lottery/prizes/${row.public_id}/claim`, {address});
      await load();
    } catch (error) {
      item.querySelector("[data-state]").textContent = errorText(error);
    }
  });
  return form;
}

function prizeRow(row) {
  const item = h(
    "li",
    {class: "lottery-prize", dataset: {draw: row.public_id, kind: row.kind, claim: row.claim_status || ""}},
    h("span", {class: "line-name", text: row.prize_name}),
    h("span", {class: "muted small", text: formatTime(row.created_at)}),
    row.coupon_code ? h("code", {text: row.coupon_code}) : null,
    row.points ? h("span", {class: "small", text: t("shop.lottery.points", {points: row.points})}) : null,
    row.order_public_id
      ? h("a", {href: `/shop/orders/${row.order_public_id}`, text: t("shop.lottery.view_order")})
      : null,
    h("span", {class: "small", "data-state": true}),
  );
  if (row.kind === "goods" && row.claim_status === "pending") {
    const button = h("button", {type: "button", class: "button primary small", text: t("shop.lottery.claim")});
    button.addEventListener("click", () => {
      button.hidden = true;
      item.append(claimForm(row, item));
    });
    item.append(h("span", {class: "muted small", text: t("shop.lottery.claim_by", {time: formatTime(row.claim_deadline)})}), button);
  }
  return item;
}

async function showLotteryPoster() {
  await showPoster(`campaign/${campaign}.png`, byId("lottery-poster")).catch(report);
}

async function load() {
  const [view, prizes] = await Promise.all([
    api("GET", `/campaigns/lottery/${campaign}`),
    api("GET", "/campaigns/lottery/prizes"),
  ]);
  byId("lottery-name").textContent = view.name;
  byId("lottery-when").textContent = t("shop.lottery.when", {starts: formatTime(view.starts_at), ends: formatTime(view.ends_at)});
  byId("lottery-member-day").hidden = !view.member_day;
  done(byId("lottery-head"));
  if (slots.length !== view.slots.length) {
    slots = view.slots;
    drawWheel();
  }
  showChances(view);
  if (view.phase !== "live") byId("lottery-chances").textContent = t(`shop.lottery.phase.${view.phase}`);
  const list = byId("lottery-prizes");
  list.replaceChildren(...prizes.items.map(prizeRow));
  byId("lottery-prizes-empty").hidden = prizes.items.length > 0;
}

if (requireSession()) {
  byId("lottery-go").addEventListener("click", drawOnce);
  byId("lottery-poster-button").addEventListener("click", showLotteryPoster);
  load().catch((error) => {
    byId("lottery-chances").textContent = errorText(error);
    report(error);
  });
}
