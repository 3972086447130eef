// The coupon centre: templates I can claim, with my state for each (claimed, limit
// reached, sold out …). Reading works signed out; claiming asks to sign in.
import {ApiError, api, byId, done, goToLogin, h, report, sessionToken, t} from "./core.js";
import {couponCard} from "./coupon_card.js";

const CLAIMABLE = new Set(["claimable", "claimed"]);

export function claimError(error) {
  if (error instanceof ApiError && error.status === 401) {
    goToLogin();
    return null;
  }
  const key = error instanceof ApiError ? `shop.error.${error.code}` : "";
  return key && t(key) !== key ? t(key) : null;
}

export function templateCard(template, claimPath, afterClaim) {
  const state = {key: template.state, text: t(`shop.coupons.state.${template.state}`)};
  const button = CLAIMABLE.has(template.state)
    ? h("button", {
        type: "button",
        class: "button primary small",
        dataset: {claim: template.public_id},
        text: t("shop.coupons.claim"),
        onclick: async (event) => {
          if (!sessionToken()) {
            goToLogin();
            return;
          }
          const target = event.currentTarget;
          target.disabled = true;
          try {
            await api("POST", claimPath, claimPath.startsWith("/coupons/claim") ? {template_id: template.public_id} : undefined);
            await afterClaim(template);
          } catch (error) {
            const message = claimError(error);
            if (message) target.closest(".coupon-card").querySelector(".coupon-state").textContent = message;
            else report(error);
            target.disabled = false;
          }
        },
      })
    : null;
  return couponCard(template, {action: button, state: template.state === "claimable" ? null : state, extra: []});
}

async function load() {
  const list = byId("coupon-centre");
  list.setAttribute("aria-busy", "true");
  const answer = await api("GET", "/coupons/centre");
  list.replaceChildren(
    ...answer.items.map((template) =>
      templateCard(template, "/coupons/claim", async (claimed) => {
        await load();
        const card = byId("coupon-centre").querySelector(`[data-template="${claimed.public_id}"]`);
        if (card) card.dataset.justClaimed = "true";
      }),
    ),
  );
  byId("coupon-centre-empty").hidden = answer.items.length > 0;
  done(list);
}

if (byId("coupon-centre")) load().catch(report);
