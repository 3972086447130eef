// The member centre: my tier and how far the next one is, my points (available,
// frozen until orders are final, expiring soon) and their history, and the ladder
// of tiers with what each gives.
import {api, byId, done, formatTime, h, report, requireSession, t} from "./core.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/member.css"}));

let cursor = null;

function tierName(tier) {
  if (!tier) return "—";
  return document.documentElement.lang === "en" && tier.name_en ? tier.name_en : tier.name;
}

function benefits(tier) {
  const parts = [];
  if (tier.discount_rate < 10000) parts.push(t("shop.member.discount", {rate: tier.discount_rate / 1000}));
  if (tier.points_multiplier !== 100) parts.push(t("shop.member.multiplier", {times: tier.points_multiplier / 100}));
  if (tier.free_shipping_threshold !== null) parts.push(t("shop.member.free_shipping", {amount: tier.free_shipping_threshold / 100}));
  if (tier.birthday_points) parts.push(t("shop.member.birthday", {points: tier.birthday_points}));
  if (tier.description) parts.push(tier.description);
  return parts.join(" · ") || t("shop.member.basic");
}

function showMember(me) {
  byId("member-tier").textContent = tierName(me.tier);
  byId("member-benefits").textContent = me.tier ? benefits(me.tier) : "";
  if (me.next_tier) {
    const start = me.tier ? me.tier.growth_threshold : 0;
    const span = Math.max(me.next_tier.growth_threshold - start, 1);
    const reached = Math.min(Math.max(me.next_tier.growth_threshold - me.growth_to_next - start, 0), span);
    const percent = Math.round((reached / span) * 100);
    const bar = byId("member-progress-bar");
    bar.setAttribute("aria-valuenow", String(percent));
    bar.firstElementChild.style.width = `${percent}%`;
    byId("member-progress-text").textContent = t("shop.member.to_next", {
      growth: me.growth_to_next,
      name: tierName(me.next_tier),
    });
    byId("member-progress").hidden = false;
  } else {
    byId("member-top").hidden = false;
  }
  done(byId("member-card"));
  byId("points-available").textContent = String(me.points_available);
  byId("points-frozen").textContent = String(me.points_frozen);
  if (me.expiring) {
    const expiring = byId("points-expiring");
    expiring.textContent = t("shop.member.expiring", {
      points: me.expiring.points,
      date: formatTime(me.expiring.expires_at),
    });
    expiring.hidden = false;
  }
}

function showLadder(ladder) {
  byId("member-ladder").replaceChildren(
    ...ladder.items.map((tier) =>
      h(
        "li",
        {class: tier.is_current ? "current" : "", dataset: {tier: tier.code}},
        h("strong", {text: tierName(tier)}),
        h("span", {class: "muted small", text: t("shop.member.threshold", {growth: tier.growth_threshold})}),
        h("span", {class: "small", text: benefits(tier)}),
      ),
    ),
  );
}

function historyRow(entry) {
  const reasonKey = `shop.member.kind.${entry.kind}`;
  return h(
    "li",
    {dataset: {kind: entry.kind, status: entry.status}},
    h("span", {text: t(reasonKey) + (entry.status === "frozen" ? ` · ${t("shop.member.frozen_badge")}` : "")}),
    h("span", {class: "muted small", text: formatTime(entry.created_at)}),
    h("strong", {class: entry.amount > 0 ? "plus" : "minus", text: (entry.amount > 0 ? "+" : "") + entry.amount}),
  );
}

async function loadHistory() {
  const query = cursor ? `?limit=20&cursor=${encodeURIComponent(cursor)}` : "?limit=20";
  const page = await api("GET", `/member/points${query}`);
  const list = byId("points-history");
  list.append(...page.items.map(historyRow));
  cursor = page.next_cursor;
  byId("points-more").hidden = !cursor;
  byId("points-history-empty").hidden = list.children.length > 0;
  done(list);
}

async function load() {
  const [me, ladder] = await Promise.all([api("GET", "/member"), api("GET", "/member/tiers")]);
  showMember(me);
  showLadder(ladder);
  await loadHistory();
}

if (requireSession()) {
  byId("points-more").addEventListener("click", () => loadHistory().catch(report));
  load().catch(report);
}
