// What is on now: every campaign in warm-up, live or closing, with a countdown to its
// next moment (start for warm-up, end for live). Cards open the mechanic's own page.
import {api, byId, done, h, report, t} from "./core.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/campaigns.css"}));

export function countdown(untilIso, now = Date.now()) {
  const seconds = Math.max(0, Math.floor((Date.parse(untilIso) - now) / 1000));
  const days = Math.floor(seconds / 86400);
  const clock = [Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60]
    .map((part) => String(part).padStart(2, "0"))
    .join(":");
  return days > 0 ? t("shop.campaigns.days", {days, clock}) : clock;
}

function phaseLine(campaign) {
  if (campaign.phase === "warm_up") return t("shop.campaigns.starts_in", {time: countdown(campaign.starts_at)});
  if (campaign.phase === "live") return t("shop.campaigns.ends_in", {time: countdown(campaign.ends_at)});
  return t("shop.campaigns.closing");
}

function card(campaign) {
  const line = h("span", {class: "campaign-countdown", text: phaseLine(campaign)});
  const item = h(
    "li",
    {class: `campaign-card phase-${campaign.phase}`, dataset: {campaign: campaign.public_id, kind: campaign.kind}},
    h(
      "a",
      {href: campaign.url},
      h("span", {class: "badge", text: t(`shop.campaigns.kind.${campaign.kind}`)}),
      h("strong", {text: campaign.name}),
      campaign.description ? h("p", {text: campaign.description}) : null,
      line,
    ),
  );
  item.refresh = () => {
    line.textContent = phaseLine(campaign);
  };
  return item;
}

async function load() {
  const list = byId("campaign-list");
  const answer = await api("GET", "/campaigns");
  const cards = answer.items.map(card);
  list.replaceChildren(...cards);
  byId("campaign-list-empty").hidden = cards.length > 0;
  done(list);
  window.setInterval(() => cards.forEach((item) => item.refresh()), 1000);
}

if (byId("campaign-list")) load().catch(report);
