// The coupon choice at checkout. The preview lists my coupons for this cart (best
// first) and suggests one; the buyer keeps the suggestion, picks another, or none.
// The chosen code goes with the preview and the order, so the order costs exactly
// what the preview showed.
import {ApiError, byId, h, money, t} from "./core.js";

// This module's own styles; shop.css stays the shell's.
if (!document.querySelector('link[href="/static/shop/coupon.css"]')) {
  document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/coupon.css"}));
}

const AUTO = "";
const NONE = "none";
let choice = AUTO; // AUTO: follow the suggestion; NONE: no coupon; else a code
let suggested = null;

export function couponCode() {
  if (choice === NONE) return null;
  if (choice === AUTO) return suggested;
  return choice;
}

const refused = new Set();

export function resetCoupon() {
  choice = AUTO;
  suggested = null;
}

// A coupon error for the code we sent: remember the code (never suggested again) so
// the caller can fall back and re-price without it.
export function couponRefused(error) {
  const code = couponCode();
  if (!code || !(error instanceof ApiError) || !String(error.code).startsWith("coupon.")) return false;
  refused.add(code);
  return true;
}

function option(value, text, {selected = false, disabled = false} = {}) {
  return h("option", {value, text, selected, disabled});
}

function render(details) {
  const select = byId("coupon-choice");
  const current = couponCode();
  const applicable = details.applicable || [];
  const unavailable = details.unavailable || [];
  select.replaceChildren(
    ...applicable.map((coupon) =>
      option(coupon.code, t("shop.checkout.coupon_option", {name: coupon.name, amount: money(coupon.discount)}), {selected: coupon.code === current}),
    ),
    option(NONE, t("shop.checkout.coupon_none"), {selected: !current}),
    ...unavailable.map((coupon) =>
      option(`x-${coupon.code}`, t("shop.checkout.coupon_unavailable", {name: coupon.name, reason: t(`shop.coupons.reason.${coupon.reason}`)}), {disabled: true}),
    ),
  );
  const applied = details.applied;
  byId("coupon-saving").textContent = applied ? t("shop.checkout.coupon_saving", {amount: money(applied.discount)}) : (applicable.length ? t("shop.checkout.coupon_available", {count: applicable.length}) : "");
  byId("coupon-section").hidden = applicable.length + unavailable.length === 0;
}

let wired = false;

// Returns true when the preview must run again (the suggestion is now applied).
export function couponChoice(quote, rerun) {
  const details = (quote.details && quote.details.coupon) || {applicable: [], unavailable: []};
  if (!wired) {
    wired = true;
    byId("coupon-choice").addEventListener("change", (event) => {
      choice = event.target.value;
      rerun();
    });
  }
  if (choice === AUTO) {
    const best = details.suggested && !refused.has(details.suggested.code) ? details.suggested.code : null;
    if (best !== suggested) {
      suggested = best;
      rerun();
      return true;
    }
  }
  render(details);
  return false;
}
