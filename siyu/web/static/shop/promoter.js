// The promoter centre: apply (with an inviter's code), then my code and share link,
// balances, earnings, withdrawals and team; withdraw what is settled.
import {api, byId, flash, formatTime, h, money, params, report, requireSession, t} from "./core.js";
import {captureRef} from "./referral_ref.js";

document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/promoter.css"}));

let minimum = 100;

function yuanToFen(text) {
  const match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text || "");
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
}

function row(...children) {
  return h("li", {class: "promoter-row"}, ...children);
}

function showApply(centre) {
  byId("promoter-apply").hidden = !centre.programme_live;
  byId("promoter-closed").hidden = centre.programme_live;
  if (params.invite) byId("invite-code").value = params.invite;
}

function showState(promoter) {
  const state = byId("promoter-state");
  state.hidden = false;
  state.dataset.status = promoter.status;
  state.textContent = t(`shop.referral.status.${promoter.status}`);
}

function showCentre(centre) {
  const promoter = centre.promoter;
  byId("promoter-centre").hidden = false;
  if (centre.share) {
    byId("promoter-code").textContent = centre.share.code;
    byId("promoter-link").value = new URL(centre.share.share_url, window.location.origin).href;
  } else {
    byId("promoter-share").hidden = true;
  }
  for (const key of ["frozen", "withdrawable", "withdrawing", "withdrawn"]) {
    byId("promoter-centre").querySelector(`[data-balance="${key}"]`).textContent = money(promoter[`${key}_amount`]);
  }
  byId("promoter-orders").textContent = t("shop.referral.orders", {count: centre.orders});
  byId("withdraw-minimum").textContent = t("shop.referral.minimum", {amount: money(minimum)});
  const team = byId("promoter-team");
  team.replaceChildren(
    ...centre.team.map((member) =>
      row(h("span", {text: member.display_name || member.code}), h("span", {class: "muted", text: formatTime(member.joined_at)})),
    ),
  );
  byId("team-empty").hidden = centre.team.length > 0;
  byId("team-invite").textContent =
    promoter.depth === 1 && centre.share
      ? t("shop.referral.invite_link", {link: new URL(`/shop/promoter?invite=${centre.share.code}`, window.location.origin).href})
      : t("shop.referral.no_invite");
}

async function loadLists() {
  const [earnings, withdrawals] = await Promise.all([
    api("GET", "/campaigns/referral/commissions"),
    api("GET", "/campaigns/referral/withdrawals"),
  ]);
  byId("promoter-commissions").replaceChildren(
    ...earnings.items.map((item) =>
      row(
        h("span", {text: `${t(`shop.referral.level${item.level}`)} · ${item.order_public_id}`}),
        h("strong", {text: money(item.amount - item.reversed_amount)}),
        h("span", {class: "muted", dataset: {status: item.status}, text: t(`shop.referral.commission.${item.status}`)}),
      ),
    ),
  );
  byId("commissions-empty").hidden = earnings.items.length > 0;
  byId("promoter-withdrawals").replaceChildren(
    ...withdrawals.items.map((item) =>
      row(
        h("strong", {text: money(item.amount)}),
        h("span", {dataset: {status: item.status}, text: t(`shop.referral.withdrawal.${item.status}`)}),
        h("span", {class: "muted", text: formatTime(item.requested_at)}),
      ),
    ),
  );
  byId("withdrawals-empty").hidden = withdrawals.items.length > 0;
}

async function load() {
  const centre = await api("GET", "/campaigns/referral/centre");
  minimum = centre.min_withdrawal_amount;
  if (!centre.promoter) {
    showApply(centre);
    return;
  }
  byId("promoter-apply").hidden = true;
  showState(centre.promoter);
  if (["active", "suspended"].includes(centre.promoter.status)) {
    showCentre(centre);
    await loadLists();
  }
}

byId("apply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target).entries());
  const body = {display_name: data.display_name || "", note: data.note || ""};
  if (data.invite_code) body.invite_code = data.invite_code.trim();
  try {
    await api("POST", "/campaigns/referral/apply", body);
    flash(t("shop.referral.applied"));
    await load();
  } catch (error) {
    report(error);
  }
});

byId("withdraw-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const amount = yuanToFen(byId("withdraw-amount").value);
  if (!amount) {
    flash(t("shop.referral.amount_invalid"), "error");
    return;
  }
  try {
    await api("POST", "/campaigns/referral/withdrawals", {amount});
    byId("withdraw-amount").value = "";
    flash(t("shop.referral.withdraw_requested"));
    await load();
  } catch (error) {
    report(error);
  }
});

byId("copy-link").addEventListener("click", async () => {
  const link = byId("promoter-link");
  link.select();
  try {
    await navigator.clipboard.writeText(link.value);
    flash(t("shop.referral.copied"));
  } catch (error) {
    flash(t("shop.referral.copy_manually"));
  }
});

if (requireSession()) {
  captureRef()
    .then(load)
    .catch(report);
}
