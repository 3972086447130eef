// Points at checkout. The preview says how many points this order may use (the
// balance and the spend cap: details.points.max_points); ticking the box uses them
// all, and the order is placed with exactly the points the preview priced.
import {byId, money, t} from "./core.js";

let use = false;
let usable = 0;
let wired = false;

export function pointsToSpend() {
  return use ? usable : 0;
}

// Returns true when the preview must run again (the usable points changed while the
// box is ticked, e.g. after another coupon was chosen).
export function pointsChoice(quote, rerun) {
  const details = quote.details && quote.details.points;
  const box = byId("points-use");
  if (!wired) {
    wired = true;
    box.addEventListener("change", () => {
      use = box.checked;
      rerun();
    });
  }
  const most = details ? details.max_points : 0;
  if (use && most !== usable) {
    usable = most;
    rerun();
    return true;
  }
  usable = most;
  byId("points-section").hidden = !details;
  box.disabled = most === 0;
  box.checked = use && most > 0;
  const label = byId("points-label");
  if (!details) return false;
  label.textContent = most
    ? t("shop.checkout.points_use", {points: most, amount: money(Math.floor((most * 100) / details.points_value))})
    : t("shop.checkout.points_none", {balance: details.balance});
  return false;
}
