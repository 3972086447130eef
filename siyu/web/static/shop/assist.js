// Assist (助力) / 0-yuan claim: the reward and N; with ?assist= (the share link) one
// assist: progress, countdown and helpers. The initiator shares the link; once
// unlocked a coupon reward shows its code and a gift is claimed as a 0-yuan order
// (an address, no payment). A friend assists once and receives a coupon.
import {api, byId, done, errorText, h, image, params, report, requireSession, t} from "./core.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/bargain.css"}));

const base = "/campaigns/assist";
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
      element.textContent = t("shop.assist.time_up");
      clearInterval(timer);
      return;
    }
    const hours = Math.floor(left / 3600);
    const time = `${pad(hours)}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
    element.textContent = t("shop.assist.left", {time});
  };
  tick();
  timer = setInterval(tick, 1000);
}

function claimForm(assist) {
  const slot = byId("as-form-slot");
  const form = byId("as-address-form").content.firstElementChild.cloneNode(true);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[data-confirm]");
    button.disabled = true;
    const address = Object.fromEntries(new FormData(form).entries());
    try {
      const result = await api("POST", `${base}/assists/${encodeURIComponent(assist.public_id)}/claim`, {address});
      window.location.assign(`/shop/orders/${encodeURIComponent(result.order_public_id)}`);
    } catch (error) {
      button.disabled = false;
      report(error);
    }
  });
  slot.replaceChildren(form);
  form.querySelector("input").focus();
}

function renderAssist(assist) {
  const section = byId("as-assist");
  section.hidden = false;
  section.dataset.assist = assist.public_id;
  section.dataset.status = assist.status;
  byId("as-status").textContent = t(`shop.assist.status.${assist.status}`);
  const clock = byId("as-countdown");
  if (assist.status === "active") countdown(clock, assist.expires_at);
  else {
    if (timer) clearInterval(timer);
    clock.textContent = "";
  }
  const percent = Math.round((100 * assist.assist_count) / assist.required_assists);
  byId("as-bar-fill").style.width = `${percent}%`;
  byId("as-bar").setAttribute("aria-valuenow", String(percent));
  byId("as-progress").textContent = t("shop.assist.progress", {
    count: assist.assist_count,
    required: assist.required_assists,
  });
  byId("as-helpers").replaceChildren(
    ...assist.helpers.map((helper) =>
      h("li", {class: "bg-helper", dataset: {sequence: String(helper.sequence)}}, h("span", {text: helper.name})),
    ),
  );
  byId("as-share").hidden = !(assist.is_mine && assist.status === "active");
  byId("as-share-link").value = new URL(assist.share_path, window.location.origin).toString();
  const note = byId("as-result");
  if (assist.is_mine && assist.reward_coupon_code) {
    note.hidden = false;
    note.textContent = t("shop.assist.coupon_code", {code: assist.reward_coupon_code});
  }
  const help = byId("as-help");
  help.hidden = assist.is_mine || assist.status !== "active" || assist.helped;
  help.onclick = async () => {
    help.disabled = true;
    try {
      const result = await api("POST", `${base}/assists/${encodeURIComponent(assist.public_id)}/helps`);
      note.hidden = false;
      note.textContent = t("shop.assist.helped");
      renderAssist(result.assist);
    } catch (error) {
      report(error);
    } finally {
      help.disabled = false;
    }
  };
  const claim = byId("as-claim");
  claim.hidden = !(assist.is_mine && assist.status === "unlocked" && assist.reward_kind === "gift");
  claim.onclick = () => {
    claim.hidden = true;
    claimForm(assist);
  };
  const order = byId("as-order");
  order.hidden = !assist.order_public_id;
  if (assist.order_public_id) order.href = `/shop/orders/${assist.order_public_id}`;
}

function renderDeal(deal) {
  byId("as-image").replaceChildren(image(deal.image, deal.reward_name));
  byId("as-reward").textContent = deal.reward_name;
  byId("as-rules").textContent = t(`shop.assist.rules.${deal.reward_kind}`, {
    required: deal.required_assists,
    left: deal.rewards_left,
  });
  const viewing = Boolean(params.assist);
  const start = byId("as-start");
  start.hidden = viewing || Boolean(deal.my_assist) || deal.phase !== "live" || deal.rewards_left <= 0;
  start.onclick = async () => {
    start.disabled = true;
    try {
      const assist = await api("POST", `${base}/${encodeURIComponent(deal.campaign_id)}/assists`);
      window.location.assign(assist.share_path);
    } catch (error) {
      start.disabled = false;
      report(error);
    }
  };
  const mine = byId("as-mine");
  mine.hidden = !deal.my_assist || params.assist === deal.my_assist;
  if (deal.my_assist) {
    mine.href = `/shop/campaigns/assist/${deal.campaign_id}?assist=${encodeURIComponent(deal.my_assist)}`;
  }
  done(byId("as-deal"));
}

async function load() {
  if (!requireSession()) return;
  try {
    renderDeal(await api("GET", `${base}/${encodeURIComponent(params.campaign)}`));
    if (params.assist) renderAssist(await api("GET", `${base}/assists/${encodeURIComponent(params.assist)}`));
  } catch (error) {
    if (error && error.status === 404 && params.assist) {
      byId("as-assist").hidden = false;
      byId("as-status").textContent = errorText(error);
      return;
    }
    report(error);
  }
}

byId("as-copy").addEventListener("click", async () => {
  const input = byId("as-share-link");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (error) {
    document.execCommand("copy");
  }
  byId("as-copy").textContent = t("shop.assist.copied");
});

load();
